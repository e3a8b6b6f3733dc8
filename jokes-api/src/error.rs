//! The API's errors: each one a status and a JSON body that says what to do next, never a
//! panic and never an empty page. axum's own rejections (a query that does not parse, a path
//! parameter that is not a number, a body that is not the JSON we want) are turned into these,
//! so every error looks the same:
//!
//! ```json
//! {"status": 400, "error": "Bad Request", "message": "count must be between 0 and 10, got 99"}
//! ```

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::store::{MAX_JOKES, MAX_TEXT};
use crate::{MAX_BODY, MAX_COUNT};

/// What a joke's body looks like, for the messages that ask for one.
const BODY_SHAPE: &str = r#"{"setup": "...", "punchline": "..."}"#;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad query string ({0}); try /?count=3")]
    BadQuery(String),
    #[error("count must be between 0 and {MAX_COUNT}, got {0}")]
    CountOutOfRange(usize),
    #[error("bad joke id ({0}); ids are whole numbers, try /jokes/1")]
    BadJokeId(String),
    /// Says which instance was asked and what it holds: the joke may well exist on another one.
    #[error(
        "there is no joke {id} on server {server}, which holds {stored} jokes (GET {list} lists \
         them). Each instance keeps its own jokes in memory: a joke created on another instance \
         is not here. Send the proxy's sticky cookie back (curl -b/-c cookies.txt) to stay on \
         the instance that has it"
    )]
    NoSuchJoke {
        id: u32,
        server: String,
        stored: usize,
        /// The collection's path as the client sees it (`/api/jokes` behind the proxy).
        list: String,
    },
    #[error(
        "the body must be JSON, sent with the header Content-Type: application/json (curl: \
         -H 'Content-Type: application/json' -d '{BODY_SHAPE}')"
    )]
    NotJson,
    #[error("the body is not valid JSON ({0}); send {BODY_SHAPE}")]
    BadJson(String),
    #[error("the body is JSON but not a joke ({0}); send exactly {BODY_SHAPE}, two strings (the id comes from the URL)")]
    NotAJoke(String),
    #[error("the body is larger than {MAX_BODY} bytes; a joke's texts are at most {MAX_TEXT} characters each")]
    BodyTooLarge,
    #[error("cannot read the body ({0}); send {BODY_SHAPE}")]
    BadBody(String),
    #[error("{0} is empty: give the joke a {0} (a string with some text)")]
    EmptyText(&'static str),
    #[error("{field} has {length} characters; at most {MAX_TEXT}: make it shorter")]
    TextTooLong { field: &'static str, length: usize },
    #[error("this server already holds {MAX_JOKES} jokes, its limit: delete some first (DELETE /jokes/{{id}})")]
    StoreFull,
    #[error("nothing here at {0}; try / or /jokes")]
    NoRoute(String),
    #[error("{method} is not allowed on {path}; use {allowed}")]
    MethodNotAllowed {
        method: Method,
        path: String,
        allowed: &'static str,
    },
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadQuery(_)
            | ApiError::CountOutOfRange(_)
            | ApiError::BadJokeId(_)
            | ApiError::BadJson(_)
            | ApiError::BadBody(_) => StatusCode::BAD_REQUEST,
            ApiError::NotAJoke(_) | ApiError::EmptyText(_) | ApiError::TextTooLong { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::StoreFull => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::NoSuchJoke { .. } | ApiError::NoRoute(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = json!({
            "status": status.as_u16(),
            "error": status.canonical_reason().unwrap_or("Error"),
            "message": self.to_string(),
        });
        (status, Json(body)).into_response()
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadQuery(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadJokeId(rejection.body_text())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::NotJson,
            JsonRejection::JsonSyntaxError(e) => ApiError::BadJson(e.body_text()),
            JsonRejection::JsonDataError(e) => ApiError::NotAJoke(e.body_text()),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::BodyTooLarge,
            other => ApiError::BadBody(other.body_text()),
        }
    }
}
