//! Who may act in the management UI: the holder of the token.
//!
//! - The token is compared in constant time (`subtle`), on SHA-256 digests so that even its
//!   length does not leak.
//! - A browser logs in once (a form posting the token) and gets a session cookie
//!   (`HttpOnly; SameSite=Strict; Path=/manage`), and a CSRF token bound to that session that
//!   the page sends back in the `X-CSRF-Token` header of every action. An action needs both,
//!   and an `Origin` naming this very host: a page of another site can neither read the CSRF
//!   token nor make the browser attach the cookie (SameSite=Strict), and is caught by the
//!   Origin check besides.
//! - Scripts may send `Authorization: Bearer <token>` instead; a bearer header is never
//!   attached by a browser on its own, so it needs no CSRF token.
//! - Without either, the page and its state are read-only.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "lab_manage_session";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a browser session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most; the oldest go first (a flood of logins cannot grow memory).
const MAX_SESSIONS: usize = 64;

/// The token and the browser sessions opened with it.
pub struct Auth {
    token_digest: [u8; 32],
    sessions: Mutex<HashMap<String, Session>>,
    next_seq: std::sync::atomic::AtomicU64,
}

struct Session {
    csrf: String,
    expires: Instant,
    /// Order of creation, to evict the oldest.
    seq: u64,
}

/// Who performs an action, for the log: never the token or the session id itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// A browser session, by a short digest of its id.
    Session(String),
    /// A script with the bearer token.
    Bearer,
}

impl std::fmt::Display for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Who::Session(tag) => write!(f, "session:{tag}"),
            Who::Bearer => f.write_str("bearer-token"),
        }
    }
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// No valid session or token: log in first.
    #[error("log in with the management token first")]
    NoCredentials,
    /// A wrong bearer token.
    #[error("wrong token")]
    WrongToken,
    /// Missing or foreign `Origin`.
    #[error("cross-origin request refused (the Origin header must name this host)")]
    Origin,
    /// Missing or wrong CSRF token.
    #[error("missing or wrong CSRF token: reload the page")]
    Csrf,
}

impl Denied {
    pub fn status(&self) -> StatusCode {
        match self {
            Denied::NoCredentials | Denied::WrongToken => StatusCode::UNAUTHORIZED,
            Denied::Origin | Denied::Csrf => StatusCode::FORBIDDEN,
        }
    }
}

fn digest(s: &[u8]) -> [u8; 32] {
    Sha256::digest(s).into()
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

impl Auth {
    pub fn new(token: &str) -> Self {
        Self {
            token_digest: digest(token.as_bytes()),
            sessions: Mutex::new(HashMap::new()),
            next_seq: Default::default(),
        }
    }

    /// Constant-time comparison with the configured token.
    pub fn token_matches(&self, presented: &str) -> bool {
        bool::from(digest(presented.as_bytes()).ct_eq(&self.token_digest))
    }

    /// Opens a session when `presented` is the token: `(session id, CSRF token)`.
    pub fn login(&self, presented: &str) -> Option<(String, String)> {
        if !self.token_matches(presented) {
            return None;
        }
        let (sid, csrf) = (random_token(), random_token());
        let now = Instant::now();
        let mut sessions = self.sessions.lock().expect("sessions poisoned");
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.seq)
                .map(|(k, _)| k.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(
            sid.clone(),
            Session {
                csrf: csrf.clone(),
                expires: now + SESSION_TTL,
                seq: self
                    .next_seq
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            },
        );
        Some((sid, csrf))
    }

    /// The CSRF token of a live session.
    pub fn session_csrf(&self, sid: &str) -> Option<String> {
        let sessions = self.sessions.lock().expect("sessions poisoned");
        sessions
            .get(sid)
            .filter(|s| s.expires > Instant::now())
            .map(|s| s.csrf.clone())
    }

    pub fn logout(&self, sid: &str) {
        self.sessions.lock().expect("sessions poisoned").remove(sid);
    }

    /// The session a request carries (its id and CSRF token), if it is live.
    pub fn session_of(&self, headers: &HeaderMap) -> Option<(String, String)> {
        let sid = session_cookie(headers)?;
        let csrf = self.session_csrf(&sid)?;
        Some((sid, csrf))
    }

    /// Whether a request may perform an action, and who it is.
    pub fn authorize(&self, headers: &HeaderMap) -> Result<Who, Denied> {
        if let Some(v) = headers.get(header::AUTHORIZATION) {
            let presented = v
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            return if self.token_matches(presented.trim()) {
                Ok(Who::Bearer)
            } else {
                Err(Denied::WrongToken)
            };
        }
        let (sid, csrf) = self.session_of(headers).ok_or(Denied::NoCredentials)?;
        if !same_origin(headers) {
            return Err(Denied::Origin);
        }
        let sent = headers
            .get(CSRF_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if sent.len() != csrf.len() || !bool::from(sent.ct_eq(csrf.as_bytes())) {
            return Err(Denied::Csrf);
        }
        Ok(Who::Session(session_tag(&sid)))
    }
}

/// A short, non-reversible name for a session in logs.
pub fn session_tag(sid: &str) -> String {
    digest(sid.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The session cookie's value, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(crate::balance::sticky::cookie_pairs)
        .find(|(n, _)| *n == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// The `Set-Cookie` value opening a session.
pub fn session_set_cookie(sid: &str) -> String {
    format!(
        "{SESSION_COOKIE}={sid}; Path=/manage; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_TTL.as_secs()
    )
}

/// The `Set-Cookie` value ending a session.
pub fn session_clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/manage; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Whether a state-changing request comes from a page of this very host: `Origin` must be
/// present and name the `Host` the request was sent to, and `Sec-Fetch-Site`, when the
/// browser sends it, must say `same-origin`.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) else {
        return false;
    };
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    if origin_host.map(|h| h.eq_ignore_ascii_case(host)) != Some(true) {
        return false;
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin",
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn only_the_exact_token_matches() {
        let a = Auth::new("correct horse battery");
        assert!(a.token_matches("correct horse battery"));
        assert!(!a.token_matches("correct horse batter"));
        assert!(!a.token_matches("correct horse battery "));
        assert!(!a.token_matches(""));
        assert!(a.login("nope").is_none());
    }

    #[test]
    fn a_session_acts_with_its_csrf_token_from_the_same_origin() {
        let a = Auth::new("s3cret-token");
        let (sid, csrf) = a.login("s3cret-token").unwrap();
        let cookie = format!("other=1; {SESSION_COOKIE}={sid}");
        let ok = headers(&[
            ("cookie", &cookie),
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
            (CSRF_HEADER, &csrf),
        ]);
        assert_eq!(a.authorize(&ok), Ok(Who::Session(session_tag(&sid))));

        let mut no_csrf = ok.clone();
        no_csrf.remove(CSRF_HEADER);
        assert_eq!(a.authorize(&no_csrf), Err(Denied::Csrf));
        let mut wrong_csrf = ok.clone();
        wrong_csrf.insert(CSRF_HEADER, HeaderValue::from_static("x"));
        assert_eq!(a.authorize(&wrong_csrf), Err(Denied::Csrf));

        let mut foreign = ok.clone();
        foreign.insert("origin", HeaderValue::from_static("http://evil.example"));
        assert_eq!(a.authorize(&foreign), Err(Denied::Origin));
        let mut no_origin = ok.clone();
        no_origin.remove("origin");
        assert_eq!(a.authorize(&no_origin), Err(Denied::Origin));
        let mut cross_site = ok.clone();
        cross_site.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert_eq!(a.authorize(&cross_site), Err(Denied::Origin));

        a.logout(&sid);
        assert_eq!(a.authorize(&ok), Err(Denied::NoCredentials));
    }

    #[test]
    fn the_csrf_token_of_another_session_does_not_work() {
        let a = Auth::new("s3cret-token");
        let (sid1, _) = a.login("s3cret-token").unwrap();
        let (_, csrf2) = a.login("s3cret-token").unwrap();
        let cookie = format!("{SESSION_COOKIE}={sid1}");
        let h = headers(&[
            ("cookie", &cookie),
            ("host", "h:1"),
            ("origin", "http://h:1"),
            (CSRF_HEADER, &csrf2),
        ]);
        assert_eq!(a.authorize(&h), Err(Denied::Csrf));
    }

    #[test]
    fn bearer_tokens_need_no_csrf_but_must_be_right() {
        let a = Auth::new("s3cret-token");
        let ok = headers(&[("authorization", "Bearer s3cret-token")]);
        assert_eq!(a.authorize(&ok), Ok(Who::Bearer));
        let bad = headers(&[("authorization", "Bearer s3cret")]);
        assert_eq!(a.authorize(&bad), Err(Denied::WrongToken));
        assert_eq!(a.authorize(&HeaderMap::new()), Err(Denied::NoCredentials));
        assert_eq!(Denied::NoCredentials.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(Denied::Csrf.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn unknown_session_ids_are_no_credentials() {
        let a = Auth::new("s3cret-token");
        let h = headers(&[
            ("cookie", "lab_manage_session=forged"),
            ("host", "h"),
            ("origin", "http://h"),
            (CSRF_HEADER, "forged"),
        ]);
        assert_eq!(a.authorize(&h), Err(Denied::NoCredentials));
    }

    #[test]
    fn sessions_are_bounded() {
        let a = Auth::new("s3cret-token");
        let first = a.login("s3cret-token").unwrap().0;
        for _ in 0..MAX_SESSIONS {
            a.login("s3cret-token").unwrap();
        }
        assert_eq!(a.sessions.lock().unwrap().len(), MAX_SESSIONS);
        assert!(a.session_csrf(&first).is_none(), "the oldest went first");
    }
}
