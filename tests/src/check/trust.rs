//! Which HTTPS certificates the checks accept: the one signed by the lab's CA (`--cacert`, or
//! `cacert` in lab.toml), as a browser that was told to trust that CA; or, with no CA given,
//! any certificate, since the 2023 statement asks only for a self-signed one and expects the
//! browser's warning (the `https` check then says that nothing was verified).
//!
//! No built-in roots either way: the checks only talk to this machine, where no certificate
//! from a public CA is expected.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use reqwest::{Certificate, ClientBuilder};

#[derive(Debug, Clone, Default)]
pub enum Trust {
    /// Certificates that chain to this CA, for the name the checks ask for.
    Ca {
        path: PathBuf,
        certs: Vec<Certificate>,
    },
    /// Anything (no CA given): TLS still encrypts, but proves nothing about the server.
    #[default]
    Unverified,
    /// Nothing at all: a client that was never told about the lab CA, like a fresh browser.
    Nothing,
}

impl Trust {
    /// The CA in `path` (PEM); none: [`Trust::Unverified`].
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let Some(path) = path else {
            return Ok(Trust::Unverified);
        };
        let pem = std::fs::read(path).with_context(|| {
            format!(
                "cannot read the CA certificate {} (--cacert or cacert in lab.toml): for the \
                 kit's 2023 stack, run `bash scripts/lab-cert.sh` and pass \
                 compose/edition-2023/certs/ca.crt",
                path.display()
            )
        })?;
        let certs = Certificate::from_pem_bundle(&pem)
            .ok()
            .filter(|certs| !certs.is_empty())
            .with_context(|| {
                format!(
                    "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the CA's \
                     certificate, not its key",
                    path.display()
                )
            })?;
        Ok(Trust::Ca {
            path: path.to_path_buf(),
            certs,
        })
    }

    /// For evidence: what a successful HTTPS request proved.
    pub fn describe(&self) -> String {
        match self {
            Trust::Ca { path, .. } => format!("certificate verified against {}", path.display()),
            Trust::Unverified => "certificate NOT verified (no CA given: pass --cacert FILE, or \
                                  cacert in lab.toml, to check it)"
                .into(),
            Trust::Nothing => "no CA trusted".into(),
        }
    }

    pub fn verifies(&self) -> bool {
        matches!(self, Trust::Ca { .. })
    }

    /// `builder` set to accept what this trust accepts.
    pub fn apply(&self, builder: ClientBuilder) -> ClientBuilder {
        let builder = builder.use_rustls_tls().tls_built_in_root_certs(false);
        match self {
            Trust::Ca { certs, .. } => certs
                .iter()
                .fold(builder, |b, cert| b.add_root_certificate(cert.clone())),
            Trust::Unverified => builder.danger_accept_invalid_certs(true),
            Trust::Nothing => builder,
        }
    }
}

/// The DER `SubjectPublicKeyInfo` of a DER certificate: what Chromium's
/// `--ignore-certificate-errors-spki-list` names (base64 of its SHA-256, [`spki_pin`]).
pub fn spki(cert: &[u8]) -> Option<&[u8]> {
    // One DER element at the start of `der`: (its tag, its whole encoding, its content).
    fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = der.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, &rest[n..])
        };
        let header = der.len() - rest.len();
        let content = rest.get(..len)?;
        Some((tag, &der[..header + len], content))
    }
    let (_, _, certificate) = element(cert)?;
    let (_, _, mut tbs) = element(certificate)?;
    // version [0] (optional), serialNumber, signature, issuer, validity, subject, then the key.
    let mut skipped = 0;
    loop {
        let (tag, whole, _) = element(tbs)?;
        if tag == 0xa0 {
            tbs = &tbs[whole.len()..];
            continue;
        }
        if skipped == 5 {
            return (tag == 0x30).then_some(whole);
        }
        skipped += 1;
        tbs = &tbs[whole.len()..];
    }
}

/// Chromium's pin for a certificate: base64 of the SHA-256 of its public key info.
pub fn spki_pin(cert: &[u8]) -> Option<String> {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(spki(cert)?);
    Some(base64::engine::general_purpose::STANDARD.encode(digest))
}

/// Why a TLS connection failed, in a student's words, from the error chain's text.
pub fn explain(error: &anyhow::Error) -> Option<&'static str> {
    let text = format!("{error:#}").to_ascii_lowercase();
    let why = if text.contains("unknownissuer") || text.contains("unknown issuer") {
        "the certificate is not signed by a CA the client trusts (a browser shows its warning \
         here): self-signed, or signed by another CA than the one given"
    } else if text.contains("badsignature") || text.contains("bad signature") {
        "the certificate names this CA as its issuer but was signed with another key: a CA of \
         the same name made again (lab-cert.sh --force)? Give the ca.crt that signed the proxy's \
         certificate, or restart the proxy with the new one"
    } else if text.contains("notvalidforname") || text.contains("not valid for name") {
        "the certificate is not for this name: its subjectAltName must list the host (localhost)"
    } else if text.contains("expired") {
        "the certificate has expired: make a new one (bash scripts/lab-cert.sh --force)"
    } else if text.contains("notvalidyet") {
        "the certificate is not valid yet: is this machine's clock right?"
    } else if text.contains("corrupt message") || text.contains("invalidcontenttype") {
        "the port does not speak TLS: is it the HTTP entrypoint rather than the HTTPS one?"
    } else {
        return None;
    };
    Some(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_path_means_unverified_and_says_so() {
        let t = Trust::load(None).unwrap();
        assert!(!t.verifies());
        assert!(t.describe().contains("NOT verified"), "{}", t.describe());
    }

    #[test]
    fn a_missing_or_bad_file_says_what_to_do() {
        let e = Trust::load(Some(Path::new("/nonexistent/ca.crt")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("lab-cert.sh"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("ca.crt");
        std::fs::write(&bad, "not a certificate").unwrap();
        assert!(Trust::load(Some(&bad)).is_err());
    }

    #[test]
    fn the_public_key_is_found_in_a_certificate() {
        use base64::Engine;
        // A certificate made by `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256`,
        // and its key's pin as `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der
        // | openssl dgst -sha256 -binary | base64` prints it.
        let der = base64::engine::general_purpose::STANDARD
            .decode(
                "MIIBfTCCASOgAwIBAgIUel+qjH5wYkHAdKO1O9SxNHPUq3UwCgYIKoZIzj0EAwIwFDESMBAGA1UEAwwJ\
                   bG9jYWxob3N0MB4XDTI2MTIwMjEzMjMzM1oXDTI2MTIwMzEzMjMzM1owFDESMBAGA1UEAwwJbG9jYWxo\
                   b3N0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE7AN4VwYaw44TjBvy8Wvc0LB021UxcEK7qWQcApdp\
                   /yGACYoDtg7VeC308IdGVgusp9wgFP4Qevfmw1Gy9YbvOqNTMFEwHQYDVR0OBBYEFKk97ZF8Tsuc4E9i\
                   X9//LLHFIg+AMB8GA1UdIwQYMBaAFKk97ZF8Tsuc4E9iX9//LLHFIg+AMA8GA1UdEwEB/wQFMAMBAf8w\
                   CgYIKoZIzj0EAwIDSAAwRQIgT5EbrUAcAolq6AuIIEJw1Eja2jh9e0oFxa0vM/Px3C0CIQDX11lblp5h\
                   fFOiHvxn7Xk65jQtcTqSBKsmJ7WWxh8m0Q==",
            )
            .unwrap();
        assert_eq!(
            spki_pin(&der).as_deref(),
            Some("1fLmZF2QB7nbJFXPJq3gk0HxUxW02ZKOkdZHZTKVo5A=")
        );
        assert_eq!(spki(&[0x30, 0x00]), None);
        assert_eq!(spki(b"not DER"), None);
        assert_eq!(spki(&der[..40]), None, "cut short");
    }

    #[test]
    fn tls_errors_are_explained() {
        let e = anyhow::anyhow!("invalid peer certificate: UnknownIssuer");
        assert!(explain(&e).unwrap().contains("not signed by a CA"));
        let e = anyhow::anyhow!("invalid peer certificate: BadSignature");
        assert!(explain(&e).unwrap().contains("made again"));
        let e = anyhow::anyhow!("invalid peer certificate: NotValidForName");
        assert!(explain(&e).unwrap().contains("subjectAltName"));
        assert!(explain(&anyhow::anyhow!("connection refused")).is_none());
    }
}
