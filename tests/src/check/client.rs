//! The HTTP side of the checks: requests to the proxy with the lab's `Host`, the
//! `X-Served-By` of each answer, the sticky cookie, and the assets a page loads.
//!
//! Cookies are handled by hand (no cookie jar): a check wants to see exactly which cookie it
//! got and which one it sends.
//!
//! Over HTTPS the requests go to the lab's host name, pinned to the entrypoint's loopback
//! address, so the TLS server name (SNI) and the certificate check use that name, as a browser
//! would (a certificate is for `localhost`, not for `127.0.0.1:8443`).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, HOST, SET_COOKIE};

use super::trust::Trust;

/// Refuses any base URL that is not on this machine: the checks send traffic only to loopback.
pub fn ensure_loopback(url: &str) -> Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("`{url}` is not a URL"))?;
    let host = parsed.host_str().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
        return Ok(());
    }
    bail!(
        "`{url}` is not on this machine: lab check only sends traffic to 127.0.0.1 or \
         localhost (use --host for the virtual host name)"
    )
}

/// One answer, reduced to what the checks look at.
#[derive(Debug, Clone)]
pub struct Answer {
    pub path: String,
    pub status: u16,
    pub served_by: Option<String>,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The value of the `name` cookie this answer sets, if any.
    pub fn set_cookie(&self, name: &str) -> Option<SetCookie> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(SetCookie::parse)
            .find(|c| c.name == name)
    }

    /// Every cookie this answer sets, in order.
    pub fn set_cookies(&self) -> Vec<SetCookie> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(SetCookie::parse)
            .collect()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn server(&self) -> &str {
        self.served_by.as_deref().unwrap_or("?")
    }
}

/// A `Set-Cookie` header, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    /// `None` when the header has no `Path` attribute.
    pub path: Option<String>,
    /// The header as received.
    pub raw: String,
}

impl SetCookie {
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.split(';');
        let (name, value) = parts.next()?.trim().split_once('=')?;
        let path = parts.find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            k.eq_ignore_ascii_case("path").then(|| v.to_string())
        });
        Some(Self {
            name: name.to_string(),
            value: value.to_string(),
            path,
            raw: raw.to_string(),
        })
    }
}

/// Sends requests to one entrypoint with a fixed `Host`.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The entrypoint as given: `http://127.0.0.1:80`.
    base: String,
    /// Where requests go: `base`, or over HTTPS `https://HOST:PORT` pinned to base's address.
    target: String,
    host: String,
    trust: Trust,
}

impl Client {
    /// A client for `base`; over HTTPS, one that accepts any certificate ([`Trust::Unverified`]).
    pub fn new(base: &str, host: &str) -> Result<Self> {
        Self::with_trust(base, host, Trust::default())
    }

    pub fn with_trust(base: &str, host: &str, trust: Trust) -> Result<Self> {
        ensure_loopback(base)?;
        let base = base.trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&base)?;
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10));
        let mut target = base.clone();
        if url.scheme() == "https" {
            builder = trust.apply(builder).tls_info(true);
            if let Some(addr) = pinned_address(&url, host) {
                builder = builder.resolve(host, addr);
                target = format!("https://{host}:{}", addr.port());
            }
        }
        Ok(Self {
            http: builder.build()?,
            base,
            target,
            host: host.to_string(),
            trust,
        })
    }

    /// The same entrypoint and trust, another `Host` header (over HTTPS the server name stays
    /// the lab's, as a client that asks for one name and sends another Host).
    pub fn with_host(&self, host: &str) -> Self {
        Self {
            host: host.to_string(),
            ..self.clone()
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn is_https(&self) -> bool {
        self.base.starts_with("https://")
    }

    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// The certificate the entrypoint presents for the lab's host (DER); `None` over HTTP.
    pub async fn peer_certificate(&self) -> Result<Option<Vec<u8>>> {
        if !self.is_https() {
            return Ok(None);
        }
        let url = format!("{}/", self.target);
        let resp = self
            .http
            .get(&url)
            .header(HOST, &self.host)
            .send()
            .await
            .with_context(|| format!("GET {url} (Host: {}) failed", self.host))?;
        Ok(resp
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .map(<[u8]>::to_vec))
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// GET `path` with the lab's Host and, if given, a `Cookie` header.
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Result<Answer> {
        self.get_with(path, cookie, &[]).await
    }

    /// GET with extra headers.
    pub async fn get_with(
        &self,
        path: &str,
        cookie: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<Answer> {
        let url = format!("{}{}", self.target, path);
        let mut req = self.http.get(&url).header(HOST, &self.host);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("GET {url} (Host: {}) failed", self.host))?;
        Self::answer(path, resp).await
    }

    /// `method path` with the lab's Host, a cookie if given, and a JSON body if given.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        json: Option<&str>,
    ) -> Result<Answer> {
        let url = format!("{}{}", self.target, path);
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self
            .http
            .request(method.clone(), &url)
            .header(HOST, &self.host);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        if let Some(body) = json {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {url} (Host: {}) failed", self.host))?;
        Self::answer(path, resp).await
    }

    async fn answer(path: &str, resp: reqwest::Response) -> Result<Answer> {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let served_by = headers
            .get("x-served-by")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.text().await.unwrap_or_default();
        Ok(Answer {
            path: path.to_string(),
            status,
            served_by,
            headers,
            body,
        })
    }

    /// GET an absolute URL on the API entrypoint (no Host override) as JSON.
    pub async fn get_json(&self, url: &str) -> Result<serde_json::Value> {
        ensure_loopback(url)?;
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .with_context(|| format!("GET {url} failed"))?;
        let status = resp.status();
        if !status.is_success() {
            bail!("GET {url}: {status}");
        }
        resp.json()
            .await
            .with_context(|| format!("GET {url}: not JSON"))
    }
}

impl Client {
    /// `method` an absolute URL on the API entrypoint (no Host override), with an
    /// `Authorization: Bearer` token if given: (status, body), whatever the status.
    pub async fn call_api(
        &self,
        method: &str,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<(u16, String)> {
        ensure_loopback(url)?;
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self.http.request(method.clone(), url);
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {url} failed"))?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await.unwrap_or_default()))
    }
}

/// Over HTTPS, the address to reach `host` at: the base URL's loopback address and port, when
/// the base names an address rather than the host itself.
fn pinned_address(url: &reqwest::Url, host: &str) -> Option<SocketAddr> {
    let port = url.port_or_known_default()?;
    let named = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    if named == host || host.parse::<IpAddr>().is_ok() {
        return None;
    }
    // `localhost` in the base: loopback (ensure_loopback refused anything else).
    let ip = named.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]));
    Some(SocketAddr::new(ip, port))
}

/// The same-site assets a page or a stylesheet refers to (`href`, `src`, CSS `url()`), as
/// absolute paths, without duplicates, in order. `base` is the path of the referring document.
pub fn asset_paths(base: &str, text: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for attr in ["href=", "src=", "url("] {
        let mut rest = text;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let quote = rest.chars().next();
            let (body, end_chars): (&str, &[char]) = match quote {
                Some('"') => (&rest[1..], &['"']),
                Some('\'') => (&rest[1..], &['\'']),
                _ => (rest, &[')', ' ', '>']),
            };
            let end = body.find(end_chars).unwrap_or(body.len());
            refs.push(body[..end].trim().to_string());
        }
    }
    let mut out: Vec<String> = Vec::new();
    for r in refs {
        if let Some(p) = resolve(base, &r) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// Resolves a reference against the referring document's path; `None` for other sites,
/// data URLs, fragments, templates, the page itself and the API.
fn resolve(base: &str, r: &str) -> Option<String> {
    let r = r.split(['#', '?']).next()?;
    if r.is_empty()
        || r.contains("://")
        || r.starts_with("//")
        || r.contains(['$', '{', '<', '+', '`'])
        || r.starts_with("data:")
        || r.starts_with("mailto:")
        || r.starts_with("javascript:")
    {
        return None;
    }
    let joined = if r.starts_with('/') {
        r.to_string()
    } else {
        let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
        format!("{dir}{r}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let path = format!("/{}", parts.join("/"));
    // The page itself and the API are not the page's static assets.
    if path == "/" || path.starts_with("/api/") || !path.rsplit('/').next()?.contains('.') {
        return None;
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_is_accepted() {
        assert!(ensure_loopback("http://127.0.0.1:8000").is_ok());
        assert!(ensure_loopback("http://localhost:8000/").is_ok());
        assert!(ensure_loopback("http://[::1]:8000/").is_ok());
        assert!(ensure_loopback("http://demo.res.ch/").is_err());
        assert!(ensure_loopback("http://10.0.0.1/").is_err());
    }

    #[test]
    fn https_goes_to_the_host_name_pinned_to_the_address() {
        let c = Client::new("https://127.0.0.1:8443/", "localhost").unwrap();
        assert_eq!(c.target, "https://localhost:8443");
        assert_eq!(c.base(), "https://127.0.0.1:8443");
        assert!(c.is_https());
        let c = Client::new("https://localhost:443", "localhost").unwrap();
        assert_eq!(c.target, "https://localhost:443");
        let c = Client::new("http://127.0.0.1:80", "localhost").unwrap();
        assert_eq!(
            c.target, "http://127.0.0.1:80",
            "plain HTTP is sent as before"
        );
        let c = Client::new("https://127.0.0.1:443", "127.0.0.1").unwrap();
        assert_eq!(
            c.target, "https://127.0.0.1:443",
            "an address as host: nothing to pin"
        );
        let other = c.with_host("unknown.invalid");
        assert_eq!(
            (other.target.as_str(), other.host()),
            ("https://127.0.0.1:443", "unknown.invalid")
        );
    }

    #[test]
    fn set_cookie_parses() {
        let c = SetCookie::parse("static_cookie=abc123; Path=/; HttpOnly").unwrap();
        assert_eq!(
            (c.name.as_str(), c.value.as_str()),
            ("static_cookie", "abc123")
        );
        assert_eq!(c.path.as_deref(), Some("/"));
        assert_eq!(SetCookie::parse("a=b").unwrap().path, None);
    }

    #[test]
    fn assets_are_found_and_resolved() {
        let html = r#"<link rel="stylesheet" href="/css/site.css"><script src='js/app.js'></script>
            <img src="img/logo.svg?v=2"><a href="https://example.org/x.png">x</a>
            <a href="/">home</a><img src="data:image/png;base64,xx"> <a href="/api/jokes/">api</a>"#;
        assert_eq!(
            asset_paths("/", html),
            vec!["/css/site.css", "/js/app.js", "/img/logo.svg"]
        );
        let css = "body{background:url(../img/bg.png)} @font-face{src:url('/fonts/f.woff2')}";
        assert_eq!(
            asset_paths("/css/site.css", css),
            vec!["/img/bg.png", "/fonts/f.woff2"]
        );
    }
}
