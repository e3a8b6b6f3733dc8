//! The TLS side of the benchmark: the one certificate every peer serves, and what a peer
//! negotiates with wrk's TLS library (OpenSSL).
//!
//! The certificate is made once per run in the run's temp dir with the `openssl` CLI: an ECDSA
//! P-256 key (the cheapest signature a server makes per handshake, and what Let's Encrypt
//! issues by default) for `localhost` and `127.0.0.1`, valid two days. Every peer gets the same
//! files, so no peer signs with a cheaper key than another.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};

/// What the bench's certificate is, for the report.
pub const CERT_KIND: &str = "ECDSA P-256, self-signed, one for every peer";

/// The bench's certificate and key, as PEM files.
#[derive(Debug, Clone)]
pub struct BenchCert {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Certificate then key in one file: what HAProxy's `crt` takes.
    pub combined: PathBuf,
    /// The certificate in DER, pinned by the handshake client.
    pub der: Vec<u8>,
}

impl BenchCert {
    /// Makes the certificate in `dir` (openssl CLI).
    pub fn generate(dir: &Path) -> Result<BenchCert> {
        std::fs::create_dir_all(dir)?;
        let cert = dir.join("bench-cert.pem");
        let key = dir.join("bench-key.pem");
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .arg("ec_paramgen_curve:prime256v1")
            .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .context("run openssl (Debian: apt-get install openssl)")?;
        if !out.status.success() {
            bail!(
                "openssl could not make the bench certificate: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let cert_pem = std::fs::read_to_string(&cert)?;
        let combined = dir.join("bench-combined.pem");
        std::fs::write(
            &combined,
            format!("{cert_pem}{}", std::fs::read_to_string(&key)?),
        )?;
        let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| anyhow::anyhow!("read {}: {e}", cert.display()))?;
        Ok(BenchCert {
            der: der.to_vec(),
            cert,
            key,
            combined,
        })
    }
}

/// What a TLS connection settled on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Negotiated {
    /// `TLSv1.3`
    pub protocol: String,
    /// `TLS_AES_256_GCM_SHA384`
    pub cipher: String,
    /// The key exchange: `X25519`
    pub group: String,
    /// A new session (full handshake) or a resumed one.
    pub resumed: bool,
}

impl Negotiated {
    pub fn show(&self) -> String {
        format!(
            "{}, {}, {}{}",
            self.protocol,
            self.cipher,
            self.group,
            if self.resumed { ", resumed" } else { "" }
        )
    }
}

/// What OpenSSL's client (wrk's TLS library, same defaults) negotiates with the peer on
/// 127.0.0.1:`port`: one `openssl s_client` connection.
pub fn negotiated_with_openssl(port: u16) -> Result<Negotiated> {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", "localhost"])
        .stdin(Stdio::null())
        .output()
        .context("run openssl s_client")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_s_client(&text).with_context(|| format!("read openssl s_client's report:\n{text}"))
}

/// Reads `New, TLSv1.3, Cipher is X` and `Server Temp Key: X25519, 253 bits` from s_client.
pub fn parse_s_client(text: &str) -> Result<Negotiated> {
    let mut n = Negotiated::default();
    for line in text.lines().map(str::trim) {
        let session = line
            .strip_prefix("New, ")
            .map(|rest| (false, rest))
            .or_else(|| line.strip_prefix("Reused, ").map(|rest| (true, rest)));
        if let Some((resumed, rest)) = session {
            if let Some((proto, cipher)) = rest.split_once(", Cipher is ") {
                n.protocol = proto.trim().to_string();
                n.cipher = cipher.trim().to_string();
                n.resumed = resumed;
            }
        } else if let Some(v) = line.strip_prefix("Server Temp Key:") {
            n.group = v.split(',').next().unwrap_or("").trim().to_string();
        }
    }
    if n.protocol.is_empty() || n.cipher.is_empty() {
        bail!("no `New, <protocol>, Cipher is <cipher>` line");
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_s_client_report() {
        let text = "CONNECTED(00000003)\n---\nPeer signature type: ECDSA\nServer Temp Key: X25519, 253 bits\n---\nNew, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384\nServer public key is 256 bit\n";
        let n = parse_s_client(text).expect("parses");
        assert_eq!(n.protocol, "TLSv1.3");
        assert_eq!(n.cipher, "TLS_AES_256_GCM_SHA384");
        assert_eq!(n.group, "X25519");
        assert!(!n.resumed);
        assert_eq!(n.show(), "TLSv1.3, TLS_AES_256_GCM_SHA384, X25519");
        assert!(parse_s_client("CONNECTED\nerror").is_err());
    }
}
