//! `--entrypoints.<name>.*`: where the proxy listens, and how each entrypoint treats its
//! clients (forwarded headers, timeouts, TLS, a redirection).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::{parse_bool, CliError};
use crate::config::duration_str;
pub use crate::entrypoint_http::EntryPointHttp;
pub use crate::parse::IpNet;

#[derive(Debug, Clone, PartialEq)]
pub struct EntryPointConfig {
    /// As written (`:80`), for the API.
    pub address: String,
    pub socket: SocketAddr,
    /// `forwardedheaders.insecure`: trust X-Forwarded-* from every client.
    pub trust_all_forwarded: bool,
    /// `forwardedheaders.trustedips`: trust X-Forwarded-* from these clients.
    pub trusted_ips: Vec<IpNet>,
    /// `transport.respondingtimeouts.readtimeout` (default 10s here): a client must send its
    /// headers within this time.
    pub header_read_timeout: Duration,
    /// `transport.lifecycle.gracetimeout` (default 10s): in-flight requests get this long at
    /// shutdown.
    pub grace_timeout: Duration,
    /// `http.tls` and `http.redirections.entrypoint.*`.
    pub http: EntryPointHttp,
}

/// An entrypoint's settings (key after `entrypoints.<name>.` -> value and flag as written) as
/// its configuration.
pub(super) fn entrypoint(
    name: &str,
    settings: &BTreeMap<String, (String, String)>,
) -> Result<EntryPointConfig, CliError> {
    let (address, flag) =
        settings
            .get("address")
            .cloned()
            .ok_or_else(|| CliError::MissingValue {
                flag: format!("--entrypoints.{name}.address"),
            })?;
    let bad = |flag: &str, value: &str, reason: String| CliError::BadValue {
        flag: flag.to_string(),
        value: value.to_string(),
        reason,
    };
    let socket = parse_address(&address).map_err(|r| bad(&flag, &address, r))?;
    let mut ep = EntryPointConfig {
        address: address.clone(),
        socket,
        trust_all_forwarded: false,
        trusted_ips: Vec::new(),
        header_read_timeout: Duration::from_secs(10),
        grace_timeout: Duration::from_secs(10),
        http: EntryPointHttp::default(),
    };
    for (tail, (value, flag)) in settings {
        match tail.as_str() {
            "address" => {}
            "forwardedheaders.insecure" => ep.trust_all_forwarded = parse_bool(flag, value)?,
            "forwardedheaders.trustedips" => {
                ep.trusted_ips = value
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(IpNet::parse)
                    .collect::<Result<_, _>>()
                    .map_err(|r| bad(flag, value, r))?
            }
            "transport.respondingtimeouts.readtimeout" => {
                ep.header_read_timeout =
                    duration_str::parse(value).map_err(|r| bad(flag, value, r))?
            }
            "transport.lifecycle.gracetimeout" => {
                ep.grace_timeout = duration_str::parse(value).map_err(|r| bad(flag, value, r))?
            }
            http if http.starts_with("http.") => ep
                .http
                .set(&http["http.".len()..], value)
                .map_err(|r| bad(flag, value, r.to_string()))?,
            other => unreachable!("entrypoint key `{other}` is in KEYS but not handled"),
        }
    }
    Ok(ep)
}

/// Checks each entrypoint's redirection against the entrypoints there are.
pub(super) fn check_redirections(
    entrypoints: &BTreeMap<String, EntryPointConfig>,
) -> Result<(), CliError> {
    let names: Vec<&String> = entrypoints.keys().collect();
    for (name, ep) in entrypoints {
        ep.http.check(&names).map_err(|reason| CliError::BadValue {
            flag: format!("--entrypoints.{name}.http.redirections.entrypoint.to"),
            value: ep
                .http
                .redirect
                .as_ref()
                .map_or(String::new(), |r| r.to.clone()),
            reason,
        })?;
    }
    Ok(())
}

/// Parses an address like Traefik: `:80` means every interface.
pub fn parse_address(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    let s = s.strip_suffix("/tcp").unwrap_or(s);
    if let Some(port) = s.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("`{s}` has a bad port; write it like `:80`"))?;
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    if let Some(port) = s.strip_prefix("localhost:") {
        let port: u16 = port.parse().map_err(|_| format!("`{s}` has a bad port"))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    s.parse()
        .map_err(|_| format!("`{s}` is not an address; write it like `:80` or `127.0.0.1:8080`"))
}
