//! `/metrics` in Prometheus' text format (`--metrics.prometheus=true`), under Traefik's names
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
//! service families are sums over series, computed when `/metrics` is scraped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use http::Method;

use super::Outcome;
pub use super::Protocol;
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

    /// The text exposition, with server health taken from `snap`.
    pub fn render(&self, snap: &Snapshot) -> String {
        let series: Vec<Arc<Series>> = self.series.read().expect("metrics poisoned").clone();
        let mut out = String::with_capacity(4096);

        let mut entry: BTreeMap<[&str; 4], Sums> = BTreeMap::new();
        let mut router: BTreeMap<[&str; 5], Sums> = BTreeMap::new();
        let mut service: BTreeMap<[&str; 4], Sums> = BTreeMap::new();
        let mut retries: BTreeMap<&str, u64> = BTreeMap::new();
        let mut per_server: BTreeMap<[&str; 4], u64> = BTreeMap::new();
        let codes: Vec<String> = series.iter().map(|s| s.labels.code.to_string()).collect();
        for (s, code) in series.iter().zip(&codes) {
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

        header(
            &mut out,
            "traefik_config_reloads_total",
            "counter",
            "Config reloads.",
        );
        sample(
            &mut out,
            "traefik_config_reloads_total",
            &[],
            self.reloads.load(Ordering::Relaxed),
        );
        header(
            &mut out,
            "traefik_config_last_reload_success",
            "gauge",
            "Last config reload success (Unix seconds).",
        );
        sample(
            &mut out,
            "traefik_config_last_reload_success",
            &[],
            self.last_reload_success.load(Ordering::Relaxed),
        );
        header(
            &mut out,
            "traefik_open_connections",
            "gauge",
            "How many open connections exist, by entryPoint and protocol.",
        );
        for (ep, n) in self.open.lock().expect("metrics poisoned").iter() {
            sample(
                &mut out,
                "traefik_open_connections",
                &[("entrypoint", ep), ("protocol", "TCP")],
                n.load(Ordering::Relaxed).max(0),
            );
        }

        family(
            &mut out,
            "traefik_entrypoint",
            "an entrypoint",
            ["code", "entrypoint", "method", "protocol"],
            &entry,
        );
        family(
            &mut out,
            "traefik_router",
            "a router",
            ["code", "method", "protocol", "router", "service"],
            &router,
        );
        family(
            &mut out,
            "traefik_service",
            "a service",
            ["code", "method", "protocol", "service"],
            &service,
        );
        header(
            &mut out,
            "traefik_service_retries_total",
            "counter",
            "How many request retries happened on a service.",
        );
        for (s, n) in &retries {
            sample(
                &mut out,
                "traefik_service_retries_total",
                &[("service", s)],
                *n,
            );
        }
        header(
            &mut out,
            "traefik_service_server_up",
            "gauge",
            "Service server is up, described by gauge value of 0 or 1.",
        );
        for (name, b) in &snap.balancers {
            for s in &b.servers {
                sample(
                    &mut out,
                    "traefik_service_server_up",
                    &[("service", name), ("url", &s.url)],
                    u64::from(s.is_up()),
                );
            }
        }
        header(
            &mut out,
            "proxy_requests_total",
            "counter",
            "Requests by router, service, the server that answered, and status code (ours, not Traefik's).",
        );
        for (k, n) in &per_server {
            let names = ["code", "router", "server", "service"];
            let labels: Vec<(&str, &str)> = names.into_iter().zip(k.iter().copied()).collect();
            sample(&mut out, "proxy_requests_total", &labels, *n);
        }
        out
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

/// A counter of a family: its name's suffix, the start of its help text, its value.
type SumCounter = (&'static str, &'static str, fn(&Sums) -> u64);

/// `{prefix}_requests_total`, `{prefix}_request_duration_seconds`,
/// `{prefix}_requests_bytes_total` and `{prefix}_responses_bytes_total`.
fn family<const N: usize>(
    out: &mut String,
    prefix: &str,
    what: &str,
    names: [&str; N],
    sums: &BTreeMap<[&str; N], Sums>,
) {
    let counters: [SumCounter; 3] = [
        (
            "requests_total",
            "How many HTTP requests processed on",
            |s| s.requests,
        ),
        (
            "requests_bytes_total",
            "The total size of requests in bytes handled by",
            |s| s.request_bytes,
        ),
        (
            "responses_bytes_total",
            "The total size of responses in bytes handled by",
            |s| s.response_bytes,
        ),
    ];
    for (suffix, help, get) in counters {
        let name = format!("{prefix}_{suffix}");
        header(
            out,
            &name,
            "counter",
            &format!("{help} {what}, partitioned by status code, protocol, and method."),
        );
        for (values, s) in sums {
            let labels: Vec<(&str, &str)> =
                names.iter().copied().zip(values.iter().copied()).collect();
            sample(out, &name, &labels, get(s));
        }
    }
    let hist = format!("{prefix}_request_duration_seconds");
    header(out, &hist, "histogram", &format!("How long it took to process the request on {what}, partitioned by status code, protocol, and method."));
    let bucket = format!("{hist}_bucket");
    let les: Vec<String> = BUCKETS
        .iter()
        .map(f64::to_string)
        .chain(["+Inf".to_string()])
        .collect();
    for (values, s) in sums {
        let mut labels: Vec<(&str, &str)> =
            names.iter().copied().zip(values.iter().copied()).collect();
        let mut cumulative = 0;
        for (n, le) in s.buckets.iter().zip(&les) {
            cumulative += n;
            labels.push(("le", le));
            sample(out, &bucket, &labels, cumulative);
            labels.pop();
        }
        let _ = writeln!(
            out,
            "{hist}_sum{} {}",
            label_set(&labels),
            s.duration_nanos as f64 / 1e9
        );
        sample(out, &format!("{hist}_count"), &labels, s.requests);
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    let _ = writeln!(out, "{name}{} {value}", label_set(labels));
}

/// `{a="x",b="y"}` with values escaped as the format wants; empty without labels.
fn label_set(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let mut s = String::from("{");
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(k);
        s.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => s.push_str("\\\\"),
                '"' => s.push_str("\\\""),
                '\n' => s.push_str("\\n"),
                c => s.push(c),
            }
        }
        s.push('"');
    }
    s.push('}');
    s
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
        // 200 ms: above the 0.1 s bucket, within 0.3 s.
        assert!(text.contains("traefik_service_request_duration_seconds_bucket{code=\"200\",method=\"GET\",protocol=\"http\",service=\"svc@file\",le=\"0.1\"} 0"), "{text}");
        assert!(text.contains("traefik_service_request_duration_seconds_bucket{code=\"200\",method=\"GET\",protocol=\"http\",service=\"svc@file\",le=\"0.3\"} 3"), "{text}");
        assert!(text.contains("traefik_service_request_duration_seconds_bucket{code=\"200\",method=\"GET\",protocol=\"http\",service=\"svc@file\",le=\"+Inf\"} 3"), "{text}");
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
        assert_eq!(label_set(&[("a", "x\"y\\z\n")]), "{a=\"x\\\"y\\\\z\\n\"}");
        assert_eq!(label_set(&[]), "");
    }
}
