//! The certificates being served, and how SNI picks one: an exact name first, then a wildcard
//! (`*.lab` covers `a.lab`, one label deep), else the default certificate. A store is
//! immutable; a reload builds a new one and swaps it in (the resolver reads it per handshake),
//! so connections already open keep the certificate they started with.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::certs::{self, Loaded};
use crate::config::tls::{CertificateFiles, TlsConfig};

/// Certificates by name, and the default.
#[derive(Debug)]
pub struct CertStore {
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// `*.lab` is stored as `lab`.
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
}

impl CertStore {
    /// A store of `certs` (the first one with a name wins it, as listed) and `default`.
    pub fn new(certs: &[Loaded], default: Arc<CertifiedKey>) -> Self {
        let mut s = CertStore {
            exact: HashMap::new(),
            wildcard: HashMap::new(),
            default,
        };
        for c in certs {
            for name in &c.names {
                let (map, key) = match name.strip_prefix("*.") {
                    Some(parent) => (&mut s.wildcard, parent),
                    None => (&mut s.exact, name.as_str()),
                };
                map.entry(key.to_string()).or_insert_with(|| c.key.clone());
            }
        }
        s
    }

    /// The certificate for `sni` (the name the client asked for; none: the default).
    pub fn pick(&self, sni: Option<&str>) -> &Arc<CertifiedKey> {
        let Some(name) = sni.map(|n| n.trim_end_matches('.').to_ascii_lowercase()) else {
            return &self.default;
        };
        if let Some(k) = self.exact.get(&name) {
            return k;
        }
        name.split_once('.')
            .and_then(|(_, parent)| self.wildcard.get(parent))
            .unwrap_or(&self.default)
    }
}

/// rustls' view of the current store.
#[derive(Debug, Clone)]
pub struct Resolver(pub Arc<ArcSwap<CertStore>>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load().pick(hello.server_name()).clone())
    }
}

/// Builds stores from configurations, remembering the last good certificate of each
/// `(certFile, keyFile)` pair so that a broken file keeps the previous one.
pub struct Certificates {
    provider: Arc<CryptoProvider>,
    generated: Loaded,
    last_good: HashMap<(String, String), Loaded>,
    current: Option<TlsConfig>,
    pub store: Arc<ArcSwap<CertStore>>,
}

impl Certificates {
    /// A store holding the generated default certificate only.
    pub fn new(provider: Arc<CryptoProvider>) -> Self {
        let generated = certs::generate_default(&provider);
        let store = CertStore::new(&[], generated.key.clone());
        Self {
            provider,
            generated,
            last_good: HashMap::new(),
            current: None,
            store: Arc::new(ArcSwap::from_pointee(store)),
        }
    }

    /// Serves what `tls` says, from the next handshake on. Does nothing when `tls` is what was
    /// applied last. Problems are logged, naming the file; the pair's previous certificate (if
    /// any) stays in their place.
    pub fn update(&mut self, tls: &TlsConfig) {
        if self.current.as_ref() == Some(tls) {
            return;
        }
        let mut loaded = Vec::new();
        for files in &tls.certificates {
            loaded.extend(self.load(files));
        }
        let default = match tls.default_certificate() {
            Some(files) => self.load(files).map(|l| l.key),
            None => None,
        };
        let default = default.unwrap_or_else(|| self.generated.key.clone());
        tracing::info!(certificates = loaded.len(), "TLS certificates applied");
        self.store.store(Arc::new(CertStore::new(&loaded, default)));
        self.current = Some(tls.clone());
    }

    fn load(&mut self, files: &CertificateFiles) -> Option<Loaded> {
        let pair = (files.cert_file.clone(), files.key_file.clone());
        let result = match &files.loaded {
            Some(Ok(pem)) => certs::load(files, pem, &self.provider),
            Some(Err(e)) => Err(e.clone()),
            None => files
                .read()
                .and_then(|pem| certs::load(files, &pem, &self.provider)),
        };
        match result {
            Ok(l) => {
                self.last_good.insert(pair, l.clone());
                Some(l)
            }
            Err(e) => {
                let kept = self.last_good.get(&pair).cloned();
                let what = if kept.is_some() {
                    "the previous certificate of these files is kept"
                } else {
                    "this certificate is not served"
                };
                tracing::error!("TLS certificate: {e}; {what}");
                kept
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tls::Pem;

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn loaded(names: &[&str]) -> Loaded {
        let mut p =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, "t");
        let k = rcgen::KeyPair::generate().unwrap();
        let c = p.self_signed(&k).unwrap();
        let pem = Pem {
            cert: Arc::new(c.pem().into_bytes()),
            key: Arc::new(k.serialize_pem().into_bytes()),
        };
        certs::load(&CertificateFiles::default(), &pem, &provider()).unwrap()
    }

    #[test]
    fn sni_picks_exact_then_wildcard_then_default() {
        let a = loaded(&["a.lab", "both.lab"]);
        let b = loaded(&["b.lab", "both.lab"]);
        let w = loaded(&["*.w.lab"]);
        let d = loaded(&[]);
        let s = CertStore::new(&[a.clone(), b.clone(), w.clone()], d.key.clone());
        let is = |sni: Option<&str>, l: &Loaded| Arc::ptr_eq(s.pick(sni), &l.key);
        assert!(is(Some("a.lab"), &a));
        assert!(is(Some("B.LAB."), &b));
        assert!(
            is(Some("both.lab"), &a),
            "the first listed wins a shared name"
        );
        assert!(is(Some("x.w.lab"), &w));
        assert!(
            is(Some("w.lab"), &d),
            "a wildcard does not cover its parent"
        );
        assert!(
            is(Some("y.x.w.lab"), &d),
            "a wildcard covers one label only"
        );
        assert!(is(Some("other.lab"), &d));
        assert!(is(None, &d));
    }

    #[test]
    fn a_broken_file_keeps_the_previous_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let write = |names: &[&str]| {
            let mut p = rcgen::CertificateParams::new(
                names.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
            .unwrap();
            p.distinguished_name.push(rcgen::DnType::CommonName, "t");
            let k = rcgen::KeyPair::generate().unwrap();
            let c = p.self_signed(&k).unwrap();
            std::fs::write(dir.path().join("c.pem"), c.pem()).unwrap();
            std::fs::write(dir.path().join("k.pem"), k.serialize_pem()).unwrap();
            c.der().clone()
        };
        let files = CertificateFiles {
            cert_file: dir.path().join("c.pem").display().to_string(),
            key_file: dir.path().join("k.pem").display().to_string(),
            ..Default::default()
        };
        let mut tls = TlsConfig {
            certificates: vec![files],
            ..Default::default()
        };
        let first = write(&["a.lab"]);
        tls.read_files();
        let mut c = Certificates::new(provider());
        c.update(&tls);
        assert_eq!(c.store.load().pick(Some("a.lab")).cert[0], first);

        std::fs::write(dir.path().join("c.pem"), "broken").unwrap();
        tls.read_files();
        c.update(&tls);
        assert_eq!(c.store.load().pick(Some("a.lab")).cert[0], first, "kept");

        let second = write(&["a.lab"]);
        tls.read_files();
        c.update(&tls);
        assert_eq!(
            c.store.load().pick(Some("a.lab")).cert[0],
            second,
            "reloaded"
        );
    }
}
