//! One log line per request, and the request count `/whoami` reports.
//!
//! A line reads `GET /css/site.css?v=2 -> 200 OK in 0.4 ms (#17, from 172.18.0.5:43512)`.
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
    let from = request
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .map(|ConnectInfo(conn)| conn.remote.to_string());

    let response = next.run(request).await;

    let status = response.status();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let from = from.as_deref().unwrap_or("in-process");
    if target == "/healthz" {
        tracing::debug!(target: "access", "{method} {target} -> {status} in {ms:.1} ms (#{number}, from {from})");
    } else {
        tracing::info!(target: "access", "{method} {target} -> {status} in {ms:.1} ms (#{number}, from {from})");
    }
    response
}
