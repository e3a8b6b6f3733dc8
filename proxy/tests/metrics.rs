//! `/metrics` of the real binary under Traefik's names: after routed requests, every metric
//! and label name is one Traefik documents, the values count what was sent, and the fast path
//! and hyper's path (`PROXY_FAST_PATH=0`) record the same.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::{http1, Running};

/// Traefik's Prometheus metrics and their labels (v3), as listed on
/// <https://doc.traefik.io/traefik/observability/metrics/overview/> ("Global Metrics",
/// "EntryPoint Metrics", "Router Metrics", "Service Metrics", Prometheus tab; the label
/// columns of its tables). Histograms add `le` to their `_bucket` samples.
const TRAEFIK: &[(&str, &[&str])] = &[
    ("traefik_config_reloads_total", &[]),
    ("traefik_config_last_reload_success", &[]),
    ("traefik_open_connections", &["entrypoint", "protocol"]),
    ("traefik_tls_certs_not_after", &["cn", "sans", "serial"]),
    (
        "traefik_entrypoint_requests_total",
        &["code", "method", "protocol", "entrypoint"],
    ),
    (
        "traefik_entrypoint_requests_tls_total",
        &["tls_version", "tls_cipher", "entrypoint"],
    ),
    (
        "traefik_entrypoint_request_duration_seconds",
        &["code", "method", "protocol", "entrypoint"],
    ),
    (
        "traefik_entrypoint_requests_bytes_total",
        &["code", "method", "protocol", "entrypoint"],
    ),
    (
        "traefik_entrypoint_responses_bytes_total",
        &["code", "method", "protocol", "entrypoint"],
    ),
    (
        "traefik_router_requests_total",
        &["code", "method", "protocol", "router", "service"],
    ),
    (
        "traefik_router_requests_tls_total",
        &["tls_version", "tls_cipher", "router", "service"],
    ),
    (
        "traefik_router_request_duration_seconds",
        &["code", "method", "protocol", "router", "service"],
    ),
    (
        "traefik_router_requests_bytes_total",
        &["code", "method", "protocol", "router", "service"],
    ),
    (
        "traefik_router_responses_bytes_total",
        &["code", "method", "protocol", "router", "service"],
    ),
    (
        "traefik_service_requests_total",
        &["code", "method", "protocol", "service"],
    ),
    (
        "traefik_service_requests_tls_total",
        &["tls_version", "tls_cipher", "service"],
    ),
    (
        "traefik_service_request_duration_seconds",
        &["code", "method", "protocol", "service"],
    ),
    ("traefik_service_retries_total", &["service"]),
    ("traefik_service_server_up", &["service", "url"]),
    (
        "traefik_service_requests_bytes_total",
        &["code", "method", "protocol", "service"],
    ),
    (
        "traefik_service_responses_bytes_total",
        &["code", "method", "protocol", "service"],
    ),
];

/// Documented metrics the proxy does not export, and why.
const NOT_EXPORTED: &[(&str, &str)] = &[
    ("traefik_tls_certs_not_after", "no TLS yet"),
    ("traefik_entrypoint_requests_tls_total", "no TLS yet"),
    ("traefik_router_requests_tls_total", "no TLS yet"),
    ("traefik_service_requests_tls_total", "no TLS yet"),
];

/// Ours, beside Traefik's (not in its list): requests by the server that answered.
const OURS: &[(&str, &[&str])] = &[(
    "proxy_requests_total",
    &["code", "router", "server", "service"],
)];

/// A keep-alive HTTP/1.1 backend on loopback answering every request `200` with its name.
fn backend(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let mut req = Vec::new();
                let mut buf = [0u8; 2048];
                loop {
                    while let Some(end) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                        req.drain(..end + 4);
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{name}",
                            name.len()
                        );
                        if s.write_all(resp.as_bytes()).is_err() {
                            return;
                        }
                    }
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
            });
        }
    });
    addr
}

/// One HTTP/1.1 request (the kind the fast path takes); returns the status code.
fn request(addr: &str, method: &str, host: &str, extra: &str) -> u16 {
    let request =
        format!("{method} /x HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n");
    http1::exchange(addr, request.as_bytes()).status
}

fn scrape(api: &str) -> String {
    let r = http1::exchange(api, b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.header("content-type").is_some_and(|v| v
            .to_ascii_lowercase()
            .starts_with("application/openmetrics-text; version=1.0.0")),
        "{r:?}"
    );
    r.text()
}

/// A sample: its metric name and labels, and its value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the text exposition's samples (label values here hold no escaped quotes).
fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect(l);
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.strip_suffix('}').expect(l)),
                None => (series, ""),
            };
            let mut map = BTreeMap::new();
            let mut rest = labels;
            while !rest.is_empty() {
                let (k, r) = rest.split_once("=\"").expect(l);
                let (v, r) = r.split_once('"').expect(l);
                map.insert(k.to_string(), v.to_string());
                rest = r.strip_prefix(',').unwrap_or(r);
            }
            (name.to_string(), map, value.parse().expect(l))
        })
        .collect()
}

/// The metric a sample belongs to (histograms' samples end in `_bucket`, `_sum`, `_count`).
fn metric_of(name: &str) -> &str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if base.ends_with("_duration_seconds") {
                return base;
            }
        }
    }
    name
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && l.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.2)
}

/// Runs the binary (fast path on or off), sends the same requests, returns the scrape.
fn run(fast_path: bool, servers: &[SocketAddr]) -> String {
    let dir =
        std::env::temp_dir().join(format!("proxy-metrics-{}-{fast_path}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dynamic.yml");
    let urls: String = servers
        .iter()
        .map(|a| format!("          - url: \"http://{a}\"\n"))
        .collect();
    std::fs::write(
        &file,
        format!(
            "http:\n  routers:\n    app:\n      rule: \"Host(`app.localhost`)\"\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers:\n{urls}"
        ),
    )
    .unwrap();
    let mut child = Running::start(
        Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args([
                "--entrypoints.web.address=127.0.0.1:0",
                "--entrypoints.traefik.address=127.0.0.1:0",
                "--metrics.prometheus=true",
                &format!("--providers.file.filename={}", file.display()),
            ])
            .env("PROXY_FAST_PATH", if fast_path { "1" } else { "0" })
            .env_remove("RUST_LOG")
            .stderr(Stdio::null()),
    );
    let addrs: BTreeMap<String, String> = child
        .entrypoints(&["web", "traefik"])
        .into_iter()
        .map(|(name, l)| (name, l.addr.to_string()))
        .collect();
    let (web, api) = (&addrs["web"], &addrs["traefik"]);
    // The file's configuration is applied once its service shows in the scrape.
    let start = Instant::now();
    while !scrape(api).contains("traefik_service_server_up{service=\"app@file\"") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "configuration never applied"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    for _ in 0..6 {
        assert_eq!(request(web, "GET", "app.localhost", ""), 200);
    }
    assert_eq!(
        request(web, "POST", "app.localhost", "Content-Length: 0\r\n"),
        200
    );
    assert_eq!(
        request(web, "GET", "app.localhost", "Accept: text/event-stream\r\n"),
        200
    );
    assert_eq!(request(web, "GET", "nowhere.localhost", ""), 404);
    let text = scrape(api);
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
    text
}

#[test]
fn metrics_have_traefiks_names_and_labels_and_count_on_both_paths() {
    let a = backend("a");
    let b = backend("b");
    // A server that refuses connections: each request that picks it is retried elsewhere.
    let down = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let servers = [a, b, down];
    let fast = run(true, &servers);
    let slow = run(false, &servers);

    for text in [&fast, &slow] {
        let all = samples(text);
        // Names and label names: Traefik's, or ours.
        let documented: BTreeMap<&str, BTreeSet<&str>> = TRAEFIK
            .iter()
            .chain(OURS)
            .map(|(n, l)| (*n, l.iter().copied().collect()))
            .collect();
        let mut exported = BTreeSet::new();
        for (name, labels, _) in &all {
            let metric = metric_of(name);
            exported.insert(metric.to_string());
            let expected = documented
                .get(metric)
                .unwrap_or_else(|| panic!("{metric} is not in Traefik's list (nor ours)"));
            let mut got: BTreeSet<&str> = labels.keys().map(String::as_str).collect();
            if name.ends_with("_bucket") {
                assert!(got.remove("le"), "{name} without le");
            }
            assert_eq!(&got, expected, "labels of {name}");
        }
        for (name, _) in TRAEFIK {
            let skipped = NOT_EXPORTED.iter().any(|(n, _)| n == name);
            assert_eq!(
                exported.contains(*name),
                !skipped,
                "{name}: exported and documented as not exported, or missing\n{text}"
            );
        }
        // OpenMetrics names a counter's family without the `_total` of its samples.
        for (kind, name) in [
            ("counter", "traefik_service_requests"),
            ("histogram", "traefik_service_request_duration_seconds"),
            ("gauge", "traefik_service_server_up"),
            ("gauge", "traefik_open_connections"),
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} {kind}\n")),
                "{name}\n{text}"
            );
        }

        // Values count what was sent.
        let svc = |method: &str, protocol: &str| {
            value(
                &all,
                "traefik_service_requests_total",
                &[
                    ("code", "200"),
                    ("method", method),
                    ("protocol", protocol),
                    ("service", "app@file"),
                ],
            )
        };
        assert_eq!(svc("GET", "http"), Some(6.0), "{text}");
        assert_eq!(svc("POST", "http"), Some(1.0), "{text}");
        assert_eq!(svc("GET", "sse"), Some(1.0), "{text}");
        let router = &[
            ("code", "200"),
            ("method", "GET"),
            ("protocol", "http"),
            ("router", "app@file"),
            ("service", "app@file"),
        ];
        assert_eq!(
            value(&all, "traefik_router_requests_total", router),
            Some(6.0)
        );
        let ep = |code: &str| {
            value(
                &all,
                "traefik_entrypoint_requests_total",
                &[
                    ("code", code),
                    ("entrypoint", "web"),
                    ("method", "GET"),
                    ("protocol", "http"),
                ],
            )
        };
        assert_eq!(ep("200"), Some(6.0), "{text}");
        assert_eq!(ep("404"), Some(1.0), "{text}");
        let count = &[
            ("code", "200"),
            ("method", "GET"),
            ("protocol", "http"),
            ("service", "app@file"),
        ];
        assert_eq!(
            value(
                &all,
                "traefik_service_request_duration_seconds_count",
                count
            ),
            Some(6.0)
        );
        let inf = &[
            ("code", "200"),
            ("method", "GET"),
            ("protocol", "http"),
            ("service", "app@file"),
            ("le", "+Inf"),
        ];
        assert_eq!(
            value(&all, "traefik_service_request_duration_seconds_bucket", inf),
            Some(6.0)
        );
        // The refused server was tried once, then marked down: one retry.
        assert_eq!(
            value(
                &all,
                "traefik_service_retries_total",
                &[("service", "app@file")]
            ),
            Some(1.0),
            "{text}"
        );
        let up = |addr: SocketAddr| {
            value(
                &all,
                "traefik_service_server_up",
                &[("service", "app@file"), ("url", &format!("http://{addr}"))],
            )
        };
        assert_eq!(
            (up(a), up(b), up(down)),
            (Some(1.0), Some(1.0), Some(0.0)),
            "{text}"
        );
        let reloads = value(&all, "traefik_config_reloads_total", &[]).unwrap();
        assert!(reloads >= 1.0, "{text}");
        let last = value(&all, "traefik_config_last_reload_success", &[]).unwrap();
        assert!(last > 1.6e9, "a Unix time: {last}");
        let open = value(
            &all,
            "traefik_open_connections",
            &[("entrypoint", "web"), ("protocol", "TCP")],
        );
        assert!(open.is_some(), "{text}");
        // Ours: the 8 routed requests by the server that answered (round robin over two).
        let by_server: f64 = all
            .iter()
            .filter(|(n, l, _)| n == "proxy_requests_total" && l["code"] == "200")
            .map(|s| s.2)
            .sum();
        assert_eq!(by_server, 8.0, "{text}");
        // Bodies: each backend answers one byte (`a` or `b`); the 404 is the proxy's own.
        let bytes = |name: &str, code: &str| {
            value(
                &all,
                name,
                &[
                    ("code", code),
                    ("entrypoint", "web"),
                    ("method", "GET"),
                    ("protocol", "http"),
                ],
            )
        };
        assert_eq!(
            bytes("traefik_entrypoint_responses_bytes_total", "200"),
            Some(6.0),
            "{text}"
        );
        assert_eq!(
            bytes("traefik_entrypoint_responses_bytes_total", "404"),
            Some(19.0),
            "{text}"
        );
        assert_eq!(
            bytes("traefik_entrypoint_requests_bytes_total", "200"),
            Some(0.0),
            "{text}"
        );
    }

    // Both data paths record the same requests.
    let counters = |text: &str| -> Vec<Sample> {
        let mut v: Vec<Sample> = samples(text)
            .into_iter()
            .filter(|(n, _, _)| {
                [
                    "_requests_total",
                    "_retries_total",
                    "_bytes_total",
                    "_count",
                ]
                .iter()
                .any(|s| n.ends_with(s))
            })
            .collect();
        v.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
        v
    };
    assert_eq!(counters(&fast), counters(&slow));
}
