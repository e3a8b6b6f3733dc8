//! `/jokes`: create, read, update and delete the jokes of this instance's [`Store`], the 2023
//! edition's CRUD API. Every answer names the server and how many jokes it holds (in the body
//! as `stored_here`, and in the `X-Jokes-Stored` header, which even a 204 carries), so a
//! student who creates a joke and then cannot find it sees that another instance answered.
//!
//! | Request               | Answer                                                        |
//! |-----------------------|---------------------------------------------------------------|
//! | `GET /jokes`          | 200, every joke of this instance                              |
//! | `GET /jokes/{id}`     | 200 with that joke, or 404                                    |
//! | `POST /jokes`         | 201 with the new joke and `Location: .../jokes/{id}`          |
//! | `PUT /jokes/{id}`     | 200 with the joke's new texts, or 404                         |
//! | `DELETE /jokes/{id}`  | 204, or 404                                                   |
//!
//! Bodies are `{"setup": "...", "punchline": "..."}` ([`JokeInput`]); anything else is a 4xx
//! that says what to send.
//!
//! [`Store`]: crate::store::Store

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::routes::Server;
use crate::store::{JokeInput, JsonObject, Store};
use crate::{ApiError, AppState, Joke};

/// How many jokes the answering instance holds, on every response.
pub const X_JOKES_STORED: HeaderName = HeaderName::from_static("x-jokes-stored");

/// The answer to every successful `/jokes` request but DELETE's.
#[derive(Debug, Serialize)]
pub struct StoreResponse<'a> {
    pub server: Server<'a>,
    /// When the answer was made, RFC 3339 in UTC.
    pub timestamp: String,
    /// How many jokes this instance holds, after the request.
    pub stored_here: usize,
    pub jokes: Vec<Joke>,
}

/// `GET /jokes`.
pub async fn list(State(state): State<AppState>) -> Response {
    let jokes = state.store.list();
    answer(&state, StatusCode::OK, jokes)
}

/// `GET /jokes/{id}`.
pub async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<u32>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id?;
    let joke = state
        .store
        .get(id)
        .ok_or_else(|| not_found(&state, &headers, id))?;
    Ok(answer(&state, StatusCode::OK, vec![joke]))
}

/// `POST /jokes`: 201 and where the new joke lives.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<JsonObject>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let joke = state
        .store
        .create(JokeInput::from_body(body)?)
        .ok_or(ApiError::StoreFull)?;
    let location = location(&headers, joke.id);
    let mut response = answer(&state, StatusCode::CREATED, vec![joke]);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `PUT /jokes/{id}`: new texts for an existing joke (the client never picks an id).
pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<u32>, PathRejection>,
    body: Result<Json<JsonObject>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id?;
    let Json(body) = body?;
    let joke = state
        .store
        .update(id, JokeInput::from_body(body)?)
        .ok_or_else(|| not_found(&state, &headers, id))?;
    Ok(answer(&state, StatusCode::OK, vec![joke]))
}

/// `DELETE /jokes/{id}`: 204, no body.
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<u32>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id?;
    if state.store.delete(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&state, &headers, id))
    }
}

/// Middleware: `X-Jokes-Stored` on every response, errors and 204s included.
pub async fn stored_header(
    State(store): State<std::sync::Arc<Store>>,
    mut response: Response,
) -> Response {
    response
        .headers_mut()
        .insert(X_JOKES_STORED, HeaderValue::from(store.len()));
    response
}

fn not_found(state: &AppState, headers: &HeaderMap, id: u32) -> ApiError {
    ApiError::NoSuchJoke {
        id,
        server: state.instance.id().to_owned(),
        stored: state.store.len(),
        list: format!("{}/jokes", prefix(headers)),
    }
}

/// The new joke's path as the client sees it: behind a proxy that stripped `/api`, it is
/// `/api/jokes/{id}`.
fn location(headers: &HeaderMap, id: u32) -> String {
    format!("{}/jokes/{id}", prefix(headers))
}

/// What a proxy stripped from the path before us (it says so in `X-Forwarded-Prefix`), without
/// its trailing slash; empty when nothing was, or when the header is not a plain path.
fn prefix(headers: &HeaderMap) -> &str {
    headers
        .get("x-forwarded-prefix")
        .and_then(|v| v.to_str().ok())
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| is_plain_path(p))
        .unwrap_or("")
}

/// `/api`, `/api/v1`: a path we may put in front of ours, nothing that would send the client
/// to another site (`//evil.example`) or break the header.
fn is_plain_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b))
}

fn answer(state: &AppState, status: StatusCode, jokes: Vec<Joke>) -> Response {
    let body = StoreResponse {
        server: Server {
            id: state.instance.id(),
            hostname: state.instance.hostname(),
        },
        timestamp: lab_common::time::rfc3339(std::time::SystemTime::now()),
        stored_here: state.store.len(),
        jokes,
    };
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_prefix(prefix: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-prefix", HeaderValue::from_str(prefix).unwrap());
        headers
    }

    #[test]
    fn location_follows_the_stripped_prefix() {
        assert_eq!(location(&HeaderMap::new(), 7), "/jokes/7");
        assert_eq!(location(&with_prefix("/api"), 7), "/api/jokes/7");
        assert_eq!(
            location(&with_prefix("/api/jokes/"), 7),
            "/api/jokes/jokes/7"
        );
    }

    #[test]
    fn location_ignores_a_prefix_that_is_not_a_plain_path() {
        for bad in [
            "//evil.example",
            "https://evil.example",
            "api",
            "/a b",
            "/a?x",
        ] {
            assert_eq!(location(&with_prefix(bad), 7), "/jokes/7", "{bad}");
        }
    }
}
