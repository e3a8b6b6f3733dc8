//! The lab's static web server: the landing page and its assets, from the site compiled into
//! the binary or from a directory, naming the server that answered in every response.
//!
//! | Request          | Answer                                                               |
//! |------------------|----------------------------------------------------------------------|
//! | `GET /whoami`    | who answered and the request as it arrived (lab-common)              |
//! | `GET /healthz`   | `{"status":"ok"}`                                                    |
//! | `GET /anything`  | the file, with `ETag`/`Last-Modified`, 304, `Range`, gzip/br         |
//!
//! The pieces: [`safe_path`] keeps requests inside the root, [`site`] finds the file (bundled
//! or on disk, refusing symbolic links out), [`files`] answers with the right status and
//! headers, using [`conditional`] (ETag, 304) and [`range`] (206, 416).

pub mod conditional;
pub mod content_type;
pub mod files;
pub mod range;
pub mod safe_path;
pub mod site;

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::extract::FromRef;
use axum::routing::get;
use axum::Router;
use lab_common::Instance;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;

pub use site::Site;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub instance: Arc<Instance>,
    pub site: Arc<Site>,
}

impl FromRef<AppState> for Arc<Instance> {
    fn from_ref(state: &AppState) -> Self {
        state.instance.clone()
    }
}

/// The whole server as a router, ready to serve or to drive in tests with `oneshot`.
pub fn app(state: AppState) -> Router {
    let instance = state.instance.clone();
    let router = Router::new()
        .route("/whoami", get(lab_common::whoami::whoami))
        .route("/healthz", get(lab_common::whoami::healthz))
        .fallback(files::serve_file)
        .with_state(state)
        // gzip or brotli, as the client's Accept-Encoding allows; text, JSON and SVG only.
        .layer(CompressionLayer::new());
    lab_common::observe(router, instance)
}

/// Serves the site on `listener` until `shutdown` completes; requests in progress finish.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future + Send + 'static,
) -> io::Result<()> {
    lab_common::serve(listener, app(state), shutdown).await
}
