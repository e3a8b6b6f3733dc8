//! TLS termination with rustls: the certificates ([`certs`]), the store SNI picks them from
//! ([`store`]), and the rustls configuration every entrypoint shares ([`server_config`]).
//!
//! Certificates come from the file provider (`tls.certificates`,
//! `tls.stores.default.defaultCertificate`); with none, a self-signed default is made at
//! start, as Traefik does. The crypto is rustls' `ring` provider (aws-lc-rs, rustls' default,
//! needs cmake and a C toolchain to build).

pub mod certs;
pub mod store;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::ServerConfig;

pub use store::{CertStore, Certificates, Resolver};

/// ALPN protocols offered, preferred first: HTTP/2, then HTTP/1.1.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The crypto provider used for every handshake and key.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server side of TLS: TLS 1.2 and 1.3, no client certificates, certificates from
/// `resolver`, ALPN `h2` and `http/1.1`.
pub fn server_config(provider: Arc<CryptoProvider>, resolver: Resolver) -> Arc<ServerConfig> {
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    cfg.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Arc::new(cfg)
}
