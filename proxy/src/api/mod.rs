//! The API entrypoint (`--api.insecure=true`, Traefik's `traefik` entrypoint): Traefik v2's
//! JSON API, our dashboard, `/metrics` and `/ping`. Off unless asked for, as in Traefik: it
//! shows the whole configuration and every server's address, so never expose it publicly.

pub mod dashboard;
pub mod json;
pub mod manage;

use lab_common::time::rfc3339;
use std::sync::Arc;

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
        "startDate": rfc3339(rt.started),
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
