//! New TLS connections per second: a load generator that opens a fresh connection for every
//! request, makes a full TLS handshake, sends one `GET` with `Connection: close` and reads the
//! answer to the end.
//!
//! Why not wrk with `Connection: close`: wrk offers its previous TLS session on reconnect, so
//! its "new" connections are resumed handshakes wherever the server accepts them, and that
//! depends on each server's session cache and ticket settings (our proxy cannot turn rustls'
//! off from Traefik's flags). This client never offers a session ([`Resumption::disabled`]), so
//! every handshake is a full one, with its certificate signature and key exchange, whatever each
//! server's resumption settings are.
//!
//! The client speaks TLS 1.3 only and offers rustls' defaults (AES-256-GCM first, X25519 first),
//! no ALPN (HTTP/1.1). It trusts exactly the bench's certificate (pinned), and checks the
//! server's handshake signature as any client does.

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::http::{self, Response};
use crate::tls::Negotiated;
use crate::wrk::WrkResult;

/// The name the client asks for (SNI); the bench's certificate is for it.
const SERVER_NAME: &str = "localhost";
/// Past this, a connection counts as a timeout (wrk's `--timeout` in the keep-alive runs).
const TIMEOUT: Duration = Duration::from_secs(3);

/// Trusts one certificate, byte for byte; handshake signatures are checked for real.
#[derive(Debug)]
struct Pinned {
    der: Vec<u8>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.der.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the server did not present the bench's certificate".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The client's TLS configuration: TLS 1.3, the pinned certificate, no resumption.
pub fn client_config(cert_der: &[u8]) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("rustls' ring provider lacks TLS 1.3")?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned {
            der: cert_der.to_vec(),
            provider,
        }))
        .with_no_client_auth();
    cfg.resumption = Resumption::disabled();
    Ok(Arc::new(cfg))
}

/// One connection: handshake, `GET path` with `Connection: close`, the answer read to the end.
async fn one(
    connector: &TlsConnector,
    port: u16,
    path: &str,
) -> Result<(Response, Option<Negotiated>)> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from(SERVER_NAME)?;
    let mut tls = connector.connect(name, tcp).await?;
    let (_, conn) = tls.get_ref();
    let negotiated = conn.protocol_version().map(|p| Negotiated {
        protocol: tls_version(p),
        cipher: conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()).replace("TLS13_", "TLS_"))
            .unwrap_or_default(),
        group: conn
            .negotiated_key_exchange_group()
            .map(|g| format!("{:?}", g.name()))
            .unwrap_or_default(),
        resumed: conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
    });
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw).await {
        Ok(_) => {}
        // A server that closes without TLS' close_notify, after a whole answer.
        Err(e) if e.kind() == ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e.into()),
    }
    Ok((http::parse_response(&raw)?, negotiated))
}

fn tls_version(p: rustls::ProtocolVersion) -> String {
    match p {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        other => format!("{other:?}"),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// One HTTPS request on a new connection (readiness probes), and what it negotiated.
pub fn get(
    port: u16,
    path: &str,
    cert_der: &[u8],
    timeout: Duration,
) -> Result<(Response, Negotiated)> {
    let connector = TlsConnector::from(client_config(cert_der)?);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (r, n) = tokio::time::timeout(timeout, one(&connector, port, path))
            .await
            .context("timed out")??;
        Ok((r, n.context("no TLS version after the handshake")?))
    })
}

/// `conns` clients, each opening connection after connection for `duration`; figures in wrk's
/// shape (requests = handshakes completed with an answer, latency = connect to the answer's
/// end). Two threads, as wrk's `-t2`.
pub fn run(
    port: u16,
    path: &str,
    cert_der: &[u8],
    conns: u32,
    duration: Duration,
) -> Result<WrkResult> {
    let connector = TlsConnector::from(client_config(cert_der)?);
    let rt = runtime()?;
    rt.block_on(async {
        let start = Instant::now();
        let deadline = start + duration;
        let mut tasks = Vec::new();
        for _ in 0..conns.max(1) {
            let connector = connector.clone();
            let path = path.to_string();
            tasks.push(tokio::spawn(async move {
                let mut t = Tally::default();
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    match tokio::time::timeout(TIMEOUT, one(&connector, port, &path)).await {
                        Ok(Ok((r, _))) => {
                            t.latencies_us.push(t0.elapsed().as_micros() as u64);
                            if !(200..400).contains(&r.status) {
                                t.non_2xx_3xx += 1;
                            }
                        }
                        Ok(Err(e)) => {
                            if is_connect_error(&e) {
                                t.connect_errors += 1;
                            } else {
                                t.read_errors += 1;
                            }
                            // A refused connection fails at once: do not spin on it.
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                        Err(_) => t.timeouts += 1,
                    }
                }
                t
            }));
        }
        let mut all = Tally::default();
        for task in tasks {
            all.merge(task.await?);
        }
        Ok(all.into_result(start.elapsed()))
    })
}

fn is_connect_error(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == ErrorKind::ConnectionRefused)
}

/// One client's counts.
#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u64>,
    non_2xx_3xx: u64,
    connect_errors: u64,
    read_errors: u64,
    timeouts: u64,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        self.non_2xx_3xx += other.non_2xx_3xx;
        self.connect_errors += other.connect_errors;
        self.read_errors += other.read_errors;
        self.timeouts += other.timeouts;
    }

    fn into_result(mut self, elapsed: Duration) -> WrkResult {
        self.latencies_us.sort_unstable();
        let pct = |p: f64| -> f64 {
            if self.latencies_us.is_empty() {
                return 0.0;
            }
            let i = ((self.latencies_us.len() as f64 * p).ceil() as usize)
                .clamp(1, self.latencies_us.len());
            self.latencies_us[i - 1] as f64 / 1000.0
        };
        let requests = self.latencies_us.len() as u64;
        let seconds = elapsed.as_secs_f64();
        WrkResult {
            requests,
            seconds,
            rps: if seconds > 0.0 {
                requests as f64 / seconds
            } else {
                0.0
            },
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            non_2xx_3xx: self.non_2xx_3xx,
            connect_errors: self.connect_errors,
            read_errors: self.read_errors,
            write_errors: 0,
            timeouts: self.timeouts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_gives_wrk_shaped_figures() {
        let t = Tally {
            latencies_us: (1..=100).rev().map(|ms| ms * 1000).collect(),
            read_errors: 2,
            ..Tally::default()
        };
        let r = t.into_result(Duration::from_secs(2));
        assert_eq!(r.requests, 100);
        assert!((r.rps - 50.0).abs() < 1e-9);
        assert!((r.p50_ms - 50.0).abs() < 1e-9);
        assert!((r.p99_ms - 99.0).abs() < 1e-9);
        assert_eq!(r.failed(), 2);
    }

    #[test]
    fn the_client_never_resumes_and_offers_no_alpn() {
        let cfg = client_config(b"not a real certificate").expect("config");
        assert!(cfg.alpn_protocols.is_empty(), "HTTP/1.1, as wrk");
        assert_eq!(
            format!("{:?}", cfg.resumption),
            format!("{:?}", Resumption::disabled())
        );
    }
}
