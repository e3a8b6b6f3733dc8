//! The handlers. Each takes axum's extractors as `Result`s, so a bad request becomes our
//! JSON [`ApiError`] (through `?`) instead of axum's plain-text rejection.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::{ApiError, AppState, Joke, MAX_COUNT};

/// The answer to every successful `GET /`.
#[derive(Debug, Serialize)]
pub struct JokesResponse<'a> {
    pub server: Server<'a>,
    /// When the answer was made, RFC 3339 in UTC.
    pub timestamp: String,
    pub jokes: Vec<&'a Joke>,
}

/// Which server answered: the same id as `X-Served-By`.
#[derive(Debug, Serialize)]
pub struct Server<'a> {
    pub id: &'a str,
    pub hostname: &'a str,
}

/// The query string of `GET /`. Unknown parameters (a cache-buster `?t=...`) are ignored.
#[derive(Debug, Deserialize)]
pub struct CountQuery {
    count: Option<usize>,
}

/// `GET /?count=N`: N different random jokes, default 1, from the bundled jokes (the 2021
/// lab's API, whatever this instance's store holds).
pub async fn random_jokes(
    State(state): State<AppState>,
    query: Result<Query<CountQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let count = query.count.unwrap_or(1);
    if count > MAX_COUNT {
        return Err(ApiError::CountOutOfRange(count));
    }
    Ok(answer(&state, state.catalog.random(count)))
}

/// Any path we do not serve.
pub async fn no_route(uri: Uri) -> ApiError {
    ApiError::NoRoute(uri.path().to_owned())
}

/// A known path with a method it does not serve.
pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let allowed = allowed(uri.path());
    let error = ApiError::MethodNotAllowed {
        method,
        path: uri.path().to_owned(),
        allowed,
    };
    ([(header::ALLOW, HeaderValue::from_static(allowed))], error).into_response()
}

/// The methods a path serves, as `app()` routes them: the collection takes POST, one joke PUT
/// and DELETE, everything else only reads.
fn allowed(path: &str) -> &'static str {
    if path == "/jokes" {
        "GET, HEAD, POST"
    } else if path.starts_with("/jokes/") {
        "GET, HEAD, PUT, DELETE"
    } else {
        "GET, HEAD"
    }
}

/// Jokes as JSON, never cached: each request must reach a server, or round robin is invisible.
fn answer(state: &AppState, jokes: Vec<&Joke>) -> Response {
    let body = JokesResponse {
        server: Server {
            id: state.instance.id(),
            hostname: state.instance.hostname(),
        },
        timestamp: lab_common::time::rfc3339(std::time::SystemTime::now()),
        jokes,
    };
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(body),
    )
        .into_response()
}
