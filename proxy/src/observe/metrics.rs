//! `/metrics` in OpenMetrics' text format (`--metrics.prometheus=true`), under Traefik's names
//! and labels, so that Prometheus queries and Grafana dashboards written for Traefik work
//! against the lab (Traefik's list: <https://doc.traefik.io/traefik/observability/metrics/overview/>).
//!
//! - `traefik_{entrypoint,router,service}_requests_total`,
//!   `traefik_{entrypoint,router,service}_request_duration_seconds` (Traefik's default buckets
//!   0.1, 0.3, 1.2, 5 s; the time to the response head), and
//!   `traefik_{entrypoint,router,service}_{requests,responses}_bytes_total` (bodies as their
//!   `Content-Length` declares them), labelled `code`, `method`, `protocol` and the entrypoint,
//!   router (with its service) or service;
//! - `traefik_service_retries_total{service}`, `traefik_service_server_up{service,url}`;
//! - `traefik_config_reloads_total`, `traefik_config_last_reload_success` (Unix seconds);
//! - `traefik_open_connections{entrypoint,protocol="TCP"}`;
//! - ours, not Traefik's: `proxy_requests_total{code,router,server,service}`, requests by the
//!   server that answered (Traefik counts per service only).
//!
//! Cheap on the data path: a request is recorded once, in one *series* (its entrypoint,
//! router, service, server, code, method and protocol), found by a hash of those labels in a
//! sorted list under a read lock, then a few atomic additions. The entrypoint, router and
//! service families are sums over series, computed when `/metrics` is scraped, and written by
//! `prometheus-client` (a [`Collector`] over the scrape's snapshot).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use http::Method;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, LabelValueEncoder, MetricEncoder,
    NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::Outcome;
pub use super::Protocol;
use crate::balance::Balancer;
use crate::snapshot::Snapshot;

/// Traefik's default buckets for its duration histograms (`--metrics.prometheus.buckets`).
pub const BUCKETS: [f64; 4] = [0.1, 0.3, 1.2, 5.0];

/// Traefik's `method` label: the method for the common ones, `EXTENSION_METHOD` for others
/// (so a client cannot make the list of series grow without end).
pub fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ if m.as_str() == "PRI" => "PRI",
        _ => "EXTENSION_METHOD",
    }
}

/// The labels of one series. The router, service and server are empty when no router matched
/// (the request then counts for its entrypoint only, as in Traefik).
#[derive(Debug)]
struct Labels {
    entrypoint: String,
    router: String,
    service: String,
    server: String,
    code: u16,
    method: &'static str,
    protocol: Protocol,
}

/// Counts of one series.
struct Series {
    hash: u64,
    labels: Labels,
    requests: AtomicU64,
    /// Requests whose duration fell in each bucket (not cumulative; [`BUCKETS`]' bounds, then
    /// above the last).
    buckets: [AtomicU64; BUCKETS.len() + 1],
    duration_nanos: AtomicU64,
    retries: AtomicU64,
    request_bytes: AtomicU64,
    response_bytes: AtomicU64,
}

/// FNV-1a over the labels: short, and good enough to spread a few hundred series (equal
/// hashes are told apart by comparing the labels).
fn hash(o: &Outcome<'_>, code: u16, method: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        h = (h ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    };
    eat(o.entrypoint.as_bytes());
    eat(o.router.as_bytes());
    eat(o.service.as_bytes());
    eat(o.server.as_bytes());
    eat(&code.to_le_bytes());
    eat(method.as_bytes());
    eat(&[o.protocol as u8]);
    h
}

impl Series {
    fn matches(&self, o: &Outcome<'_>, code: u16, method: &str) -> bool {
        let l = &self.labels;
        l.code == code
            && l.method == method
            && l.protocol == o.protocol
            && l.server == o.server
            && l.service == o.service
            && l.router == o.router
            && l.entrypoint == o.entrypoint
    }

    fn observe(&self, o: &Outcome<'_>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let duration = o.duration;
        let secs = duration.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.duration_nanos.fetch_add(nanos, Ordering::Relaxed);
        if o.retries > 0 {
            self.retries
                .fetch_add(u64::from(o.retries), Ordering::Relaxed);
        }
        if o.request_bytes > 0 {
            self.request_bytes
                .fetch_add(o.request_bytes, Ordering::Relaxed);
        }
        // A response to HEAD has no body, whatever its Content-Length says.
        if o.response_bytes > 0 && *o.method != Method::HEAD {
            self.response_bytes
                .fetch_add(o.response_bytes, Ordering::Relaxed);
        }
    }
}

/// One entrypoint's open connections; dropping it closes the connection in the count.
pub struct OpenConnection(Arc<AtomicI64>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts one connection on an entrypoint's gauge (from [`Metrics::open_connections`]) until
/// the guard is dropped.
pub fn open(gauge: &Arc<AtomicI64>) -> OpenConnection {
    gauge.fetch_add(1, Ordering::Relaxed);
    OpenConnection(gauge.clone())
}

/// The proxy's metrics. [`Metrics::observe`] runs on the data path; [`Metrics::render`] when
/// `/metrics` is scraped.
#[derive(Default)]
pub struct Metrics {
    /// Every series seen, sorted by hash.
    series: RwLock<Vec<Arc<Series>>>,
    open: Mutex<BTreeMap<String, Arc<AtomicI64>>>,
    reloads: AtomicU64,
    last_reload_success: AtomicU64,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a finished request.
    pub fn observe(&self, o: &Outcome<'_>) {
        let code = o.status.as_u16();
        let method = method_label(o.method);
        let h = hash(o, code, method);
        let find = |list: &[Arc<Series>]| -> Result<Arc<Series>, usize> {
            let start = list.partition_point(|s| s.hash < h);
            list[start..]
                .iter()
                .take_while(|s| s.hash == h)
                .find(|s| s.matches(o, code, method))
                .cloned()
                .ok_or(start)
        };
        let found = find(&self.series.read().expect("metrics poisoned"));
        let series = match found {
            Ok(s) => s,
            Err(_) => {
                let mut list = self.series.write().expect("metrics poisoned");
                // Another request may have added it meanwhile.
                match find(&list) {
                    Ok(s) => s,
                    Err(at) => {
                        let s = Arc::new(Series {
                            hash: h,
                            labels: Labels {
                                entrypoint: o.entrypoint.to_string(),
                                router: o.router.to_string(),
                                service: o.service.to_string(),
                                server: o.server.to_string(),
                                code,
                                method,
                                protocol: o.protocol,
                            },
                            requests: AtomicU64::new(0),
                            buckets: Default::default(),
                            duration_nanos: AtomicU64::new(0),
                            retries: AtomicU64::new(0),
                            request_bytes: AtomicU64::new(0),
                            response_bytes: AtomicU64::new(0),
                        });
                        list.insert(at, s.clone());
                        s
                    }
                }
            }
        };
        series.observe(o);
    }

    /// The gauge of connections open on `entrypoint`: an accept loop takes it once, then
    /// [`open`] counts each connection until its guard drops.
    pub fn open_connections(&self, entrypoint: &str) -> Arc<AtomicI64> {
        self.open
            .lock()
            .expect("metrics poisoned")
            .entry(entrypoint.to_string())
            .or_default()
            .clone()
    }

    /// A configuration was applied.
    pub fn config_reloaded(&self, at: SystemTime) {
        self.reloads.fetch_add(1, Ordering::Relaxed);
        let secs = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        self.last_reload_success.store(secs, Ordering::Relaxed);
    }

    /// The exposition in OpenMetrics' text format (which Prometheus reads), with server health
    /// taken from `snap`. The families are summed here, and written by `prometheus-client`.
    pub fn render(&self, snap: &Snapshot) -> String {
        let scrape = Scrape {
            series: self.series.read().expect("metrics poisoned").clone(),
            open: (self.open.lock().expect("metrics poisoned").iter())
                .map(|(ep, n)| (ep.clone(), n.load(Ordering::Relaxed).max(0)))
                .collect(),
            reloads: self.reloads.load(Ordering::Relaxed),
            last_reload_success: self.last_reload_success.load(Ordering::Relaxed),
            balancers: snap.balancers.clone(),
        };
        let mut registry = Registry::default();
        registry.register_collector(Box::new(scrape));
        let mut out = String::with_capacity(4096);
        encode(&mut out, &registry).expect("writing to a String cannot fail");
        out
    }
}

/// What one scrape reads, taken at once; `prometheus-client` encodes it through [`Collector`].
struct Scrape {
    series: Vec<Arc<Series>>,
    open: Vec<(String, i64)>,
    reloads: u64,
    last_reload_success: u64,
    balancers: BTreeMap<String, Arc<Balancer>>,
}

impl fmt::Debug for Scrape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scrape")
            .field("series", &self.series.len())
            .finish_non_exhaustive()
    }
}

impl Collector for Scrape {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> fmt::Result {
        let mut entry: BTreeMap<[&str; 4], Sums> = BTreeMap::new();
        let mut router: BTreeMap<[&str; 5], Sums> = BTreeMap::new();
        let mut service: BTreeMap<[&str; 4], Sums> = BTreeMap::new();
        let mut retries: BTreeMap<&str, u64> = BTreeMap::new();
        let mut per_server: BTreeMap<[&str; 4], u64> = BTreeMap::new();
        let codes: Vec<String> = (self.series.iter())
            .map(|s| s.labels.code.to_string())
            .collect();
        for (s, code) in self.series.iter().zip(&codes) {
            let l = &s.labels;
            let (code, m, p) = (code.as_str(), l.method, l.protocol.as_str());
            let (ep, router_name, service_name, server) = (
                l.entrypoint.as_str(),
                l.router.as_str(),
                l.service.as_str(),
                l.server.as_str(),
            );
            entry.entry([code, ep, m, p]).or_default().add(s);
            if !router_name.is_empty() {
                router
                    .entry([code, m, p, router_name, service_name])
                    .or_default()
                    .add(s);
            }
            if !service_name.is_empty() {
                service
                    .entry([code, m, p, service_name])
                    .or_default()
                    .add(s);
                *retries.entry(service_name).or_default() += s.retries.load(Ordering::Relaxed);
                *per_server
                    .entry([code, router_name, server, service_name])
                    .or_default() += s.requests.load(Ordering::Relaxed);
            }
        }

        // The crate adds `_total` to a counter's samples: counters are named without it.
        enc.encode_descriptor(
            "traefik_config_reloads",
            "Config reloads.",
            None,
            MetricType::Counter,
        )?
        .encode_counter::<NoLabelSet, _, u64>(&self.reloads, None)?;
        enc.encode_descriptor(
            "traefik_config_last_reload_success",
            "Last config reload success (Unix seconds).",
            None,
            MetricType::Gauge,
        )?
        .encode_gauge(&self.last_reload_success)?;
        let mut m = enc.encode_descriptor(
            "traefik_open_connections",
            "How many open connections exist, by entryPoint and protocol.",
            None,
            MetricType::Gauge,
        )?;
        for (ep, n) in &self.open {
            let labels = labels(["entrypoint", "protocol"], [ep, "TCP"]);
            m.encode_family(&labels)?.encode_gauge(n)?;
        }

        family(
            &mut enc,
            "traefik_entrypoint",
            "an entrypoint",
            ["code", "entrypoint", "method", "protocol"],
            &entry,
        )?;
        family(
            &mut enc,
            "traefik_router",
            "a router",
            ["code", "method", "protocol", "router", "service"],
            &router,
        )?;
        family(
            &mut enc,
            "traefik_service",
            "a service",
            ["code", "method", "protocol", "service"],
            &service,
        )?;
        let mut m = enc.encode_descriptor(
            "traefik_service_retries",
            "How many request retries happened on a service.",
            None,
            MetricType::Counter,
        )?;
        for (s, n) in &retries {
            counter(&mut m, &labels(["service"], [s]), *n)?;
        }
        let mut m = enc.encode_descriptor(
            "traefik_service_server_up",
            "Service server is up, described by gauge value of 0 or 1.",
            None,
            MetricType::Gauge,
        )?;
        for (name, b) in &self.balancers {
            for s in &b.servers {
                let labels = labels(["service", "url"], [name, &s.url]);
                m.encode_family(&labels)?
                    .encode_gauge(&u64::from(s.is_up()))?;
            }
        }
        let mut m = enc.encode_descriptor(
            "proxy_requests",
            "Requests by router, service, the server that answered, and status code (ours, not Traefik's).",
            None,
            MetricType::Counter,
        )?;
        for (values, n) in &per_server {
            let labels = labels(["code", "router", "server", "service"], *values);
            counter(&mut m, &labels, *n)?;
        }
        Ok(())
    }
}

/// A histogram and a counter summed over series.
#[derive(Default)]
struct Sums {
    requests: u64,
    buckets: [u64; BUCKETS.len() + 1],
    duration_nanos: u64,
    request_bytes: u64,
    response_bytes: u64,
}

impl Sums {
    fn add(&mut self, s: &Series) {
        self.requests += s.requests.load(Ordering::Relaxed);
        for (sum, b) in self.buckets.iter_mut().zip(&s.buckets) {
            *sum += b.load(Ordering::Relaxed);
        }
        self.duration_nanos += s.duration_nanos.load(Ordering::Relaxed);
        self.request_bytes += s.request_bytes.load(Ordering::Relaxed);
        self.response_bytes += s.response_bytes.load(Ordering::Relaxed);
    }
}

/// A counter of a family: its name's suffix (before the `_total` the crate adds), the start of
/// its help text, its value.
type SumCounter = (&'static str, &'static str, fn(&Sums) -> u64);

/// `{prefix}_requests_total`, `{prefix}_request_duration_seconds`,
/// `{prefix}_requests_bytes_total` and `{prefix}_responses_bytes_total`.
fn family<const N: usize>(
    enc: &mut DescriptorEncoder<'_>,
    prefix: &str,
    what: &str,
    names: [&'static str; N],
    sums: &BTreeMap<[&str; N], Sums>,
) -> fmt::Result {
    let counters: [SumCounter; 3] = [
        ("requests", "How many HTTP requests processed on", |s| {
            s.requests
        }),
        (
            "requests_bytes",
            "The total size of requests in bytes handled by",
            |s| s.request_bytes,
        ),
        (
            "responses_bytes",
            "The total size of responses in bytes handled by",
            |s| s.response_bytes,
        ),
    ];
    let partitioned = "partitioned by status code, protocol, and method.";
    for (suffix, help, get) in counters {
        let name = format!("{prefix}_{suffix}");
        let help = format!("{help} {what}, {partitioned}");
        let mut m = enc.encode_descriptor(&name, &help, None, MetricType::Counter)?;
        for (values, s) in sums {
            counter(&mut m, &labels(names, *values), get(s))?;
        }
    }
    let name = format!("{prefix}_request_duration_seconds");
    let help = format!("How long it took to process the request on {what}, {partitioned}");
    let mut m = enc.encode_descriptor(&name, &help, None, MetricType::Histogram)?;
    for (values, s) in sums {
        // The crate's own `+Inf` bound is `f64::MAX`.
        let bounds = BUCKETS.iter().copied().chain([f64::MAX]);
        let buckets: Vec<(f64, u64)> = bounds.zip(s.buckets).collect();
        m.encode_family(&labels(names, *values))?
            .encode_histogram::<NoLabelSet>(
                s.duration_nanos as f64 / 1e9,
                s.requests,
                &buckets,
                None,
            )?;
    }
    Ok(())
}

/// One sample of a counter with labels.
fn counter(m: &mut MetricEncoder<'_>, labels: &impl EncodeLabelSet, value: u64) -> fmt::Result {
    m.encode_family(labels)?
        .encode_counter::<NoLabelSet, _, u64>(&value, None)
}

/// A label set: names zipped with their values.
fn labels<'a, const N: usize>(
    names: [&'static str; N],
    values: [&'a str; N],
) -> [(&'static str, Escaped<'a>); N] {
    std::array::from_fn(|i| (names[i], Escaped(values[i])))
}

/// A label value escaped as the text format wants (`\\`, `\"`, `\n`): `prometheus-client`
/// 0.23 writes label values as they are, and a server URL or a name from a Docker label could
/// hold a quote.
#[derive(Debug)]
struct Escaped<'a>(&'a str);

impl EncodeLabelValue for Escaped<'_> {
    fn encode(&self, e: &mut LabelValueEncoder<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['\\', '"', '\n']) {
            e.write_str(&rest[..at])?;
            e.write_str(match rest.as_bytes()[at] {
                b'\\' => "\\\\",
                b'"' => "\\\"",
                _ => "\\n",
            })?;
            rest = &rest[at + 1..];
        }
        e.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    fn outcome<'a>(
        method: &'a Method,
        router: &'a str,
        server: &'a str,
        status: u16,
    ) -> Outcome<'a> {
        Outcome {
            client: IpAddr::V4(Ipv4Addr::LOCALHOST),
            host: "h",
            method,
            path: "/",
            entrypoint: "web",
            router,
            service: if router.is_empty() { "" } else { "svc@file" },
            server,
            status: StatusCode::from_u16(status).unwrap(),
            duration: Duration::from_millis(200),
            protocol: Protocol::Http,
            retries: 0,
            request_bytes: 0,
            response_bytes: 3,
        }
    }

    fn line<'a>(text: &'a str, start: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(start))
    }

    #[test]
    fn requests_are_summed_per_entrypoint_router_and_service() {
        let m = Metrics::new();
        let get = Method::GET;
        for server in ["http://a", "http://b", "http://a"] {
            m.observe(&outcome(&get, "r@file", server, 200));
        }
        m.observe(&outcome(&get, "", "", 404));
        let mut retried = outcome(&get, "r@file", "http://b", 502);
        retried.retries = 2;
        m.observe(&retried);
        let text = m.render(&Snapshot::default());
        assert_eq!(
            line(&text, "traefik_entrypoint_requests_total{code=\"200\""),
            Some("traefik_entrypoint_requests_total{code=\"200\",entrypoint=\"web\",method=\"GET\",protocol=\"http\"} 3")
        );
        assert!(text.contains("traefik_entrypoint_requests_total{code=\"404\",entrypoint=\"web\",method=\"GET\",protocol=\"http\"} 1"), "{text}");
        assert!(text.contains("traefik_router_requests_total{code=\"200\",method=\"GET\",protocol=\"http\",router=\"r@file\",service=\"svc@file\"} 3"), "{text}");
        assert!(text.contains("traefik_service_requests_total{code=\"502\",method=\"GET\",protocol=\"http\",service=\"svc@file\"} 1"), "{text}");
        assert!(
            !text.contains("traefik_service_requests_total{code=\"404\""),
            "{text}"
        );
        assert!(
            text.contains("traefik_service_retries_total{service=\"svc@file\"} 2"),
            "{text}"
        );
        assert!(text.contains("traefik_service_responses_bytes_total{code=\"200\",method=\"GET\",protocol=\"http\",service=\"svc@file\"} 9"), "{text}");
        assert!(text.contains("traefik_entrypoint_requests_bytes_total{code=\"200\",entrypoint=\"web\",method=\"GET\",protocol=\"http\"} 0"), "{text}");
        assert!(text.contains("proxy_requests_total{code=\"200\",router=\"r@file\",server=\"http://a\",service=\"svc@file\"} 2"), "{text}");
        // 200 ms: above the 0.1 s bucket, within 0.3 s (the crate writes `le` first).
        assert!(text.contains("traefik_service_request_duration_seconds_bucket{le=\"0.1\",code=\"200\",method=\"GET\",protocol=\"http\",service=\"svc@file\"} 0"), "{text}");
        assert!(text.contains("traefik_service_request_duration_seconds_bucket{le=\"0.3\",code=\"200\",method=\"GET\",protocol=\"http\",service=\"svc@file\"} 3"), "{text}");
        assert!(text.contains("traefik_service_request_duration_seconds_bucket{le=\"+Inf\",code=\"200\",method=\"GET\",protocol=\"http\",service=\"svc@file\"} 3"), "{text}");
        assert!(text.contains("traefik_service_request_duration_seconds_count{code=\"200\",method=\"GET\",protocol=\"http\",service=\"svc@file\"} 3"), "{text}");
        assert!(line(
            &text,
            "traefik_service_request_duration_seconds_sum{code=\"200\""
        )
        .unwrap()
        .ends_with(" 0.6"));
    }

    #[test]
    fn unusual_methods_are_one_label_value() {
        let m = Metrics::new();
        for name in ["FOO", "BAR"] {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            m.observe(&outcome(&method, "", "", 404));
        }
        let text = m.render(&Snapshot::default());
        assert!(
            text.contains("method=\"EXTENSION_METHOD\",protocol=\"http\"} 2"),
            "{text}"
        );
        assert_eq!(method_label(&Method::from_bytes(b"PRI").unwrap()), "PRI");
    }

    #[test]
    fn reloads_and_connections_are_counted() {
        let m = Metrics::new();
        m.config_reloaded(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        m.config_reloaded(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_005));
        let web = m.open_connections("web");
        let a = open(&web);
        let _b = open(&web);
        drop(a);
        let text = m.render(&Snapshot::default());
        assert!(
            text.contains("\ntraefik_config_reloads_total 2\n"),
            "{text}"
        );
        assert!(
            text.contains("\ntraefik_config_last_reload_success 1700000005\n"),
            "{text}"
        );
        assert!(
            text.contains("traefik_open_connections{entrypoint=\"web\",protocol=\"TCP\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn protocol_follows_traefiks_rules() {
        fn opt(s: &str) -> Option<&[u8]> {
            (!s.is_empty()).then_some(s.as_bytes())
        }
        let p = |c: &str, u: &str, a: &str, t: &str| {
            Protocol::of(opt(c), opt(u), opt(a), opt(t)).as_str()
        };
        assert_eq!(p("", "", "*/*", ""), "http");
        assert_eq!(p("keep-alive, Upgrade", "websocket", "", ""), "websocket");
        assert_eq!(p("", "websocket", "", ""), "http");
        assert_eq!(p("", "", "text/html, text/event-stream", ""), "sse");
        assert_eq!(p("", "", "", "application/grpc-web+proto"), "grpc-web");
        assert_eq!(p("", "", "", "application/grpc"), "grpc");
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::new();
        let _open = open(&m.open_connections("a\"b\\c\nd"));
        let text = m.render(&Snapshot::default());
        assert!(
            text.contains("{entrypoint=\"a\\\"b\\\\c\\nd\",protocol=\"TCP\"} 1\n"),
            "{text}"
        );
    }
}
