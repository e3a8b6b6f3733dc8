//! A certificate and its key, from PEM text to what rustls serves, with the names (SAN and CN)
//! SNI can pick it by. Each error says which file is wrong and what to do.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use crate::config::tls::{CertificateFiles, Pem, TlsConfig};

/// A certificate ready to serve.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub key: Arc<CertifiedKey>,
    /// DNS names from the subject alternative names, and the subject's CN (Traefik also
    /// matches it, for certificates made without SAN); lower case, wildcards as `*.x`.
    pub names: Vec<String>,
}

/// Turns `files`' contents into a certificate, checking that the key is the certificate's.
pub fn load(
    files: &CertificateFiles,
    pem: &Pem,
    provider: &CryptoProvider,
) -> Result<Loaded, String> {
    let cert_file = &files.cert_file;
    let key_file = &files.key_file;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem.cert)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("`{cert_file}` is not PEM certificates ({e}); certFile must hold `-----BEGIN CERTIFICATE-----` blocks, the server's certificate first"))?;
    let Some(leaf) = chain.first() else {
        return Err(format!(
            "`{cert_file}` holds no certificate; certFile must hold `-----BEGIN CERTIFICATE-----` blocks"
        ));
    };
    let names = names_of(leaf).map_err(|e| {
        format!("`{cert_file}`: the certificate cannot be read ({e}); make it again")
    })?;
    let key = PrivateKeyDer::from_pem_slice(&pem.key).map_err(|e| {
        format!("`{key_file}` is not a PEM private key ({e}); keyFile must hold a `-----BEGIN PRIVATE KEY-----` (or RSA/EC) block")
    })?;
    let key = CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        format!("`{key_file}` is not the key of `{cert_file}` ({e}); give each certificate the key it was made with")
    })?;
    Ok(Loaded {
        key: Arc::new(key),
        names,
    })
}

/// What is wrong with the certificates `tls` names, one message per pair of files (for the
/// provider's issues: the API shows them; the proxy also logs them when it applies `tls`).
pub fn problems(tls: &TlsConfig) -> Vec<String> {
    let provider = rustls::crypto::ring::default_provider();
    let stores = tls
        .stores
        .values()
        .filter_map(|s| s.default_certificate.as_ref());
    tls.certificates
        .iter()
        .chain(stores)
        .filter_map(|files| {
            let checked = match &files.loaded {
                Some(Ok(pem)) => load(files, pem, &provider).map(drop),
                Some(Err(e)) => Err(e.clone()),
                None => Ok(()),
            };
            checked.err()
        })
        .collect()
}

/// The DNS names a certificate is for: its SAN DNS names, then its CN if that looks like a
/// host name.
pub fn names_of(cert: &CertificateDer<'_>) -> Result<Vec<String>, String> {
    use x509_parser::extensions::GeneralName;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).map_err(|e| e.to_string())?;
    let mut names: Vec<String> = Vec::new();
    if let Ok(Some(san)) = parsed.subject_alternative_name() {
        for n in &san.value.general_names {
            if let GeneralName::DNSName(d) = n {
                names.push(d.to_ascii_lowercase());
            }
        }
    }
    for cn in parsed.subject().iter_common_name() {
        if let Ok(cn) = cn.as_str() {
            let cn = cn.to_ascii_lowercase();
            let hostlike = !cn.is_empty()
                && cn
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '*' | '_'));
            if hostlike && !names.contains(&cn) {
                names.push(cn);
            }
        }
    }
    Ok(names)
}

/// The default certificate made at start when none is configured: self-signed, as Traefik's
/// "TRAEFIK DEFAULT CERT" (clients warn about it; `curl -k` accepts it).
pub fn generate_default(provider: &CryptoProvider) -> Loaded {
    let mut params = rcgen::CertificateParams::new(vec!["traefik.default".to_string()])
        .expect("a fixed DNS name is valid");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "TRAEFIK DEFAULT CERT");
    params.distinguished_name.push(
        rcgen::DnType::OrganizationName,
        "HTTP Infra Lab proxy (self-signed default certificate)",
    );
    let key = rcgen::KeyPair::generate().expect("the ring provider makes ECDSA keys");
    let cert = params
        .self_signed(&key)
        .expect("a self-signed certificate can be made");
    let der = PrivateKeyDer::try_from(key.serialize_der()).expect("rcgen writes PKCS#8");
    let certified = CertifiedKey::from_der(vec![cert.der().clone()], der, provider)
        .expect("a generated key matches its certificate");
    Loaded {
        key: Arc::new(certified),
        // Only ever served as the default: no name picks it.
        names: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> CryptoProvider {
        rustls::crypto::ring::default_provider()
    }

    fn make(names: &[&str], cn: &str) -> (String, String) {
        let mut p =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        let k = rcgen::KeyPair::generate().unwrap();
        let c = p.self_signed(&k).unwrap();
        (c.pem(), k.serialize_pem())
    }

    fn pem(cert: &str, key: &str) -> Pem {
        Pem {
            cert: Arc::new(cert.as_bytes().to_vec()),
            key: Arc::new(key.as_bytes().to_vec()),
        }
    }

    fn files() -> CertificateFiles {
        CertificateFiles {
            cert_file: "c.pem".into(),
            key_file: "k.pem".into(),
            ..Default::default()
        }
    }

    #[test]
    fn names_come_from_san_and_cn() {
        let (c, k) = make(&["a.lab", "*.Wild.lab"], "Legacy.Lab");
        let l = load(&files(), &pem(&c, &k), &provider()).unwrap();
        assert_eq!(l.names, ["a.lab", "*.wild.lab", "legacy.lab"]);
        let (c, k) = make(&[], "TRAEFIK DEFAULT CERT");
        let l = load(&files(), &pem(&c, &k), &provider()).unwrap();
        assert!(l.names.is_empty(), "{:?}", l.names);
    }

    #[test]
    fn errors_name_the_file() {
        let (c, k) = make(&["a.lab"], "a");
        let (_, other_key) = make(&["b.lab"], "b");
        let e = load(&files(), &pem("junk", &k), &provider()).unwrap_err();
        assert!(e.contains("c.pem") && e.contains("no certificate"), "{e}");
        let e = load(&files(), &pem(&c, "junk"), &provider()).unwrap_err();
        assert!(e.contains("k.pem") && e.contains("private key"), "{e}");
        let e = load(&files(), &pem(&c, &other_key), &provider()).unwrap_err();
        assert!(e.contains("is not the key of `c.pem`"), "{e}");
    }

    #[test]
    fn problems_are_listed_per_pair() {
        let (c, k) = make(&["a.lab"], "a");
        let good = CertificateFiles {
            loaded: Some(Ok(pem(&c, &k))),
            ..files()
        };
        let bad = CertificateFiles {
            loaded: Some(Ok(pem(&c, "junk"))),
            ..files()
        };
        let tls = TlsConfig {
            certificates: vec![good, bad],
            ..Default::default()
        };
        let p = problems(&tls);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("k.pem"), "{p:?}");
    }

    #[test]
    fn the_default_certificate_says_what_it_is() {
        let l = generate_default(&provider());
        let (_, parsed) = x509_parser::parse_x509_certificate(&l.key.cert[0]).unwrap();
        assert!(parsed
            .subject()
            .to_string()
            .contains("TRAEFIK DEFAULT CERT"));
    }
}
