//! `X-Served-By: <instance id>` on every response, so a client always knows which server
//! answered: pages, assets, JSON, health checks and errors alike (the sticky-session tests
//! check every asset of a page, and a 404 from the wrong server is as telling as a 200).

use axum::http::{HeaderName, HeaderValue};
use tower_http::set_header::SetResponseHeaderLayer;

/// The header's name.
pub const X_SERVED_BY: HeaderName = HeaderName::from_static("x-served-by");

/// A layer that sets `X-Served-By` on every response, replacing any value set further in.
/// An `id` that cannot be a header value (control characters) is sent as `invalid-id`;
/// [`crate::instance_id::check`] keeps such ids out at start-up.
pub fn layer(id: &str) -> SetResponseHeaderLayer<HeaderValue> {
    let value = HeaderValue::from_str(id).unwrap_or(HeaderValue::from_static("invalid-id"));
    SetResponseHeaderLayer::overriding(X_SERVED_BY, value)
}
