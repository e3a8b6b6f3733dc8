//! The lab's dynamic server: a JSON API that answers with random jokes and names the server
//! that answered, so that behind a load balancer a student sees round robin at work; and, for
//! the 2023 edition, a CRUD API on each instance's own jokes, so that a student sees why that
//! API must be sticky.
//!
//! | Request                  | Answer                                                     |
//! |--------------------------|------------------------------------------------------------|
//! | `GET /`                  | one random joke; `?count=N` for N different jokes (0..=10) |
//! | `/jokes`, `/jokes/{id}`  | list, create, read, update, delete this instance's jokes ([`crud`]) |
//! | `GET /whoami`            | who answered and the request as it arrived (lab-common)    |
//! | `GET /healthz`           | `{"status":"ok"}`                                          |
//!
//! Jokes come as `{"server": {"id", "hostname"}, "timestamp", "jokes": [{"id", "setup",
//! "punchline"}]}` (with `stored_here` under `/jokes`); errors as `{"status", "error",
//! "message"}` with the matching status code. Every response carries `X-Served-By` and
//! `X-Jokes-Stored` (how many jokes this instance holds). With a CORS origin set, browsers on
//! that origin may call the API directly (the lab's same-origin lesson); without, only through
//! the proxy.

pub mod catalog;
pub mod crud;
pub mod error;
pub mod routes;
pub mod store;

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{header, HeaderValue, Method};
use axum::routing::get;
use axum::Router;
use lab_common::{served_by::X_SERVED_BY, Instance};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use catalog::{Catalog, Joke};
pub use error::ApiError;
pub use store::Store;

/// The most jokes one request may ask for.
pub const MAX_COUNT: usize = 10;

/// The largest request body, in bytes: a joke is two short texts.
pub const MAX_BODY: usize = 4096;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub instance: Arc<Instance>,
    /// The bundled jokes, for `GET /`.
    pub catalog: Arc<Catalog>,
    /// This instance's jokes, for `/jokes`: its own, changed only by requests to it.
    pub store: Arc<Store>,
    /// Who may call the API from another origin: `None` (same origin only), `*`, or one origin.
    pub cors_origin: Option<HeaderValue>,
}

impl AppState {
    /// A fresh instance: its store holds the catalog's jokes.
    pub fn new(
        instance: Arc<Instance>,
        catalog: Catalog,
        cors_origin: Option<HeaderValue>,
    ) -> Self {
        AppState {
            instance,
            store: Arc::new(Store::seeded(&catalog)),
            catalog: Arc::new(catalog),
            cors_origin,
        }
    }
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
    let store = state.store.clone();
    let router = Router::new()
        .route("/", get(routes::random_jokes))
        .route("/jokes", get(crud::list).post(crud::create))
        .route(
            "/jokes/{id}",
            get(crud::read).put(crud::update).delete(crud::delete),
        )
        .route("/whoami", get(lab_common::whoami::whoami))
        .route("/healthz", get(lab_common::whoami::healthz))
        .fallback(routes::no_route)
        // After the routes: replaces axum's empty 405 on each of them.
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response_with_state(
            store,
            crud::stored_header,
        ))
        .with_state(state);
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    lab_common::observe(router, instance)
}

/// Cross-origin access for `origin` (`*` for any): the CRUD methods with a JSON body, and our
/// headers made readable by the calling page's JavaScript (browsers hide non-standard headers
/// otherwise).
fn cors_layer(origin: HeaderValue) -> CorsLayer {
    let allow = if origin == "*" {
        AllowOrigin::any()
    } else {
        AllowOrigin::exact(origin)
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers([header::CONTENT_TYPE])
        .expose_headers([X_SERVED_BY, crud::X_JOKES_STORED, header::LOCATION])
}

/// Serves the API on `listener` until `shutdown` completes; requests in progress finish.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future + Send + 'static,
) -> io::Result<()> {
    lab_common::serve(listener, app(state), shutdown).await
}
