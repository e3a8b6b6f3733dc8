//! TLS in the dynamic configuration, in Traefik's shape: a router's `tls` section (labels:
//! `traefik.http.routers.X.tls=true`; files: `tls: {}`) and the file provider's top-level
//! `tls:` section with the certificates to serve.
//!
//! The certificate files are read by the provider that names them (so a reload of the file
//! provider re-reads them); what they contain is checked where they are used
//! (`crate::tls::certs`), which keeps the previous certificates when new ones are broken.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A router's `tls` section. Its presence makes the router serve TLS connections only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouterTls {
    /// Accepted for compatibility: there is no ACME here; certificates come from files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_resolver: Option<String>,
    /// Accepted for compatibility: TLS options are rustls' defaults (TLS 1.2 and 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
}

/// The top-level `tls:` section of a dynamic configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificates picked by SNI: the one whose names match the name the client asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertificateFiles>,
    /// Stores by name; only `default` is used, for its `defaultCertificate`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stores: BTreeMap<String, Store>,
    /// Accepted for compatibility (`tls.options.default.minVersion`...): not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<serde_json::Value>,
}

impl TlsConfig {
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty() && self.stores.is_empty() && self.options.is_none()
    }

    /// The default store's `defaultCertificate`, if any.
    pub fn default_certificate(&self) -> Option<&CertificateFiles> {
        self.stores.get("default")?.default_certificate.as_ref()
    }

    /// Adds `other`'s certificates; its default certificate only if none is set yet.
    pub fn extend(&mut self, other: TlsConfig) {
        self.certificates.extend(other.certificates);
        for (name, store) in other.stores {
            let slot = self.stores.entry(name).or_default();
            if slot.default_certificate.is_none() {
                slot.default_certificate = store.default_certificate;
            }
        }
        if self.options.is_none() {
            self.options = other.options;
        }
    }

    /// Reads every certificate and key file named here into [`CertificateFiles::loaded`].
    pub fn read_files(&mut self) {
        let stores = self
            .stores
            .values_mut()
            .filter_map(|s| s.default_certificate.as_mut());
        for c in self.certificates.iter_mut().chain(stores) {
            c.loaded = Some(c.read());
        }
    }
}

/// A `tls.stores.<name>` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Store {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_certificate: Option<CertificateFiles>,
}

/// A certificate (PEM, the chain: the server's certificate first) and its private key (PEM).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateFiles {
    pub cert_file: String,
    pub key_file: String,
    /// Accepted for compatibility: every certificate is in the default store.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<String>,
    /// The files' contents as last read, or why they could not be read. Part of the equality,
    /// so a provider publishes again when a certificate file changed.
    #[serde(skip)]
    pub loaded: Option<Result<Pem, String>>,
}

/// A certificate's and a key's PEM text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pem {
    pub cert: Arc<Vec<u8>>,
    pub key: Arc<Vec<u8>>,
}

impl CertificateFiles {
    /// Reads both files; the error names the file and what to do.
    pub fn read(&self) -> Result<Pem, String> {
        let read = |path: &str, what: &str, key: &str| {
            std::fs::read(path).map(Arc::new).map_err(|e| {
                format!("cannot read the {what} `{path}` ({e}); fix `{key}` or create the file")
            })
        };
        Ok(Pem {
            cert: read(&self.cert_file, "certificate file", "certFile")?,
            key: read(&self.key_file, "key file", "keyFile")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_traefik_tls_sections() {
        let yaml = r#"
certificates:
  - certFile: /certs/a.pem
    keyFile: /certs/a-key.pem
  - certFile: b.pem
    keyFile: b-key.pem
    stores: [default]
stores:
  default:
    defaultCertificate:
      certFile: d.pem
      keyFile: d-key.pem
"#;
        let t: TlsConfig = serde_norway::from_str(yaml).unwrap();
        assert_eq!(t.certificates.len(), 2);
        assert_eq!(t.certificates[0].cert_file, "/certs/a.pem");
        assert_eq!(t.default_certificate().unwrap().key_file, "d-key.pem");
        let r: RouterTls = serde_norway::from_str("{}").unwrap();
        assert_eq!(r, RouterTls::default());
        assert!(serde_norway::from_str::<TlsConfig>("certificates: [{certFile: a}]").is_err());
    }

    #[test]
    fn extend_keeps_the_first_default_certificate() {
        let files = |c: &str| CertificateFiles {
            cert_file: c.into(),
            key_file: format!("{c}.key"),
            ..Default::default()
        };
        let with_default = |c: &str| TlsConfig {
            certificates: vec![files(c)],
            stores: BTreeMap::from([(
                "default".into(),
                Store {
                    default_certificate: Some(files(c)),
                },
            )]),
            options: None,
        };
        let mut t = with_default("a");
        t.extend(with_default("b"));
        assert_eq!(t.certificates.len(), 2);
        assert_eq!(t.default_certificate().unwrap().cert_file, "a");
    }

    #[test]
    fn a_missing_file_is_named() {
        let mut t = TlsConfig {
            certificates: vec![CertificateFiles {
                cert_file: "/nonexistent/cert.pem".into(),
                key_file: "/nonexistent/key.pem".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        t.read_files();
        let e = t.certificates[0].loaded.clone().unwrap().unwrap_err();
        assert!(
            e.contains("/nonexistent/cert.pem") && e.contains("certFile"),
            "{e}"
        );
    }
}
