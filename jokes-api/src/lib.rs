//! The lab's dynamic server: a JSON API that answers with random jokes and names the server
//! that answered, so that behind a load balancer a student sees round robin at work.
//!
//! | Request              | Answer                                                        |
//! |----------------------|---------------------------------------------------------------|
//! | `GET /`              | one random joke; `?count=N` for N different jokes (0..=10)    |
//! | `GET /jokes/{id}`    | that joke, or 404                                             |
//! | `GET /whoami`        | who answered and the request as it arrived (lab-common)       |
//! | `GET /healthz`       | `{"status":"ok"}`                                             |
//!
//! Jokes come as `{"server": {"id", "hostname"}, "timestamp", "jokes": [{"id", "setup",
//! "punchline"}]}`; errors as `{"status", "error", "message"}` with the matching status code.
//! Every response carries `X-Served-By`. With a CORS origin set, browsers on that origin may
//! call the API directly (the lab's same-origin lesson); without, only through the proxy.

pub mod catalog;
pub mod error;
pub mod routes;

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::{HeaderValue, Method};
use axum::routing::get;
use axum::Router;
use lab_common::{served_by::X_SERVED_BY, Instance};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use catalog::{Catalog, Joke};
pub use error::ApiError;

/// The most jokes one request may ask for.
pub const MAX_COUNT: usize = 10;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub instance: Arc<Instance>,
    pub catalog: Arc<Catalog>,
    /// Who may call the API from another origin: `None` (same origin only), `*`, or one origin.
    pub cors_origin: Option<HeaderValue>,
}

impl FromRef<AppState> for Arc<Instance> {
    fn from_ref(state: &AppState) -> Self {
        state.instance.clone()
    }
}

/// The whole API as a router, ready to serve or to drive in tests with `oneshot`.
pub fn app(state: AppState) -> Router {
    let cors = state.cors_origin.clone().map(cors_layer);
    let instance = state.instance.clone();
    let router = Router::new()
        .route("/", get(routes::random_jokes))
        .route("/jokes/{id}", get(routes::joke_by_id))
        .route("/whoami", get(lab_common::whoami::whoami))
        .route("/healthz", get(lab_common::whoami::healthz))
        .fallback(routes::no_route)
        // After the routes: replaces axum's empty 405 on each of them.
        .method_not_allowed_fallback(routes::method_not_allowed)
        .with_state(state);
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    lab_common::observe(router, instance)
}

/// Cross-origin access for `origin` (`*` for any): GET and HEAD only, and `X-Served-By` made
/// readable by the calling page's JavaScript (browsers hide non-standard headers otherwise).
fn cors_layer(origin: HeaderValue) -> CorsLayer {
    let allow = if origin == "*" {
        AllowOrigin::any()
    } else {
        AllowOrigin::exact(origin)
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::HEAD])
        .expose_headers([X_SERVED_BY])
}

/// Serves the API on `listener` until `shutdown` completes; requests in progress finish.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future + Send + 'static,
) -> io::Result<()> {
    lab_common::serve(listener, app(state), shutdown).await
}
