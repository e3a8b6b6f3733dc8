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

/// Why a TLS connection failed, in a student's words, from the error chain's text.
pub fn explain(error: &anyhow::Error) -> Option<&'static str> {
    let text = format!("{error:#}").to_ascii_lowercase();
    let why = if text.contains("unknownissuer") || text.contains("unknown issuer") {
        "the certificate is not signed by a CA the client trusts (a browser shows its warning \
         here): self-signed, or signed by another CA than the one given"
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
    fn tls_errors_are_explained() {
        let e = anyhow::anyhow!("invalid peer certificate: UnknownIssuer");
        assert!(explain(&e).unwrap().contains("not signed by a CA"));
        let e = anyhow::anyhow!("invalid peer certificate: NotValidForName");
        assert!(explain(&e).unwrap().contains("subjectAltName"));
        assert!(explain(&anyhow::anyhow!("connection refused")).is_none());
    }
}
