//! The bodies of the fuzz targets: one function per parser, taking arbitrary bytes.
//!
//! Why they live in the library: the cargo-fuzz binaries (`fuzz/fuzz_targets/`, nightly) and
//! the stable fallback below (`cargo test -p proxy --release fuzz_ -- --ignored`, used by
//! `scripts/fuzz.sh` where cargo-fuzz is missing) run exactly the same code. Each function
//! drives one parser through everything a real input reaches (parse, validate, merge, match)
//! and asserts the invariants that must hold whatever the input. A panic is a bug: add the
//! input as a regression unit test beside the parser.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use http::HeaderValue;

use crate::balance::sticky::{self, CookieSettings};
use crate::balance::{Balancer, Pick, ServerState};
use crate::config::labels;
use crate::config::merge::merge;
use crate::config::model::{ProviderConfig, Server, StickyCookie};
use crate::config::rule::{Headers, RequestInfo, Rule, RuleSyntax};
use crate::config::validate;
use crate::dataplane::body_length::BadFraming;
use crate::dataplane::chunked::Chunked;
use crate::dataplane::framing::Framing;
use crate::dataplane::h1::{head, request, response};
use crate::dataplane::header_policy::Forward;
use crate::limits::{FAST_PATH_HEADERS, MAX_REQUEST_HEAD};
use crate::provider::file::{parse_str, Format};

/// Rule text: parse; if it parses, match a few requests, check the path analysis, and check
/// that printing the tree gives a rule with the same tree.
pub fn rule(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for syntax in [RuleSyntax::V3, RuleSyntax::V2] {
        rule_in(text, syntax);
    }
}

fn rule_in(text: &str, syntax: RuleSyntax) {
    let rule = match Rule::parse_with(text, syntax) {
        Ok(r) => r,
        Err(e) => {
            assert!(e.position <= text.len(), "error position past the end: {e}");
            return;
        }
    };
    let headers = http::HeaderMap::new();
    let prefix = rule.path_prefix();
    let cookie = rule.cookie_path();
    assert!(cookie.starts_with('/'), "cookie path {cookie:?}");
    let own = prefix.clone();
    for (host, path, query) in [
        ("demo.res.ch", "/", None),
        ("DEMO.res.ch:8080", "/api/jokes/1", Some("a=1&b=%41+")),
        ("[::1]:80", "/x/y", Some("%zz&=&&k")),
        ("", "", Some("")),
        ("demo.res.ch", own.as_str(), None),
    ] {
        let matched = rule.matches(&RequestInfo {
            host,
            path,
            method: &http::Method::GET,
            headers: Headers::Map(&headers),
            query,
            client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        });
        // Whatever matches starts with the prefix, and the browser sends the cookie with it
        // (RFC 6265 path-match). Only checked on matches: a rule nothing can match (two
        // different `PathPrefix` joined by `&&`) may report any prefix.
        if matched && !path.is_empty() {
            assert!(
                path.starts_with(&prefix),
                "{path:?} does not start with {prefix:?}"
            );
            let path_match = path == cookie
                || (path.starts_with(&cookie)
                    && (cookie.ends_with('/') || path.as_bytes()[cookie.len()] == b'/'));
            assert!(
                path_match,
                "{path:?} does not path-match the cookie path {cookie:?}"
            );
        }
    }
    let printed = rule.expr().to_string();
    let again = Rule::parse_with(&printed, syntax)
        .unwrap_or_else(|e| panic!("printed rule {printed:?} does not parse: {e}"));
    assert_eq!(
        again.expr(),
        rule.expr(),
        "print/parse changed the tree: {printed:?}"
    );
}

/// Labels, one `key=value` per line. The first byte picks whether keys get a `traefik.http.`
/// prefix (to reach the routers/services/middlewares parsers more often). The result then goes
/// through validation and the merge, as the Docker provider would send it.
pub fn labels(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        let key = if mode & 1 == 1 {
            format!("traefik.http.{k}")
        } else {
            k.to_string()
        };
        map.insert(key, v.to_string());
    }
    let parsed = labels::parse(&map);
    let mut cfg = parsed.config;
    for (name, svc) in cfg.services.iter_mut() {
        let port = parsed.server_ports.get(name).copied().unwrap_or(80);
        svc.load_balancer.servers.push(Server {
            url: format!("http://10.0.0.2:{port}").into(),
            name: "c1".into(),
        });
    }
    let mut pc = validate::validate("docker", cfg);
    pc.issues.extend(parsed.issues);
    merged_invariants(&pc);
}

/// A dynamic configuration file; the first byte picks YAML or TOML.
pub fn file_config(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = if mode & 1 == 1 {
        Format::Toml
    } else {
        Format::Yaml
    };
    if let Ok(fc) = parse_str(text, format, "fuzz.yml") {
        let mut pc = validate::validate("file", fc.config);
        pc.issues.extend(fc.issues);
        merged_invariants(&pc);
    }
}

/// A `Cookie` header value, as the data plane reads it: find the sticky cookie (first pair
/// with its name, `dataplane/hyper_path.rs`), let the balancer pick, then strip our cookies from what the
/// server will see. The first byte, when odd, prepends a valid sticky value so the sticky path
/// is reached too.
pub fn cookie(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    const NAME: &str = "lab_sticky";
    let servers: Vec<Arc<ServerState>> = ["http://10.0.0.2:80", "http://10.0.0.3:80"]
        .iter()
        .map(|u| Arc::new(ServerState::new(&(*u).into(), "s").expect("a valid server URL")))
        .collect();
    let balancer = Balancer::new(
        "static@docker".into(),
        servers,
        Arc::new(AtomicUsize::new(0)),
        Some(CookieSettings::new(NAME, &StickyCookie::default())),
        true,
    );
    let mut header = String::new();
    if mode & 1 == 1 {
        header = format!(
            "{NAME}={}; ",
            sticky::cookie_value("static@docker", "http://10.0.0.3:80")
        );
    }
    header.push_str(&String::from_utf8_lossy(rest));

    let presented = sticky::cookie_pairs(&header)
        .find(|(n, _)| *n == NAME)
        .map(|(_, v)| v);
    let table = balancer.sticky.as_ref().expect("a sticky balancer");
    match balancer.pick(presented, &[]).expect("both servers are up") {
        // Sticky only for a value the proxy issued, and then for exactly its server.
        Pick::Sticky(i) => assert_eq!(presented, Some(table.values[i].as_str())),
        Pick::RoundRobin(i) => assert!(i < 2),
    }
    if let Some(stripped) = sticky::strip_cookies(&header, &[NAME.to_string()]) {
        assert!(
            sticky::cookie_pairs(&stripped).all(|(n, _)| n != NAME),
            "{NAME} left in the forwarded header {stripped:?} (from {header:?})"
        );
        assert!(!stripped.is_empty());
    }
}

/// A client's byte stream as the framing guard reads it; the first byte says how the stream is
/// cut into reads. Whatever the cuts, the guard refuses the same request and changes the same
/// byte (a refused head's final LF, made `:`), and nothing else.
pub fn framing(data: &[u8]) {
    let Some((&step, stream)) = data.split_first() else {
        return;
    };
    let mut whole = stream.to_vec();
    let whole_refused: Vec<BadFraming> = Framing::new(MAX_REQUEST_HEAD)
        .feed(&mut whole)
        .into_iter()
        .collect();
    let mut cut = stream.to_vec();
    let mut guard = Framing::new(MAX_REQUEST_HEAD);
    let mut refused = Vec::new();
    for read in cut.chunks_mut(usize::from(step % 32) + 1) {
        refused.extend(guard.feed(read));
    }
    assert_eq!(
        refused, whole_refused,
        "refusals depend on how the stream is cut"
    );
    assert!(
        cut == whole,
        "the bytes hyper reads depend on how the stream is cut"
    );
    let changed: Vec<usize> = (0..stream.len()).filter(|&i| cut[i] != stream[i]).collect();
    assert_eq!(
        changed.len(),
        refused.len(),
        "a byte changed without a refusal, or the reverse"
    );
    for i in changed {
        assert_eq!((stream[i], cut[i]), (b'\n', b':'), "byte {i} changed");
    }
}

/// The fast path's parsers (`crate::dataplane::h1`) on arbitrary bytes; the first byte picks options and
/// how streams are cut.
/// - As a request head: one the fast path takes is forwarded as a head that parses again, with
///   the same method and target, one `Host`, no hop-by-hop header and no body.
/// - As a response head: one that classifies is relayed as a head that parses again with the
///   same status, never with both `Content-Length` and `Transfer-Encoding`.
/// - As a chunked body: the decoder finds the same end however the bytes are cut.
pub fn h1(data: &[u8]) {
    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    let count = |hs: &[httparse::Header<'_>], name: &str| {
        hs.iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .count()
    };
    let mut hs = [httparse::EMPTY_HEADER; FAST_PATH_HEADERS];
    let mut req = httparse::Request::new(&mut hs);
    if let Ok(httparse::Status::Complete(_)) = req.parse(bytes) {
        if request::classify(&req).is_ok() {
            let names = ["lb".to_string()];
            let prefix = [(
                http::HeaderName::from_static("x-forwarded-prefix"),
                Some(HeaderValue::from_static("/api")),
            )];
            let (ip, port) = (
                HeaderValue::from_static("10.0.0.9"),
                HeaderValue::from_static("80"),
            );
            let f = Forward {
                client_ip: &ip,
                trusted: flags & 1 == 1,
                port: &port,
                proto: "http",
                sticky_names: &names,
                pass_host: flags & 2 == 0,
                edits: if flags & 4 == 4 { &prefix } else { &[] },
            };
            let target = req.path.unwrap_or("/");
            let mut out = Vec::new();
            let method = req.method.unwrap_or("GET");
            f.write_request(&mut out, method, target, req.headers, b"10.0.0.2:80");
            let mut hs2 = [httparse::EMPTY_HEADER; FAST_PATH_HEADERS + 8];
            let mut again = httparse::Request::new(&mut hs2);
            let parsed = again.parse(&out);
            assert!(
                matches!(parsed, Ok(httparse::Status::Complete(n)) if n == out.len()),
                "the forwarded head does not parse: {parsed:?}"
            );
            assert_eq!((again.method, again.path), (req.method, req.path));
            assert_eq!(count(again.headers, "host"), 1);
            for name in [
                "connection",
                "transfer-encoding",
                "upgrade",
                "te",
                "keep-alive",
            ] {
                assert_eq!(count(again.headers, name), 0, "{name} forwarded");
            }
        }
    }
    let mut hs = [httparse::EMPTY_HEADER; FAST_PATH_HEADERS];
    let mut resp = httparse::Response::new(&mut hs);
    if let Ok(httparse::Status::Complete(_)) = resp.parse(bytes) {
        if response::classify(&resp, flags & 8 == 8).is_ok() {
            let mut out = Vec::new();
            let extra = head::Extra {
                edits: &[],
                set_cookie: Some(b"lb=x; Path=/"),
            };
            head::write_response(&mut out, &resp, &extra, flags & 16 == 16);
            let mut hs2 = [httparse::EMPTY_HEADER; FAST_PATH_HEADERS + 8];
            let mut again = httparse::Response::new(&mut hs2);
            let parsed = again.parse(&out);
            assert!(
                matches!(parsed, Ok(httparse::Status::Complete(n)) if n == out.len()),
                "the relayed head does not parse: {parsed:?}"
            );
            assert_eq!(again.code, resp.code);
            assert!(
                count(again.headers, "content-length") == 0
                    || count(again.headers, "transfer-encoding") == 0,
                "both Content-Length and Transfer-Encoding relayed"
            );
        }
    }
    let whole = Chunked::default().feed(bytes);
    let mut cut = Chunked::default();
    let mut total = Ok((0, false));
    for piece in bytes.chunks(usize::from(flags >> 5) + 1) {
        match cut.feed(piece) {
            Ok((n, done)) => {
                total = Ok((total.map_or(0, |t| t.0) + n, done));
                if done {
                    break;
                }
            }
            Err(e) => {
                total = Err(e);
                break;
            }
        }
    }
    assert_eq!(
        whole, total,
        "the chunked end depends on how the body is cut"
    );
}

fn merged_invariants(pc: &ProviderConfig) {
    let m = merge([("p", pc)]);
    for (name, r) in m.routers_by_priority() {
        assert!(r.rule.is_some(), "{name}: enabled without a rule");
        let s = &m.services[&r.router.service];
        assert!(
            s.status.is_usable(),
            "{name}: enabled with a disabled service"
        );
        for mw in &r.router.middlewares {
            assert!(
                m.middlewares[mw].status.is_usable(),
                "{name}: disabled middleware {mw}"
            );
        }
    }
    let _ = serde_json::to_string(&m).expect("the merged config serializes");
}

/// A stable stand-in for libFuzzer: mutates seeds and dictionary tokens at random for a bounded
/// time. Much weaker than coverage-guided fuzzing, but runs anywhere.
#[cfg(test)]
mod stable {
    use std::time::{Duration, Instant};

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    const TOKENS: &[&str] = &[
        "Host(",
        "HostRegexp(",
        "Path(",
        "PathPrefix(",
        "Method(",
        "Headers(",
        "HeadersRegexp(",
        "Query(",
        "ClientIP(",
        ")",
        "(",
        "!",
        "&&",
        "||",
        ",",
        "`",
        "\"",
        "\\",
        "{",
        "}",
        "{x:[0-9]+}",
        "/",
        ".",
        ":",
        "=",
        "@",
        "\n",
        " ",
        "traefik.",
        "http.",
        "routers.",
        "services.",
        "middlewares.",
        "loadbalancer.",
        "server.port",
        "sticky.cookie",
        ".name",
        "healthcheck.",
        "stripprefix.prefixes",
        "retry.attempts",
        "rule",
        "true",
        "false",
        "0",
        "65536",
        "-1",
        "http:",
        "  routers:",
        "    r:",
        "      rule: ",
        "[",
        "]",
        "loadBalancer:",
        "servers:",
        "- url: http://a:1",
        "[http.routers.r]",
        "rule = ",
        "é",
        "\u{0}",
        "10.0.0.0/8",
        "::1",
        "%",
        "+",
        "lab_sticky=",
        "lab_sticky",
        "; ",
        ";",
        " =",
        "AAAAAAAAAAAAAAAA",
        "\r\n",
        "\r\n\r\n",
        "POST / HTTP/1.1\r\n",
        "GET / HTTP/1.0\r\n",
        "Content-Length: 3\r\n",
        "Content-Length: 0\r\n",
        "Transfer-Encoding: chunked\r\n",
        "Upgrade: x\r\n",
        "5\r\nhello\r\n",
        "0\r\n\r\n",
        "3;x=y\r\n",
        "X-T: 1\r\n",
    ];

    const SEEDS: &[&str] = &[
        "Host(`demo.res.ch`) && PathPrefix(`/api/jokes/`)",
        "\u{0}traefik.http.routers.r.rule=Path(`/`)\ntraefik.http.services.s.loadbalancer.server.port=80",
        "\u{1}routers.r.middlewares=a,b@file\nmiddlewares.a.stripprefix.prefixes=/a",
        "\u{0}http:\n  routers:\n    r:\n      rule: Path(`/`)\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: http://a:1\n",
        "\u{1}[http.routers.r]\nrule = \"Path(`/`)\"\nservice = \"s\"\n[http.middlewares.m.retry]\nattempts = 0\n",
        "\u{1}a=b; lab_sticky=\"x\"; lab_sticky = ; =lab_sticky; lab_sticky",
        "\u{3}GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: x\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "\u{7}GET /a?b=1 HTTP/1.1\r\nHost: a:80\r\nCookie: x=1; lb=zz\r\nConnection: keep-alive, x-a\r\nX-A: 1\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
        "\u{18}HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\nConnection: close, x-b\r\n\r\n",
        "\u{40}5;e=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
    ];

    fn mutate(rng: &mut StdRng, input: &mut Vec<u8>) {
        for _ in 0..rng.random_range(1..6) {
            let at = rng.random_range(0..=input.len());
            match rng.random_range(0..5) {
                0 => {
                    let t = TOKENS[rng.random_range(0..TOKENS.len())];
                    input.splice(at..at, t.bytes());
                }
                1 if !input.is_empty() => {
                    let end = (at + rng.random_range(1..8)).min(input.len());
                    let at = at.min(end);
                    input.drain(at..end);
                }
                2 if at < input.len() => input[at] = rng.random(),
                3 => input.insert(at, rng.random()),
                _ => {
                    let s = SEEDS[rng.random_range(0..SEEDS.len())].as_bytes();
                    let from = rng.random_range(0..s.len());
                    let to = rng.random_range(from..=s.len());
                    input.splice(at..at, s[from..to].iter().copied());
                }
            }
        }
        input.truncate(4096);
    }

    /// Runs `target` on mutated inputs for `FUZZ_SECONDS` (default 10); a panic reports the
    /// input (as a Rust byte string) and the seed to replay it.
    fn run(name: &str, target: fn(&[u8])) {
        let secs: u64 = std::env::var("FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10);
        let seed: u64 = std::env::var("FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random);
        let mut rng = StdRng::seed_from_u64(seed);
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut runs = 0u64;
        let mut pool: Vec<Vec<u8>> = SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect();
        while Instant::now() < deadline {
            let mut input = if rng.random_bool(0.1) {
                Vec::new()
            } else {
                pool[rng.random_range(0..pool.len())].clone()
            };
            mutate(&mut rng, &mut input);
            let result = std::panic::catch_unwind(|| target(&input));
            if result.is_err() {
                panic!(
                    "fuzz_{name}: crash on input {:?} (FUZZ_SEED={seed})",
                    String::from_utf8_lossy(&input)
                );
            }
            if pool.len() < 256 && rng.random_bool(0.05) {
                pool.push(input);
            }
            runs += 1;
        }
        eprintln!("fuzz_{name}: {runs} inputs in {secs} s, no crash (FUZZ_SEED={seed})");
    }

    #[test]
    #[ignore = "bounded fuzzing loop; run by scripts/fuzz.sh"]
    fn fuzz_rule() {
        run("rule", super::rule);
    }

    #[test]
    #[ignore = "bounded fuzzing loop; run by scripts/fuzz.sh"]
    fn fuzz_labels() {
        run("labels", super::labels);
    }

    #[test]
    #[ignore = "bounded fuzzing loop; run by scripts/fuzz.sh"]
    fn fuzz_file_config() {
        run("file_config", super::file_config);
    }

    #[test]
    #[ignore = "bounded fuzzing loop; run by scripts/fuzz.sh"]
    fn fuzz_cookie() {
        run("cookie", super::cookie);
    }

    #[test]
    #[ignore = "bounded fuzzing loop; run by scripts/fuzz.sh"]
    fn fuzz_framing() {
        run("framing", super::framing);
    }

    #[test]
    #[ignore = "bounded fuzzing loop; run by scripts/fuzz.sh"]
    fn fuzz_h1() {
        run("h1", super::h1);
    }

    /// Every input a fuzzer ever crashed on (`fuzz/regressions/<target>/`), in the normal
    /// test suite: copy a crash file there when you fix it.
    #[test]
    fn past_crashes_stay_fixed() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 6] = [
            ("rule", super::rule),
            ("labels", super::labels),
            ("file_config", super::file_config),
            ("cookie", super::cookie),
            ("framing", super::framing),
            ("h1", super::h1),
        ];
        let mut n = 0;
        for (name, target) in targets {
            let Ok(dir) = std::fs::read_dir(root.join(name)) else {
                continue;
            };
            for entry in dir {
                let path = entry.unwrap().path();
                if path
                    .file_name()
                    .is_some_and(|f| f.to_string_lossy().starts_with('.'))
                {
                    continue;
                }
                target(&std::fs::read(&path).unwrap());
                n += 1;
            }
        }
        assert!(
            n >= 1,
            "no regression inputs found under {}",
            root.display()
        );
    }

    /// The seeds themselves, in the normal test suite.
    #[test]
    fn seeds_do_not_crash() {
        for s in SEEDS {
            super::rule(s.as_bytes());
            super::labels(s.as_bytes());
            super::file_config(s.as_bytes());
            super::cookie(s.as_bytes());
            super::framing(s.as_bytes());
            super::h1(s.as_bytes());
        }
    }
}
