//! The UI over HTTP with a fake engine: what a browser and a script see.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request as HttpRequest};
use tower::ServiceExt;

use super::fake::{node, FakeEngine};
use super::*;
use crate::config::{DynamicConfig, ProviderConfig};

const TOKEN: &str = "0123456789abcdef-token";

fn runtime() -> Arc<Runtime> {
    let args: Vec<String> = [
        "--api.insecure=true",
        "--providers.docker",
        "--entrypoints.web.address=127.0.0.1:0",
        "--entrypoints.traefik.address=127.0.0.1:0",
    ]
    .map(String::from)
    .to_vec();
    let cfg = match crate::static_config::parse(&args, &[]).unwrap() {
        crate::static_config::Command::Run(c) => *c,
        other => panic!("{other:?}"),
    };
    let rt = Arc::new(Runtime::new(cfg, BTreeMap::new()));
    let config: DynamicConfig = serde_json::from_value(serde_json::json!({
        "routers": {"static": {"rule": "Host(`demo.res.ch`)", "service": "static"}},
        "services": {"static": {"loadBalancer": {"servers": [
            {"url": "http://10.0.0.1:80", "name": "lab-static-1"}
        ]}}}
    }))
    .unwrap();
    rt.apply(&[(
        "docker".into(),
        ProviderConfig {
            config,
            issues: Vec::new(),
        },
    )]);
    rt
}

struct Ui {
    app: Router,
    engine: Arc<FakeEngine>,
}

fn ui() -> Ui {
    let engine = Arc::new(FakeEngine::new(vec![
        node("0123456789abcdef00", "lab", "proxy", 1, "running", true),
        node("s1", "lab", "static", 1, "running", false),
        node("s2", "lab", "static", 2, "exited", false),
    ]));
    let app = app_with(
        runtime(),
        engine.clone(),
        TOKEN,
        Some("0123456789ab".into()),
    );
    Ui { app, engine }
}

async fn send(app: &Router, req: HttpRequest<Body>) -> (StatusCode, HeaderMap, String) {
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn post(uri: &str) -> axum::http::request::Builder {
    HttpRequest::builder()
        .method(Method::POST)
        .uri(uri)
        .header("host", "127.0.0.1:8080")
}

/// Logs in like the page's form does; returns the session cookie and the CSRF token.
async fn login(app: &Router) -> (String, String) {
    let (status, headers, _) = send(
        app,
        post("/manage/login")
            .header("origin", "http://127.0.0.1:8080")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={TOKEN}")))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let set = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    let (_, _, page) = send(
        app,
        HttpRequest::get("/manage/")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let csrf = page
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    assert!(!csrf.is_empty());
    (cookie, csrf)
}

#[tokio::test]
async fn without_the_token_the_page_is_read_only() {
    let u = ui();
    let (status, headers, page) = send(
        &u.app,
        HttpRequest::get("/manage/").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("name=\"csrf-token\" content=\"\""));
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));

    let (status, _, state) = send(
        &u.app,
        HttpRequest::get("/manage/api/state")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(v["authenticated"], false);
    assert_eq!(v["project"], "lab");
    let services = v["services"].as_array().unwrap();
    assert_eq!(services.len(), 1, "the proxy itself is not shown: {v}");
    let nodes = services[0]["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["name"], "lab-static-1");
    assert_eq!(nodes[0]["proxy"], "UP");
    assert_eq!(nodes[0]["proxy_services"][0], "static@docker");
    assert_eq!(nodes[1]["proxy"], "OUT");

    // Every action is refused without credentials, and nothing reaches the engine.
    for uri in [
        "/manage/api/nodes/s1/stop",
        "/manage/api/nodes/s2/start",
        "/manage/api/nodes/s1/remove",
        "/manage/api/services/lab/static/add",
        "/manage/api/services/static/scale",
    ] {
        let (status, _, _) = send(
            &u.app,
            post(uri)
                .header("origin", "http://127.0.0.1:8080")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    assert!(u.engine.calls().is_empty());
}

#[tokio::test]
async fn a_wrong_token_opens_no_session() {
    let u = ui();
    let (status, headers, _) = send(
        &u.app,
        post("/manage/login")
            .header("origin", "http://127.0.0.1:8080")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("token=guess"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn a_cross_site_login_is_refused() {
    let u = ui();
    let (status, headers, _) = send(
        &u.app,
        post("/manage/login")
            .header("origin", "http://evil.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={TOKEN}")))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn a_session_acts_only_with_its_csrf_token() {
    let u = ui();
    let (cookie, csrf) = login(&u.app).await;

    let (status, _, state) = send(
        &u.app,
        HttpRequest::get("/manage/api/state")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(state.contains("\"authenticated\":true"));

    // The cookie alone (what a cross-site form would carry, were it sent) is not enough.
    let (status, _, _) = send(
        &u.app,
        post("/manage/api/nodes/s1/stop")
            .header("cookie", &cookie)
            .header("origin", "http://127.0.0.1:8080")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nor is the CSRF token from another origin.
    let (status, _, _) = send(
        &u.app,
        post("/manage/api/nodes/s1/stop")
            .header("cookie", &cookie)
            .header("origin", "http://evil.example")
            .header(auth::CSRF_HEADER, &csrf)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(u.engine.calls().is_empty());

    let (status, _, body) = send(
        &u.app,
        post("/manage/api/nodes/s1/stop")
            .header("cookie", &cookie)
            .header("origin", "http://127.0.0.1:8080")
            .header(auth::CSRF_HEADER, &csrf)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("stopped lab-static-1"), "{body}");

    let (status, _, body) = send(
        &u.app,
        post("/manage/api/services/lab/static/add")
            .header("cookie", &cookie)
            .header("origin", "http://127.0.0.1:8080")
            .header(auth::CSRF_HEADER, &csrf)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        u.engine.calls(),
        ["stop s1", "create_like s2", "start new-1"]
    );

    // After logging out, the same cookie and CSRF token do nothing.
    let (status, _, _) = send(
        &u.app,
        post("/manage/logout")
            .header("cookie", &cookie)
            .header("origin", "http://127.0.0.1:8080")
            .header(auth::CSRF_HEADER, &csrf)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(
        &u.app,
        post("/manage/api/nodes/s1/start")
            .header("cookie", &cookie)
            .header("origin", "http://127.0.0.1:8080")
            .header(auth::CSRF_HEADER, &csrf)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn scripts_use_the_bearer_token() {
    let u = ui();
    let (status, _, _) = send(
        &u.app,
        post("/manage/api/nodes/s2/start")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(
        &u.app,
        post("/manage/api/nodes/s2/remove")
            .header("authorization", "Bearer wrong")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The proxy's own container is out of reach even with the token.
    let (status, _, _) = send(
        &u.app,
        post("/manage/api/nodes/0123456789abcdef00/stop")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(u.engine.calls(), ["start s2"]);
}

#[tokio::test]
async fn engine_failures_are_bad_gateway() {
    let u = ui();
    u.engine.fail_on("stop s1");
    let (status, _, body) = send(
        &u.app,
        post("/manage/api/nodes/s1/stop")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body.contains("the fake says no"), "{body}");
}

#[tokio::test]
async fn the_ui_is_off_unless_enabled() {
    let app = crate::api::app(runtime());
    let (status, _, _) = send(
        &app,
        HttpRequest::get("/manage/").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
