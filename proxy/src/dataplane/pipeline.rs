//! The request pipeline: what the proxy decides for one request, whichever data path reads it.
//!
//! [`route`] finds the router (first match by priority, on the request's entrypoint), runs its
//! middlewares and reads the client's sticky cookie; [`forward`] tries servers (see
//! [`crate::dataplane::failover`]) until one answers, and gives the response to relay or the proxy's
//! own answer, with what the access log and metrics record. The two data paths, hyper's
//! (`crate::dataplane::hyper_path::handle`) and the fast path (`crate::dataplane::h1`), differ only in how they read and
//! write HTTP/1: each is a [`Transport`] that sends one try to one server. So a rule, a
//! middleware, a retry or a sticky cookie behaves the same on both by construction.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{Method, StatusCode};

use crate::answer::Answer;
use crate::balance::{sticky, Pick, ServerState};
use crate::config::rule::RequestInfo;
use crate::dataplane::failover::{Tries, TryError};
use crate::dataplane::hyper_path::EntryCtx;
use crate::middleware::{Request, Rewrite};
use crate::snapshot::{Route, Snapshot};

/// A request matched to a router, after its middlewares.
#[derive(Debug)]
pub struct Routed<'s> {
    pub route: &'s Route,
    /// What the middlewares changed.
    pub rewrite: Rewrite,
    /// The client's sticky cookie for the router's service, if it sent one.
    pub cookie: Option<String>,
}

/// Finds the router for a request on entrypoint `ep` (on a TLS connection: `tls`) and runs its
/// middlewares. `Err`: the proxy answers itself (no router: 404; the entrypoint's or a
/// middleware's redirect), with the router's name for the log.
pub fn route<'s>(
    snap: &'s Snapshot,
    ep: &'s EntryCtx,
    tls: bool,
    req: &RequestInfo<'_>,
) -> Result<Routed<'s>, (Answer, &'s str)> {
    let mut rewrite = Rewrite::default();
    let mreq = Request {
        method: req.method,
        host: req.host,
        path: req.path,
        query: req.query,
        https: tls,
    };
    if let (Some((name, redirect)), false) = (&ep.redirect, tls) {
        if let Some(answer) = redirect.request(&mreq, &mut rewrite) {
            return Err((answer, name));
        }
    }
    // As in Traefik, a TLS router serves TLS connections only, and a plain one plain ones.
    let Some(route) = snap
        .routes
        .iter()
        .find(|r| r.serves(&ep.name) && (r.tls || ep.tls_routers) == tls && r.rule.matches(req))
    else {
        return Err((Answer::NOT_FOUND, ""));
    };
    if let Some(answer) = route.chain.apply(&mreq, &mut rewrite) {
        return Err((answer, &route.name));
    }
    let cookie = route.balancer.sticky.as_ref().and_then(|t| {
        req.headers.find_map(&header::COOKIE, |v| {
            let v = crate::config::rule::header_text(v)?;
            sticky::cookie_pairs(v)
                .find(|(n, _)| *n == t.cookie.name)
                .map(|(_, v)| v.to_string())
        })
    });
    Ok(Routed {
        route,
        rewrite,
        cookie,
    })
}

/// How one try failed, and why (for the debug log).
#[derive(Debug)]
pub struct Failure {
    pub error: TryError,
    pub why: String,
}

/// One try, as the pipeline asks a transport to send it.
#[derive(Debug)]
pub struct Attempt<'a> {
    pub server: &'a Arc<ServerState>,
    /// What the middlewares changed: the transport applies it to the request and response.
    pub rewrite: &'a Rewrite,
    /// A sticky `Set-Cookie` for the response.
    pub set_cookie: Option<&'a HeaderValue>,
    /// Another try may follow once this one reached the server: keep what it takes to send the
    /// request again.
    pub may_resend: bool,
}

/// A way of reading and writing HTTP/1: hyper's, or the fast path's.
pub trait Transport {
    /// A server's response head, ready to relay.
    type Response;

    /// Sends the request to `a.server` and reads the response head.
    fn send(&mut self, a: &Attempt<'_>) -> impl Future<Output = Result<Self::Response, Failure>>;
}

/// What became of a routed request.
#[derive(Debug)]
pub struct Decision<'s, R> {
    /// The server's response, or the proxy's answer when no try gave one.
    pub answer: Result<R, Answer>,
    /// The server of the last try (none when no server could be tried).
    pub server: Option<&'s Arc<ServerState>>,
    /// Tries after the first one.
    pub retries: u32,
}

/// Sends a routed request: picks servers and tries them, within `header_timeout` each, until
/// one gives a response head or [`crate::dataplane::failover`] says to stop.
pub async fn forward<'s, T: Transport>(
    routed: &Routed<'s>,
    method: &Method,
    header_timeout: Duration,
    transport: &mut T,
) -> Decision<'s, T::Response> {
    let route = routed.route;
    let balancer: &'s crate::balance::Balancer = &route.balancer;
    let mut tries = Tries::new(routed.rewrite.attempts, balancer, method);
    // The server of the last try; none when no server was left to try.
    let server = loop {
        let Some(pick) = tries.pick(balancer, routed.cookie.as_deref()) else {
            break None;
        };
        let idx = pick.index();
        let s = &balancer.servers[idx];
        // A round-robin pick on a sticky service tells the client where it went.
        let set_cookie = match (pick, &balancer.sticky) {
            (Pick::RoundRobin(i), Some(t)) => {
                HeaderValue::from_str(&t.cookie.set_cookie(&t.values[i], &route.cookie_path)).ok()
            }
            _ => None,
        };
        let attempt = Attempt {
            server: s,
            rewrite: &routed.rewrite,
            set_cookie: set_cookie.as_ref(),
            may_resend: tries.idempotent() && tries.another_after_this(),
        };
        s.count_request();
        match tokio::time::timeout(header_timeout, transport.send(&attempt)).await {
            Ok(Ok(resp)) => {
                if set_cookie.is_some() {
                    s.count_sticky_issued();
                }
                return Decision {
                    answer: Ok(resp),
                    server: Some(s),
                    retries: tries.retries(),
                };
            }
            Ok(Err(f)) => {
                if !tries.failed(balancer, idx, f.error, &f.why) {
                    break Some(s);
                }
            }
            Err(e) => {
                tries.failed(balancer, idx, TryError::TimedOut, &e);
                break Some(s);
            }
        }
    };
    let (status, body): (StatusCode, &'static str) = tries.answer(balancer);
    Decision {
        answer: Err(Answer::Text(status, body)),
        server,
        retries: tries.retries(),
    }
}
