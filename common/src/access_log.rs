//! One log line per request, and the request count `/whoami` reports.
//!
//! A line reads `GET /css/site.css?v=2 -> 200 OK in 0.4 ms (#17, from 172.18.0.5:43512)`;
//! behind a proxy, `from` is the proxy, and the client it forwarded for is added:
//! `(#18, from 172.18.0.2:51234 for 192.168.1.20)`.
//! Health checks arrive every few seconds from the proxy, so they are logged at DEBUG, not INFO:
//! `RUST_LOG=debug` shows them.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::{Connection, Instance};

/// Middleware (for `axum::middleware::from_fn_with_state`): counts the request, runs it, logs it.
pub async fn log_request(
    State(instance): State<Arc<Instance>>,
    request: Request,
    next: Next,
) -> Response {
    let number = instance.count_request();
    let started = Instant::now();
    let method = request.method().clone();
    let target = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), ToString::to_string);
    let peer = request
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .map_or_else(
            || "in-process".to_owned(),
            |ConnectInfo(conn)| conn.remote.to_string(),
        );
    let from = match request.headers().get("x-forwarded-for").map(|v| v.to_str()) {
        Some(Ok(client)) => format!("{peer} for {client}"),
        _ => peer,
    };

    let response = next.run(request).await;

    let status = response.status();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if target == "/healthz" {
        tracing::debug!(target: "access", "{method} {target} -> {status} in {ms:.1} ms (#{number}, from {from})");
    } else {
        tracing::info!(target: "access", "{method} {target} -> {status} in {ms:.1} ms (#{number}, from {from})");
    }
    response
}
