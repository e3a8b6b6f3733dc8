//! What the lab's two servers (`static-server` and `jokes-api`) share, so it is written once.
//!
//! - [`instance_id`]: which server am I? (the container id, like `docker ps` shows it)
//! - [`Instance`]: that id plus what `/whoami` reports (hostname, start time, request count)
//! - [`shutdown`]: stop at once on SIGTERM/SIGINT, letting in-flight requests finish
//! - [`logging`]: `tracing` set up from `RUST_LOG`; [`access_log`] writes one line per request
//! - [`served_by`]: the `X-Served-By` header on every response, errors included
//! - [`whoami`]: the `/whoami` JSON and `/healthz`
//! - [`serve()`]: runs a router on a listener until shutdown, with both socket addresses known
//!
//! A service plugs them together like this (`static-server` and `jokes-api` do exactly this):
//! ```no_run
//! use std::sync::Arc;
//! use axum::{routing::get, Router};
//! use lab_common::{Instance, InstanceId};
//!
//! # async fn example() -> std::io::Result<()> {
//! let instance = Arc::new(Instance::new("hello", InstanceId::detect(None)));
//! let app = Router::new().route("/", get(|| async { "hello" }));
//! let app = lab_common::observe(app, instance);
//! let shutdown = lab_common::shutdown::signal()?; // before announcing the address
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("listening on http://{}", listener.local_addr()?);
//! lab_common::serve(listener, app, shutdown).await
//! # }
//! ```

pub mod access_log;
pub mod instance;
pub mod instance_id;
pub mod logging;
pub mod net;
pub mod serve;
pub mod served_by;
pub mod shutdown;
pub mod time;
pub mod whoami;

pub use instance::Instance;
pub use instance_id::{InstanceId, Source};
pub use serve::{serve, Connection};

use std::sync::Arc;

use axum::Router;

/// Adds what every lab server does on every request: count and log it (one line), and name
/// the server in `X-Served-By`. Call it last, so it wraps every route and the fallback.
pub fn observe(router: Router, instance: Arc<Instance>) -> Router {
    router
        .layer(axum::middleware::from_fn_with_state(
            instance.clone(),
            access_log::log_request,
        ))
        .layer(served_by::layer(instance.id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn observe_names_the_server_on_every_response_and_counts_requests() {
        let instance = Arc::new(Instance::new("test", InstanceId::detect(Some("obs-1"))));
        let app = observe(
            Router::new().route("/", get(|| async { "hi" })),
            instance.clone(),
        );
        for (method, uri, status) in [
            ("GET", "/", StatusCode::OK),
            ("GET", "/missing", StatusCode::NOT_FOUND),
            ("POST", "/", StatusCode::METHOD_NOT_ALLOWED),
        ] {
            let request = Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty());
            let response = app.clone().oneshot(request.unwrap()).await.unwrap();
            assert_eq!(response.status(), status, "{method} {uri}");
            assert_eq!(response.headers()["x-served-by"], "obs-1", "{method} {uri}");
        }
        assert_eq!(instance.requests_served(), 3);
    }
}
