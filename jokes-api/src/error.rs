//! The API's errors: each one a status and a JSON body that says what to do next, never a
//! panic and never an empty page. axum's own rejections (a query that does not parse, a path
//! parameter that is not a number) are turned into these, so every error looks the same:
//!
//! ```json
//! {"status": 400, "error": "Bad Request", "message": "count must be between 0 and 10, got 99"}
//! ```

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::MAX_COUNT;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad query string ({0}); try /?count=3")]
    BadQuery(String),
    #[error("count must be between 0 and {MAX_COUNT}, got {0}")]
    CountOutOfRange(usize),
    #[error("bad joke id ({0}); ids are whole numbers, try /jokes/1")]
    BadJokeId(String),
    #[error("there is no joke {0}; ask / for a random one")]
    NoSuchJoke(u32),
    #[error("nothing here at {0}; try / or /jokes/1")]
    NoRoute(String),
    #[error("{method} is not allowed on {path}; use GET")]
    MethodNotAllowed { method: Method, path: String },
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadQuery(_) | ApiError::CountOutOfRange(_) | ApiError::BadJokeId(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::NoSuchJoke(_) | ApiError::NoRoute(_) => StatusCode::NOT_FOUND,
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
