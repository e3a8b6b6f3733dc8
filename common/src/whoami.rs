//! `GET /whoami` and `GET /healthz`, the same on every lab server.
//!
//! `/whoami` answers like the well-known `traefik/whoami` container, in JSON: who answered
//! (id, hostname, addresses, start time, requests served) and the request *as it arrived*. Call
//! it directly and through the proxy, and the difference is what the proxy did: `X-Forwarded-*`
//! added, its sticky cookie removed, the path prefix stripped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, request::Parts, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::{time::rfc3339, Connection, Instance};

/// The `/whoami` document.
#[derive(Debug, Serialize)]
pub struct Whoami {
    /// `static-server` or `jokes-api`.
    pub service: &'static str,
    /// The instance id, as in `X-Served-By`.
    pub id: String,
    pub hostname: String,
    /// The machine's IP addresses (in a container: its addresses on each network).
    pub addresses: Vec<String>,
    pub started_at: String,
    pub uptime_seconds: u64,
    /// Requests this server has answered, this one included.
    pub requests_served: u64,
    pub request: RequestSeen,
}

/// A request as the server received it.
#[derive(Debug, Serialize)]
pub struct RequestSeen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub version: String,
    /// Who connected to us: the client, or the proxy when there is one.
    pub remote_addr: Option<String>,
    /// The address the connection reached.
    pub local_addr: Option<String>,
    /// Every header, by lowercase name; a header sent twice has two values.
    pub headers: BTreeMap<String, Vec<String>>,
}

impl Whoami {
    /// Describes `instance` answering the request whose head is `request`.
    pub fn new(instance: &Instance, request: &Parts) -> Self {
        let connection = request
            .extensions
            .get::<ConnectInfo<Connection>>()
            .map(|ConnectInfo(conn)| *conn);
        let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in &request.headers {
            headers
                .entry(name.as_str().to_owned())
                .or_default()
                .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
        }
        Whoami {
            service: instance.service(),
            id: instance.id().to_owned(),
            hostname: instance.hostname().to_owned(),
            addresses: crate::net::addresses()
                .iter()
                .map(ToString::to_string)
                .collect(),
            started_at: rfc3339(instance.started_at()),
            uptime_seconds: SystemTime::now()
                .duration_since(instance.started_at())
                .unwrap_or_default()
                .as_secs(),
            requests_served: instance.requests_served(),
            request: RequestSeen {
                method: request.method.to_string(),
                path: request.uri.path().to_owned(),
                query: request.uri.query().map(str::to_owned),
                version: format!("{:?}", request.version),
                remote_addr: connection.map(|c| c.remote.to_string()),
                local_addr: connection.map(|c| c.local.to_string()),
                headers,
            },
        }
    }
}

/// Handler for `GET /whoami`; works in any router whose state gives an `Arc<Instance>`
/// (`impl FromRef<YourState> for Arc<Instance>`).
pub async fn whoami(State(instance): State<Arc<Instance>>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    no_store(Json(Whoami::new(&instance, &parts)))
}

/// Handler for `GET /healthz`: `{"status":"ok"}` while the server runs.
pub async fn healthz() -> Response {
    no_store(Json(serde_json::json!({ "status": "ok" })))
}

/// A live answer: no cache may keep it, or a student would see an old server's id.
fn no_store(body: impl IntoResponse) -> Response {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        body,
    )
        .into_response()
}
