//! The API entrypoint (`--api.insecure=true`, Traefik's `traefik` entrypoint): Traefik v2's
//! JSON API, our dashboard, `/metrics` and `/ping`. Off unless asked for, as in Traefik: it
//! shows the whole configuration and every server's address, so never expose it publicly.

pub mod dashboard;
pub mod json;
pub mod manage;
pub mod metrics;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::runtime::Runtime;

/// The API's routes. Only the parts switched on in the static configuration are served.
pub fn app(rt: Arc<Runtime>) -> Router {
    let cfg = &rt.static_config;
    let mut r = Router::new();
    if cfg.api {
        r = r
            .route("/api/overview", get(overview))
            .route("/api/rawdata", get(rawdata))
            .route("/api/entrypoints", get(entrypoints))
            .route("/api/entrypoints/{name}", get(entrypoint))
            .route("/api/version", get(version))
            .route("/api/issues", get(issues))
            .route("/api/http/routers", get(routers))
            .route("/api/http/routers/{name}", get(router))
            .route("/api/http/services", get(services))
            .route("/api/http/services/{name}", get(service))
            .route("/api/http/middlewares", get(middlewares))
            .route("/api/http/middlewares/{name}", get(middleware));
        if cfg.dashboard {
            r = r
                .route("/", get(|| async { Redirect::to("/dashboard/") }))
                .route("/dashboard", get(|| async { Redirect::to("/dashboard/") }))
                .route("/dashboard/", get(dashboard::page));
        }
    }
    if let Some(manage) = manage::app(&rt) {
        r = r.merge(manage);
    }
    if cfg.metrics {
        r = r.route("/metrics", get(metrics));
    }
    if cfg.ping {
        r = r.route("/ping", get(|| async { "OK" }).head(|| async { "OK" }));
    }
    r.fallback(|| async { (StatusCode::NOT_FOUND, "404 page not found\n") })
        .with_state(rt)
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "message": format!("{what} not found") })),
    )
        .into_response()
}

async fn overview(State(rt): State<Arc<Runtime>>) -> Json<serde_json::Value> {
    Json(json::overview(&rt, &rt.snapshot.load()))
}

async fn rawdata(State(rt): State<Arc<Runtime>>) -> Json<serde_json::Value> {
    Json(json::rawdata(&rt, &rt.snapshot.load()))
}

async fn entrypoints(State(rt): State<Arc<Runtime>>) -> Json<serde_json::Value> {
    Json(json::entrypoints(&rt))
}

async fn entrypoint(State(rt): State<Arc<Runtime>>, Path(name): Path<String>) -> Response {
    match json::entrypoints(&rt)
        .as_array()
        .and_then(|a| a.iter().find(|e| e["name"] == name.as_str()).cloned())
    {
        Some(e) => Json(e).into_response(),
        None => not_found("entrypoint"),
    }
}

async fn version(State(rt): State<Arc<Runtime>>) -> Json<serde_json::Value> {
    Json(json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "Codename": "http-infra-lab",
        "startDate": rfc3339(rt.started.duration_since(std::time::UNIX_EPOCH).unwrap_or_default()),
    }))
}

async fn issues(State(rt): State<Arc<Runtime>>) -> Json<serde_json::Value> {
    Json(json::issues(&rt.snapshot.load()))
}

async fn routers(State(rt): State<Arc<Runtime>>) -> Json<Vec<serde_json::Value>> {
    let snap = rt.snapshot.load();
    Json(
        snap.merged
            .routers
            .keys()
            .filter_map(|n| json::router(&rt, &snap, n))
            .collect(),
    )
}

async fn router(State(rt): State<Arc<Runtime>>, Path(name): Path<String>) -> Response {
    match json::router(&rt, &rt.snapshot.load(), &name) {
        Some(v) => Json(v).into_response(),
        None => not_found("router"),
    }
}

async fn services(State(rt): State<Arc<Runtime>>) -> Json<Vec<serde_json::Value>> {
    let snap = rt.snapshot.load();
    Json(
        snap.merged
            .services
            .keys()
            .filter_map(|n| json::service(&snap, n))
            .collect(),
    )
}

async fn service(State(rt): State<Arc<Runtime>>, Path(name): Path<String>) -> Response {
    match json::service(&rt.snapshot.load(), &name) {
        Some(v) => Json(v).into_response(),
        None => not_found("service"),
    }
}

async fn middlewares(State(rt): State<Arc<Runtime>>) -> Json<Vec<serde_json::Value>> {
    let snap = rt.snapshot.load();
    Json(
        snap.merged
            .middlewares
            .keys()
            .filter_map(|n| json::middleware(&snap, n))
            .collect(),
    )
}

async fn middleware(State(rt): State<Arc<Runtime>>, Path(name): Path<String>) -> Response {
    match json::middleware(&rt.snapshot.load(), &name) {
        Some(v) => Json(v).into_response(),
        None => not_found("middleware"),
    }
}

async fn metrics(State(rt): State<Arc<Runtime>>) -> Response {
    match &rt.metrics {
        Some(m) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            m.render(&rt.snapshot.load()),
        )
            .into_response(),
        None => not_found("metrics"),
    }
}

/// Formats a time since the Unix epoch as RFC 3339 UTC (`2026-11-24T14:23:30.123Z`).
pub fn rfc3339(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since_epoch.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(rfc3339(Duration::from_secs(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(Duration::from_millis(1_795_530_210_123)),
            "2026-11-24T14:23:30.123Z"
        );
    }
}
