//! The CRUD API (`/jokes`) driven in-process through `app()`: each operation, the errors a
//! student's API client can provoke, and two instances that do not share their jokes.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use http_body_util::BodyExt;
use jokes_api::{app, AppState, Catalog, MAX_BODY};
use lab_common::{Instance, InstanceId};
use serde_json::{json, Value};
use tower::ServiceExt;

fn instance(id: &str) -> Router {
    app(AppState::new(
        Arc::new(Instance::new("jokes-api", InstanceId::detect(Some(id)))),
        Catalog::bundled().unwrap(),
        None,
    ))
}

fn bundled() -> usize {
    Catalog::bundled().unwrap().len()
}

async fn call(app: &Router, method: Method, uri: &str, body: Option<Value>) -> Response {
    let mut request = Request::builder().method(method).uri(uri);
    let body = match body {
        Some(v) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    app.clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap()
}

async fn raw(app: &Router, method: Method, uri: &str, content_type: &str, body: &str) -> Response {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_owned()))
        .unwrap();
    app.clone().oneshot(request).await.unwrap()
}

async fn json(response: Response) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).expect("a JSON body")
}

fn stored(response: &Response) -> usize {
    response.headers()["x-jokes-stored"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A JSON error with this status; its message.
async fn error(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let body = json(response).await;
    assert_eq!(body["status"], status.as_u16());
    body["message"].as_str().unwrap().to_owned()
}

fn joke(setup: &str, punchline: &str) -> Value {
    json!({"setup": setup, "punchline": punchline})
}

#[tokio::test]
async fn every_operation_from_create_to_delete() {
    let app = instance("api-1");
    let n = bundled();

    let created = call(&app, Method::POST, "/jokes", Some(joke("Why?", "Because."))).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(stored(&created), n + 1);
    let location = created.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let body = json(created).await;
    let id = body["jokes"][0]["id"].as_u64().unwrap();
    assert_eq!(location, format!("/jokes/{id}"));
    assert_eq!(body["server"]["id"], "api-1");
    assert_eq!(body["stored_here"], n + 1);
    assert_eq!(body["jokes"][0]["setup"], "Why?");

    let read = json(call(&app, Method::GET, &location, None).await).await;
    assert_eq!(read["jokes"][0], body["jokes"][0]);

    let listed = json(call(&app, Method::GET, "/jokes", None).await).await;
    let jokes = listed["jokes"].as_array().unwrap();
    assert_eq!(
        (jokes.len(), listed["stored_here"].as_u64()),
        (n + 1, Some(n as u64 + 1))
    );
    assert_eq!(jokes.last().unwrap()["id"], id);

    let updated = call(&app, Method::PUT, &location, Some(joke("Why?", "Why not."))).await;
    assert_eq!(updated.status(), StatusCode::OK);
    assert_eq!(json(updated).await["jokes"][0]["punchline"], "Why not.");
    let read = json(call(&app, Method::GET, &location, None).await).await;
    assert_eq!(read["jokes"][0]["punchline"], "Why not.");

    let deleted = call(&app, Method::DELETE, &location, None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        stored(&deleted),
        n,
        "a 204 still says how many jokes are left"
    );
    assert_eq!(deleted.headers()["x-served-by"], "api-1");
    assert!(deleted
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .is_empty());

    for method in [Method::GET, Method::DELETE] {
        error(
            call(&app, method, &location, None).await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    let put = call(&app, Method::PUT, &location, Some(joke("a", "b"))).await;
    error(put, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_joke_created_on_one_instance_is_not_on_the_other() {
    let (one, two) = (instance("api-1"), instance("api-2"));
    let created = json(call(&one, Method::POST, "/jokes", Some(joke("a", "b"))).await).await;
    let path = format!("/jokes/{}", created["jokes"][0]["id"]);

    let request = Request::get(&path)
        .header("x-forwarded-prefix", "/api")
        .body(Body::empty())
        .unwrap();
    let elsewhere = two.clone().oneshot(request).await.unwrap();
    assert_eq!(stored(&elsewhere), bundled());
    let message = error(elsewhere, StatusCode::NOT_FOUND).await;
    assert!(message.contains("on server api-2"), "{message}");
    assert!(message.contains("GET /api/jokes lists them"), "{message}");
    assert!(message.contains("sticky cookie"), "{message}");
    assert_eq!(
        call(&one, Method::GET, &path, None).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn location_includes_the_prefix_the_proxy_stripped() {
    let request = Request::post("/jokes")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-forwarded-prefix", "/api")
        .body(Body::from(joke("a", "b").to_string()))
        .unwrap();
    let response = instance("api-1").oneshot(request).await.unwrap();
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    assert!(location.starts_with("/api/jokes/"), "{location}");
}

#[tokio::test]
async fn bodies_are_validated_with_a_reason() {
    let app = instance("api-1");
    let cases: &[(&str, &str, StatusCode, &str)] = &[
        (
            "text/plain",
            r#"{"setup":"a","punchline":"b"}"#,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type: application/json",
        ),
        (
            "application/json",
            r#"{"setup":"a","#,
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            "application/json",
            "",
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            "application/json",
            r#"{"setup":"a"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "punchline",
        ),
        (
            "application/json",
            r#"{"setup":"a","punchline":"b","id":9}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown field `id`",
        ),
        (
            "application/json",
            r#"{"setup":1,"punchline":"b"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a joke",
        ),
        (
            "application/json",
            r#"["a","b"]"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a joke",
        ),
        (
            "application/json",
            r#"{"setup":"  ","punchline":"b"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "setup is empty",
        ),
        (
            "application/json",
            r#"{"setup":"a","punchline":""}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "punchline is empty",
        ),
    ];
    for (content_type, body, status, hint) in cases {
        for (method, uri) in [(Method::POST, "/jokes"), (Method::PUT, "/jokes/1")] {
            let response = raw(&app, method.clone(), uri, content_type, body).await;
            let message = error(response, *status).await;
            assert!(message.contains(hint), "{method} {body:?}: {message}");
        }
    }
    let long = joke("a", &"x".repeat(201));
    let message = error(
        call(&app, Method::POST, "/jokes", Some(long)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        message,
        "punchline has 201 characters; at most 200: make it shorter"
    );

    let huge = format!(r#"{{"setup":"{}","punchline":"b"}}"#, "x".repeat(MAX_BODY));
    let response = raw(&app, Method::POST, "/jokes", "application/json", &huge).await;
    error(response, StatusCode::PAYLOAD_TOO_LARGE).await;

    // Nothing was created or changed by the refused requests.
    let listed = json(call(&app, Method::GET, "/jokes", None).await).await;
    assert_eq!(listed["stored_here"], bundled());
    let first = json(call(&app, Method::GET, "/jokes/1", None).await).await;
    assert_eq!(first["jokes"][0], json!(Catalog::bundled().unwrap().get(1)));
}

#[tokio::test]
async fn texts_are_stored_trimmed() {
    let app = instance("api-1");
    let body = json(call(&app, Method::POST, "/jokes", Some(joke("  a  ", "\tb\n"))).await).await;
    assert_eq!(
        (
            body["jokes"][0]["setup"].as_str(),
            body["jokes"][0]["punchline"].as_str()
        ),
        (Some("a"), Some("b"))
    );
}

#[tokio::test]
async fn bad_ids_are_400() {
    let app = instance("api-1");
    for uri in ["/jokes/abc", "/jokes/-1", "/jokes/99999999999"] {
        error(
            call(&app, Method::DELETE, uri, None).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        let put = call(&app, Method::PUT, uri, Some(joke("a", "b"))).await;
        error(put, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn the_random_joke_stays_as_in_2021() {
    let app = instance("api-1");
    let response = call(&app, Method::GET, "/", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(stored(&response), bundled());
    let body = json(response).await;
    assert_eq!(body["jokes"].as_array().unwrap().len(), 1);
    assert!(
        body.get("stored_here").is_none(),
        "GET / keeps the 2021 shape"
    );
}
