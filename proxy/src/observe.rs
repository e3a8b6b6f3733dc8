//! What the proxy records about each request: the [`Outcome`], written to the access log
//! (`--accesslog`) and counted by the metrics (`--metrics.prometheus`, see `crate::api::metrics`).
//! Both data paths fill it from the pipeline's decision; `Runtime::record` hands it to both.

use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use http::{Method, StatusCode};

/// What the access log and metrics record about a request.
#[derive(Debug)]
pub struct Outcome<'a> {
    pub client: IpAddr,
    pub host: &'a str,
    pub method: &'a Method,
    pub path: &'a str,
    /// The router that matched (empty: none did).
    pub router: &'a str,
    pub service: &'a str,
    /// The server of the last try (empty: none was tried).
    pub server: &'a str,
    pub status: StatusCode,
    /// Until the response head.
    pub duration: Duration,
}

/// Writes the access log line for `o` to standard output.
pub fn access_log(o: &Outcome<'_>) {
    let line = format!(
        "{} client={} host={:?} method={} path={:?} router={:?} service={:?} server={:?} status={} duration_ms={:.3}\n",
        lab_common::time::rfc3339(SystemTime::now()),
        o.client,
        o.host,
        o.method,
        o.path,
        o.router,
        o.service,
        o.server,
        o.status.as_u16(),
        o.duration.as_secs_f64() * 1000.0
    );
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}
