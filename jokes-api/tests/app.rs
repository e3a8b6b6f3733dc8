//! The jokes API driven in-process through `app()`: no sockets, no ports.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use http_body_util::BodyExt;
use jokes_api::{app, AppState, Catalog, MAX_COUNT};
use lab_common::{Instance, InstanceId};
use serde_json::Value;
use tower::ServiceExt;

const ID: &str = "jokes-test-1";

fn state() -> AppState {
    AppState::new(
        Arc::new(Instance::new("jokes-api", InstanceId::detect(Some(ID)))),
        Catalog::bundled().unwrap(),
        None,
    )
}

async fn send(app: &Router, request: Request<Body>) -> Response {
    app.clone().oneshot(request).await.unwrap()
}

async fn get(app: &Router, uri: &str) -> Response {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn json(response: Response) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).expect("a JSON body")
}

fn served_by(response: &Response) -> &str {
    response.headers()["x-served-by"].to_str().unwrap()
}

/// The response is the JSON error we promise: status in the body, a message, our header.
async fn assert_error(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    assert_eq!(served_by(&response), ID);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let body = json(response).await;
    assert_eq!(body["status"], status.as_u16());
    assert_eq!(body["error"], status.canonical_reason().unwrap());
    body["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn one_random_joke_by_default() {
    let response = get(&app(state()), "/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(served_by(&response), ID);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let body = json(response).await;
    assert_eq!(body["server"]["id"], ID);
    assert!(body["server"]["hostname"].is_string());
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    let jokes = body["jokes"].as_array().unwrap();
    assert_eq!(jokes.len(), 1);
    for field in ["setup", "punchline"] {
        assert!(!jokes[0][field].as_str().unwrap().is_empty());
    }
    assert!(jokes[0]["id"].is_u64());
}

#[tokio::test]
async fn count_gives_that_many_different_jokes() {
    let app = app(state());
    for count in 0..=MAX_COUNT {
        let body = json(get(&app, &format!("/?count={count}")).await).await;
        let ids: HashSet<u64> = body["jokes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|joke| joke["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids.len(), count, "count={count}");
    }
}

#[tokio::test]
async fn unknown_query_parameters_are_ignored() {
    let response = get(&app(state()), "/?count=2&t=1712345").await;
    assert_eq!(json(response).await["jokes"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_counts_are_400_with_a_reason() {
    let app = app(state());
    for query in [
        "count=abc",
        "count=-1",
        "count=1.5",
        "count=",
        "count=1&count=2",
        "count=99999999999999999999999",
    ] {
        let message = assert_error(
            get(&app, &format!("/?{query}")).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(message.contains("query"), "{query}: {message}");
    }
    let message = assert_error(get(&app, "/?count=11").await, StatusCode::BAD_REQUEST).await;
    assert_eq!(message, "count must be between 0 and 10, got 11");
}

#[tokio::test]
async fn a_joke_by_id() {
    let app = app(state());
    let response = get(&app, "/jokes/1").await;
    assert_eq!(served_by(&response), ID);
    let body = json(response).await;
    assert_eq!(body["jokes"][0]["id"], 1);
    assert_eq!(body["server"]["id"], ID);

    assert_error(get(&app, "/jokes/100000").await, StatusCode::NOT_FOUND).await;
    for bad in [
        "/jokes/abc",
        "/jokes/-1",
        "/jokes/1.0",
        "/jokes/99999999999",
    ] {
        assert_error(get(&app, bad).await, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn unknown_paths_are_json_404() {
    let app = app(state());
    for path in ["/nope", "/jokes/", "/jokes/1/extra", "/api/jokes/"] {
        let message = assert_error(get(&app, path).await, StatusCode::NOT_FOUND).await;
        assert!(message.contains(path), "{message}");
    }
}

#[tokio::test]
async fn wrong_methods_are_json_405_with_allow() {
    let app = app(state());
    for (method, path, allowed) in [
        (Method::POST, "/", "GET, HEAD"),
        (Method::PUT, "/whoami", "GET, HEAD"),
        (Method::OPTIONS, "/", "GET, HEAD"),
        (Method::DELETE, "/jokes", "GET, HEAD, POST"),
        (Method::PUT, "/jokes", "GET, HEAD, POST"),
        (Method::POST, "/jokes/1", "GET, HEAD, PUT, DELETE"),
        (Method::PATCH, "/jokes/1", "GET, HEAD, PUT, DELETE"),
    ] {
        let request = Request::builder()
            .method(method.clone())
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let response = send(&app, request).await;
        assert_eq!(
            response.headers()[header::ALLOW],
            allowed,
            "{method} {path}"
        );
        let message = assert_error(response, StatusCode::METHOD_NOT_ALLOWED).await;
        assert!(message.ends_with(&format!("use {allowed}")), "{message}");
    }
}

#[tokio::test]
async fn head_works_and_sends_no_body() {
    let response = send(
        &app(state()),
        Request::head("/").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(served_by(&response), ID);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert!(bytes.is_empty());
}

#[tokio::test]
async fn whoami_and_healthz() {
    let app = app(state());
    let request = Request::get("/whoami")
        .header("x-forwarded-prefix", "/api/jokes")
        .body(Body::empty())
        .unwrap();
    let response = send(&app, request).await;
    assert_eq!(served_by(&response), ID);
    let body = json(response).await;
    assert_eq!(body["service"], "jokes-api");
    assert_eq!(body["id"], ID);
    assert_eq!(body["requests_served"], 1);
    assert_eq!(
        body["request"]["headers"]["x-forwarded-prefix"][0],
        "/api/jokes"
    );

    let health = get(&app, "/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(served_by(&health), ID);
    assert_eq!(json(health).await["status"], "ok");
}

#[tokio::test]
async fn no_cors_by_default() {
    let request = Request::get("/")
        .header(header::ORIGIN, "http://localhost:8080")
        .body(Body::empty())
        .unwrap();
    let response = send(&app(state()), request).await;
    assert!(!response
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}

#[tokio::test]
async fn cors_for_the_configured_origin_only() {
    let app = app(AppState {
        cors_origin: Some(HeaderValue::from_static("http://localhost:8080")),
        ..state()
    });
    let request = |origin: &str| {
        Request::get("/")
            .header(header::ORIGIN, origin)
            .body(Body::empty())
            .unwrap()
    };
    let allowed = send(&app, request("http://localhost:8080")).await;
    assert_eq!(
        allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:8080"
    );
    let exposed = allowed.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap();
    assert!(exposed.contains("x-served-by"), "{exposed}");

    // Another origin is not named (the browser then refuses the answer to its page).
    let other = send(&app, request("http://evil.example")).await;
    let named = other.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN);
    assert_ne!(
        named.and_then(|v| v.to_str().ok()),
        Some("http://evil.example")
    );

    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/")
        .header(header::ORIGIN, "http://localhost:8080")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .body(Body::empty())
        .unwrap();
    let response = send(&app, preflight).await;
    assert!(response.status().is_success());
    assert_eq!(served_by(&response), ID);
}

#[tokio::test]
async fn any_origin_with_a_star() {
    let app = app(AppState {
        cors_origin: Some(HeaderValue::from_static("*")),
        ..state()
    });
    let request = Request::get("/")
        .header(header::ORIGIN, "http://anywhere.example")
        .body(Body::empty())
        .unwrap();
    let response = send(&app, request).await;
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}
