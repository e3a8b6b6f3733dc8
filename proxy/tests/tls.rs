//! HTTPS on the real binary with the file provider: certificates from files (checked with curl
//! and `--cacert`), the generated default certificate, HTTP/2, the 80 -> 443 redirect, SNI
//! with two certificates, a reload that keeps open connections, a certificate file renewed
//! alone, and TLS routers answering on TLS connections only.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::Backend;
use rustls::pki_types::{CertificateDer, ServerName};
use testkit::{http1, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A test CA and the certificates it signs, as PEM files in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
}

impl Pki {
    fn new() -> Pki {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "HTTP Infra Lab test CA");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = p.self_signed(&ca_key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Pki { dir, ca, ca_key }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `<file>.pem` and `<file>-key.pem`, a leaf for `names` signed by the CA; returns
    /// the certificate.
    fn leaf(&self, file: &str, names: &[&str]) -> CertificateDer<'static> {
        let mut p =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, names[0]);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        std::fs::write(self.path(&format!("{file}.pem")), cert.pem()).unwrap();
        std::fs::write(self.path(&format!("{file}-key.pem")), key.serialize_pem()).unwrap();
        cert.der().clone()
    }

    fn ca_file(&self) -> String {
        self.path("ca.pem").display().to_string()
    }
}

/// The dynamic configuration: a TLS router and a plain router to `backend`, and `tls`.
fn dynamic(backend: &Backend, tls: &str) -> String {
    format!(
        r#"
http:
  routers:
    secure:
      rule: "PathPrefix(`/`)"
      service: app
      tls: {{}}
    plain:
      rule: "PathPrefix(`/plain`)"
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: "{}"
{tls}
"#,
        backend.url()
    )
}

fn certificates(pki: &Pki, files: &[&str]) -> String {
    let mut s = String::from("tls:\n  certificates:\n");
    for f in files {
        s.push_str(&format!(
            "    - certFile: {}\n      keyFile: {}\n",
            pki.path(&format!("{f}.pem")).display(),
            pki.path(&format!("{f}-key.pem")).display()
        ));
    }
    s
}

/// The proxy binary with `web` and `websecure` entrypoints on port 0 and the file provider
/// watching `file`; returns both ports. Its stdout, after the listening lines, is the access log.
fn start(file: &Path, extra: &[&str]) -> (Running, u16, u16) {
    let mut child = Running::start(
        Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args([
                "--entrypoints.web.address=127.0.0.1:0",
                "--entrypoints.websecure.address=127.0.0.1:0",
                "--providers.file.watch=true",
            ])
            .arg(format!("--providers.file.filename={}", file.display()))
            .args(extra)
            .env_remove("RUST_LOG")
            .stderr(Stdio::null()),
    );
    let eps = child.entrypoints(&["web", "websecure"]);
    let (web, secure) = (&eps["web"], &eps["websecure"]);
    // The scheme says what the entrypoint's routers serve.
    let tls = extra
        .iter()
        .any(|a| a.starts_with("--entrypoints.websecure.http.tls"));
    assert!(!web.https && web.addr.ip().is_loopback(), "{web:?}");
    assert!(
        secure.https == tls && secure.addr.ip().is_loopback(),
        "{secure:?}"
    );
    let ports = (web.addr.port(), secure.addr.port());
    (child, ports.0, ports.1)
}

/// What most tests start with: a backend, a CA and a leaf certificate for `a.lab` (`a.pem`),
/// the dynamic file routing to the backend with that certificate, and the binary.
struct Lab {
    backend: Backend,
    pki: Pki,
    /// The dynamic configuration file the proxy watches.
    file: PathBuf,
    /// The leaf certificate for `a.lab`.
    cert: CertificateDer<'static>,
    /// The proxy, running until the lab is dropped.
    _proxy: Running,
    web: u16,
    secure: u16,
}

impl Lab {
    /// The binary with `extra` flags.
    async fn start(extra: &[&str]) -> Lab {
        let backend = Backend::start("app").await;
        let pki = Pki::new();
        let cert = pki.leaf("a", &["a.lab"]);
        let file = pki.path("dynamic.yml");
        write(&file, &dynamic(&backend, &certificates(&pki, &["a"])));
        let (proxy, web, secure) = start(&file, extra);
        Lab {
            backend,
            pki,
            file,
            cert,
            _proxy: proxy,
            web,
            secure,
        }
    }
}

/// curl with `args`, `name` resolved to 127.0.0.1 on `port`.
fn curl(name: &str, port: u16, args: &[&str]) -> Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "10", "--noproxy", "*"])
        .arg("--resolve")
        .arg(format!("{name}:{port}:127.0.0.1"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Retries `f` (the file provider applies a change within milliseconds; bounded).
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..100 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

fn write(file: &Path, text: &str) {
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(tmp, file).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_ca_over_http2_and_http1() {
    let lab = Lab::start(&[]).await;
    let (pki, secure) = (&lab.pki, lab.secure);
    let url = format!("https://a.lab:{secure}/hello");
    let ca = pki.ca_file();
    let mut out = None;
    eventually("HTTPS with the CA", || {
        let o = curl(
            "a.lab",
            secure,
            &["--cacert", &ca, "-w", "\n%{http_version}", &url],
        );
        let ok = o.status.success();
        out = Some(o);
        ok
    })
    .await;
    let body = text(out.as_ref().unwrap());
    assert!(body.ends_with("\n2"), "HTTP/2 negotiated: {body}");
    let json: serde_json::Value =
        serde_json::from_str(body.lines().next().unwrap()).expect("the backend's JSON");
    assert_eq!(json["path"], "/hello");
    assert_eq!(json["headers"]["x-forwarded-proto"], "https");
    assert_eq!(json["headers"]["host"], format!("a.lab:{secure}"));

    // HTTP/1.1 over TLS (the fast path), twice on one connection.
    let o = curl(
        "a.lab",
        secure,
        &[
            "--cacert",
            &ca,
            "--http1.1",
            "-w",
            "\n%{http_version}",
            &url,
            &url,
        ],
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert_eq!(t.matches("x-forwarded-proto\":\"https").count(), 2, "{t}");
    assert!(t.ends_with("\n1.1"), "{t}");

    // A request with a body (hyper takes the connection from the fast path), on HTTP/1.1 and 2.
    for version in ["--http1.1", "--http2"] {
        let o = curl(
            "a.lab",
            secure,
            &[
                "--cacert",
                &ca,
                version,
                "-f",
                "--data-binary",
                "0123456789",
                &url,
            ],
        );
        let t = text(&o);
        assert!(
            t.contains("\"bodyLen\":10") && t.contains("\"method\":\"POST\""),
            "{version}: {t}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_certificates_the_default_one_is_generated() {
    let backend = Backend::start("app").await;
    let pki = Pki::new();
    let file = pki.path("dynamic.yml");
    write(&file, &dynamic(&backend, ""));
    let (_p, _web, secure) = start(&file, &[]);
    let url = format!("https://a.lab:{secure}/");
    eventually("the router is served", || {
        curl("a.lab", secure, &["-k", "-f", &url]).status.success()
    })
    .await;
    // Not trusted: a client that checks certificates refuses it.
    let o = curl("a.lab", secure, &["--cacert", &pki.ca_file(), &url]);
    assert_eq!(o.status.code(), Some(60), "{}", text(&o));
    // What it is, read with curl -k -v (only to read the subject).
    let o = curl("a.lab", secure, &["-k", "-v", "-o", "/dev/null", &url]);
    assert!(text(&o).contains("TRAEFIK DEFAULT CERT"), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_redirects_to_websecure() {
    let lab = Lab::start(&["--entrypoints.web.http.redirections.entrypoint.to=websecure"]).await;
    let (pki, web, secure) = (&lab.pki, lab.web, lab.secure);
    let o = curl(
        "a.lab",
        web,
        &[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            &format!("http://a.lab:{web}/plain/x?y=1"),
        ],
    );
    assert_eq!(
        text(&o),
        format!("301 https://a.lab:{secure}/plain/x?y=1"),
        "even a plain router's path is redirected"
    );
    let o = curl(
        "a.lab",
        web,
        &[
            "--resolve",
            &format!("a.lab:{secure}:127.0.0.1"),
            "-L",
            "--cacert",
            &pki.ca_file(),
            "-f",
            &format!("http://a.lab:{web}/followed"),
        ],
    );
    assert!(text(&o).contains("\"path\":\"/followed\""), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_picks_the_certificate() {
    let backend = Backend::start("app").await;
    let pki = Pki::new();
    pki.leaf("a", &["a.lab"]);
    pki.leaf("b", &["b.lab", "*.w.lab"]);
    let file = pki.path("dynamic.yml");
    write(&file, &dynamic(&backend, &certificates(&pki, &["a", "b"])));
    let (_p, _web, secure) = start(&file, &[]);
    let ca = pki.ca_file();
    for name in ["a.lab", "b.lab", "x.w.lab"] {
        // Verification with the CA checks the name: only the right certificate passes.
        let url = format!("https://{name}:{secure}/");
        eventually(&format!("{name}'s certificate"), || {
            curl(name, secure, &["--cacert", &ca, "-f", &url])
                .status
                .success()
        })
        .await;
    }
    let o = curl(
        "c.lab",
        secure,
        &["--cacert", &ca, &format!("https://c.lab:{secure}/")],
    );
    assert_eq!(
        o.status.code(),
        Some(60),
        "no match: the default certificate"
    );
}

/// A TLS client trusting `ca` that keeps its connection.
async fn connect(
    port: u16,
    name: &str,
    ca: &Path,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca).unwrap();
    use rustls::pki_types::pem::PemObject;
    for c in CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from(name.to_string()).unwrap(), tcp)
        .await
        .expect("TLS handshake")
}

/// One HTTP/1.1 request on `conn`; the response's status.
async fn get(conn: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>, host: &str) -> u16 {
    conn.write_all(format!("GET /again HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    http1::read_response(conn, &mut Vec::new(), false)
        .await
        .expect("a response before the connection closed")
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_swaps_certificates_and_keeps_open_connections() {
    let Lab {
        backend,
        pki,
        file,
        cert: first,
        secure,
        _proxy,
        ..
    } = Lab::start(&[]).await;
    let ca = pki.path("ca.pem");
    let url = format!("https://a.lab:{secure}/");
    eventually("the first certificate", || {
        curl("a.lab", secure, &["--cacert", &pki.ca_file(), "-f", &url])
            .status
            .success()
    })
    .await;
    let mut open = connect(secure, "a.lab", &ca).await;
    assert_eq!(open.get_ref().1.peer_certificates().unwrap()[0], first);
    assert_eq!(get(&mut open, "a.lab").await, 200);

    // New files, then the dynamic file changes (as an editor saves it).
    let second = pki.leaf("a2", &["a.lab"]);
    write(&file, &dynamic(&backend, &certificates(&pki, &["a2"])));
    let mut fresh = None;
    for _ in 0..100 {
        let c = connect(secure, "a.lab", &ca).await;
        if c.get_ref().1.peer_certificates().unwrap()[0] == second {
            fresh = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut fresh = fresh.expect("a new connection gets the new certificate");
    assert_eq!(get(&mut fresh, "a.lab").await, 200);
    assert_eq!(
        get(&mut open, "a.lab").await,
        200,
        "the open connection still works"
    );

    // A broken key keeps the previous certificate (and the error is logged).
    std::fs::write(pki.path("a2-key.pem"), "not a key").unwrap();
    write(
        &file,
        &format!(
            "{}\n# touched\n",
            dynamic(&backend, &certificates(&pki, &["a2"]))
        ),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let c = connect(secure, "a.lab", &ca).await;
    assert_eq!(c.get_ref().1.peer_certificates().unwrap()[0], second);
}

/// New connections to `port` until one is served `want`, bounded.
async fn until_served(
    port: u16,
    ca: &Path,
    want: &CertificateDer<'static>,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    for _ in 0..100 {
        let c = connect(port, "a.lab", ca).await;
        if c.get_ref().1.peer_certificates().unwrap()[0] == *want {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no new connection got the new certificate within 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_file_is_served_without_touching_the_configuration() {
    let backend = Backend::start("app").await;
    let pki = Pki::new();
    // The certificates in their own directory, as /etc/letsencrypt/live/... would be.
    let certs = pki.path("certs");
    std::fs::create_dir(&certs).unwrap();
    let first = pki.leaf("certs/a", &["a.lab"]);
    let file = pki.path("dynamic.yml");
    write(&file, &dynamic(&backend, &certificates(&pki, &["certs/a"])));
    let (_p, _web, secure) = start(&file, &[]);
    let ca = pki.path("ca.pem");
    let url = format!("https://a.lab:{secure}/");
    eventually("the first certificate", || {
        curl("a.lab", secure, &["--cacert", &pki.ca_file(), "-f", &url])
            .status
            .success()
    })
    .await;
    let mut open = until_served(secure, &ca, &first).await;
    assert_eq!(get(&mut open, "a.lab").await, 200);

    // Renewed: the certificate copied over the old one (`cp`, which rewrites the file in
    // place), the key saved as editors do (a new file renamed over the old one).
    let second = pki.leaf("renewed", &["a.lab"]);
    std::fs::copy(pki.path("renewed.pem"), pki.path("certs/a.pem")).unwrap();
    let tmp = pki.path("certs/.a-key.pem.swp");
    std::fs::copy(pki.path("renewed-key.pem"), &tmp).unwrap();
    std::fs::rename(&tmp, pki.path("certs/a-key.pem")).unwrap();
    let mut fresh = until_served(secure, &ca, &second).await;
    assert_eq!(get(&mut fresh, "a.lab").await, 200);
    assert_eq!(
        get(&mut open, "a.lab").await,
        200,
        "the connection opened before the renewal still works"
    );
    assert_eq!(open.get_ref().1.peer_certificates().unwrap()[0], first);

    // Renewed again, this time the key first: the certificate comes back in step.
    let third = pki.leaf("again", &["a.lab"]);
    std::fs::copy(pki.path("again-key.pem"), pki.path("certs/a-key.pem")).unwrap();
    std::fs::copy(pki.path("again.pem"), pki.path("certs/a.pem")).unwrap();
    until_served(secure, &ca, &third).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_routers_answer_on_tls_only_and_plain_routers_on_plain_only() {
    let lab = Lab::start(&[]).await;
    let (web, secure) = (lab.web, lab.secure);
    let ca = lab.pki.ca_file();
    let status = |port: u16, scheme: &str, path: &str| {
        let o = curl(
            "a.lab",
            port,
            &[
                "--cacert",
                &ca,
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &format!("{scheme}://a.lab:{port}{path}"),
            ],
        );
        text(&o)
    };
    eventually("served", || status(secure, "https", "/x") == "200").await;
    // The TLS router `secure` (no entrypoints: all of them) answers on TLS connections only,
    // on either port; the plain router `plain` on plain connections only.
    assert_eq!(status(web, "https", "/x"), "200");
    assert_eq!(status(web, "http", "/x"), "404");
    assert_eq!(status(secure, "http", "/x"), "404");
    assert_eq!(status(web, "http", "/plain"), "200");
    assert_eq!(status(secure, "http", "/plain"), "200");
    // `/plain` over TLS: the TLS router `secure` (PathPrefix `/`) takes it.
    assert_eq!(status(secure, "https", "/plain"), "200");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entrypoint_http_tls_makes_every_router_tls_and_sticky_works() {
    let (one, two) = (Backend::start("one").await, Backend::start("two").await);
    let pki = Pki::new();
    pki.leaf("a", &["a.lab"]);
    let file = pki.path("dynamic.yml");
    let yaml = format!(
        r#"
http:
  routers:
    api:
      rule: "PathPrefix(`/`)"
      service: api
      entryPoints: [websecure]
  services:
    api:
      loadBalancer:
        sticky:
          cookie:
            name: lab
            secure: true
        servers:
          - url: "{}"
          - url: "{}"
{}
"#,
        one.url(),
        two.url(),
        certificates(&pki, &["a"])
    );
    write(&file, &yaml);
    let (mut p, _web, secure) = start(
        &file,
        &["--entrypoints.websecure.http.tls=true", "--accesslog"],
    );
    let ca = pki.ca_file();
    let url = format!("https://a.lab:{secure}/");
    eventually("served over TLS", || {
        curl("a.lab", secure, &["--cacert", &ca, "-f", &url])
            .status
            .success()
    })
    .await;
    // Without the cookie: round robin.
    let by: Vec<String> = (0..4)
        .map(|_| {
            let o = curl(
                "a.lab",
                secure,
                &["--cacert", &ca, "-D", "-", "-o", "/dev/null", &url],
            );
            text(&o)
        })
        .collect();
    assert!(by.iter().any(|t| t.contains("x-served-by: one")), "{by:?}");
    assert!(by.iter().any(|t| t.contains("x-served-by: two")), "{by:?}");
    let jar = pki.path("cookies.txt").display().to_string();
    let served: Vec<String> = (0..4)
        .map(|_| {
            let o = curl(
                "a.lab",
                secure,
                &["--cacert", &ca, "-c", &jar, "-b", &jar, "-D", "-", &url],
            );
            let t = text(&o);
            let by = t
                .lines()
                .find_map(|l| l.strip_prefix("x-served-by: "))
                .unwrap_or_else(|| panic!("{t}"));
            assert!(
                t.contains("set-cookie: lab=") || !t.contains("set-cookie"),
                "{t}"
            );
            by.trim().to_string()
        })
        .collect();
    assert!(
        served.iter().all(|s| *s == served[0]),
        "sticky over HTTP/2: {served:?}"
    );
    let cookies = std::fs::read_to_string(&jar).unwrap();
    let lab: Vec<&str> = cookies
        .lines()
        .find(|l| l.split('\t').nth(5) == Some("lab"))
        .unwrap_or_else(|| panic!("the sticky cookie: {cookies}"))
        .split('\t')
        .collect();
    assert_eq!(lab[3], "TRUE", "the cookie is Secure: {cookies}");
    // The access log has a line per request, as on plain HTTP.
    let line = p
        .next_line(Duration::from_secs(10))
        .expect("an access log line");
    assert!(
        line.contains("host=\"a.lab:")
            && line.contains("router=\"api@file\"")
            && line.contains("status=200"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_metrics_and_the_api_work_as_on_plain_http() {
    let live = Backend::start("live").await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let pki = Pki::new();
    pki.leaf("a", &["a.lab"]);
    let p = common::Proxy::start(&[]).await;
    p.publish_yaml(&format!(
        r#"
routers:
  r:
    rule: "Host(`a.lab`)"
    service: svc
    tls: {{}}
services:
  svc:
    loadBalancer:
      servers:
        - url: "http://{dead}"
        - url: "{}"
{}
"#,
        live.url(),
        certificates(&pki, &["a"])
    ))
    .await;
    let port = p.web.port();
    let url = format!("https://a.lab:{port}/");
    let ca = pki.ca_file();
    for _ in 0..3 {
        let o = curl(
            "a.lab",
            port,
            &["--cacert", &ca, "-f", "-w", "\n%{http_version}", &url],
        );
        let t = text(&o);
        assert!(
            o.status.success() && t.contains("\"server\":\"live\"") && t.ends_with("\n2"),
            "{t}"
        );
    }
    let metrics = client_text(&format!("http://{}/metrics", p.api.unwrap())).await;
    assert!(
        metrics.contains("traefik_router_requests_total{code=\"200\",method=\"GET\",protocol=\"http\",router=\"r@file\",service=\"svc@file\"} 3"),
        "{metrics}"
    );
    let raw = p.api_json("/api/rawdata").await;
    assert_eq!(raw["routers"]["r@file"]["tls"], serde_json::json!({}));
}

async fn client_text(url: &str) -> String {
    common::client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protocol_upgrade_works_over_tls() {
    let lab = Lab::start(&[]).await;
    let (pki, secure) = (&lab.pki, lab.secure);
    let ca = pki.ca_file();
    let url = format!("https://a.lab:{secure}/");
    eventually("served", || {
        curl("a.lab", secure, &["--cacert", &ca, "-f", &url])
            .status
            .success()
    })
    .await;
    let mut c = connect(secure, "a.lab", &pki.path("ca.pem")).await;
    c.write_all(
        b"GET /echo HTTP/1.1\r\nHost: a.lab\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n",
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let mut sent = false;
    for _ in 0..50 {
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
            .await
            .expect("bytes in time")
            .unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
        let t = String::from_utf8_lossy(&got).to_string();
        if !sent && t.contains("\r\n\r\n") {
            assert!(t.starts_with("HTTP/1.1 101"), "{t}");
            c.write_all(b"ping").await.unwrap();
            sent = true;
        }
        if t.ends_with("app:ping") {
            return;
        }
    }
    panic!("no echo: {}", String::from_utf8_lossy(&got));
}
