//! `/metrics` in Prometheus format (`--metrics.prometheus=true`): requests by router, service,
//! server and status code, a latency histogram, and each server's health.

use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::observe::Outcome;
use crate::snapshot::Snapshot;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    router: String,
    service: String,
    server: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    router: String,
    service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServerLabels {
    service: String,
    url: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.5, 14))
}

pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    server_up: Family<ServerLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("proxy");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let server_up = Family::<ServerLabels, Gauge>::default();
        registry.register(
            "requests",
            "Requests by router, service, server and status code",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to the response headers, by router and service",
            latency.clone(),
        );
        registry.register(
            "server_up",
            "1 when the server is UP, 0 when DOWN",
            server_up.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            requests,
            latency,
            server_up,
        }
    }

    pub fn observe(&self, o: &Outcome<'_>) {
        self.requests
            .get_or_create(&RequestLabels {
                router: o.router.to_string(),
                service: o.service.to_string(),
                server: o.server.to_string(),
                code: o.status.as_str().to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                router: o.router.to_string(),
                service: o.service.to_string(),
            })
            .observe(o.duration.as_secs_f64());
    }

    /// The text exposition, with server health taken from `snap`.
    pub fn render(&self, snap: &Snapshot) -> String {
        self.server_up.clear();
        for (name, b) in &snap.balancers {
            for s in &b.servers {
                self.server_up
                    .get_or_create(&ServerLabels {
                        service: name.clone(),
                        url: s.url.to_string(),
                    })
                    .set(i64::from(s.is_up()));
            }
        }
        let mut out = String::new();
        let reg = self.registry.lock().expect("metrics registry poisoned");
        let _ = encode(&mut out, &reg);
        out
    }
}
