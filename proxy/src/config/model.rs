//! The dynamic configuration model: routers, services and middlewares, in Traefik's shape.
//!
//! Every provider (labels from Docker, the file provider) produces a [`ProviderConfig`]; the
//! proxy merges them, compiles the result into a routing snapshot and serves the API from it.
//! Field names serialize in Traefik's camelCase so the file provider reads Traefik's format and
//! the API writes Traefik's shapes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::rule::RuleSyntax;
use super::server_url::ServerUrl;
use crate::config::tls::{RouterTls, TlsConfig};
use crate::middleware;
pub use crate::middleware::{AddPrefix, Headers, RedirectScheme, ReplacePath, Retry, StripPrefix};

/// Middleware types Traefik v2 has and this proxy does not, as Traefik writes them in files
/// (labels use the same names in lower case).
pub const UNSUPPORTED_MIDDLEWARES: &[&str] = &[
    "basicAuth",
    "buffering",
    "chain",
    "circuitBreaker",
    "compress",
    "contentType",
    "digestAuth",
    "errors",
    "forwardAuth",
    "grpcWeb",
    "inFlightReq",
    "ipAllowList",
    "ipWhiteList",
    "passTLSClientCert",
    "plugin",
    "rateLimit",
    "redirectRegex",
    "replacePathRegex",
    "stripPrefixRegex",
];

/// What one provider wants routed. Names are unqualified (`static`, not `static@docker`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DynamicConfig {
    #[serde(default)]
    pub routers: BTreeMap<String, Router>,
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    #[serde(default)]
    pub middlewares: BTreeMap<String, Middleware>,
    /// Certificates (the file provider's top-level `tls:` section).
    #[serde(default, skip_serializing_if = "TlsConfig::is_empty")]
    pub tls: TlsConfig,
}

/// A router: a rule that matches requests, the middlewares they go through, and a service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Router {
    /// The rule, in Traefik's rule language (``Host(`demo.res.ch`) && PathPrefix(`/`)``).
    pub rule: String,
    /// `ruleSyntax`: the language of `rule`, v3 or v2; `None` takes
    /// `--core.defaultRuleSyntax` (v3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_syntax: Option<RuleSyntax>,
    /// The service's name, unqualified (same provider) or qualified (`name@provider`).
    pub service: String,
    /// Middleware names, in the order requests go through them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub middlewares: Vec<String>,
    /// Higher wins; `None` means the rule's length, as in Traefik.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Entrypoints this router listens on; empty means every entrypoint but the API's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry_points: Vec<String>,
    /// Present: the router serves TLS connections only (absent: plain ones only), as in
    /// Traefik. `--entrypoints.X.http.tls` makes every router on X a TLS one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RouterTls>,
}

/// A service: a load balancer over servers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    pub load_balancer: LoadBalancer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancer {
    /// Servers in a stable order (Docker: ordered by container id).
    #[serde(default)]
    pub servers: Vec<Server>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky: Option<Sticky>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(default = "yes")]
    pub pass_host_header: bool,
}

impl Default for LoadBalancer {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            sticky: None,
            health_check: None,
            pass_host_header: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// One upstream server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Server {
    /// `http://<ip>:<port>`, parsed once (see [`ServerUrl`]).
    pub url: ServerUrl,
    /// Who this server is, for people: the container name, or empty. Never sent to clients.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sticky {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<StickyCookie>,
}

/// The sticky cookie's attributes. `name: None` means Traefik's default name
/// (`_` + 5 hex chars of a hash of the service name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StickyCookie {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub secure: bool,
    #[serde(default)]
    pub http_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_site: Option<SameSite>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SameSite {
    None,
    Lax,
    Strict,
}

/// Active health check. A server is DOWN after a failed check, UP again after
/// consecutive successes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheck {
    pub path: String,
    /// Traefik's duration strings on the wire (`"10s"`, `"500ms"`).
    #[serde(with = "duration_str", default = "default_interval")]
    pub interval: Duration,
    #[serde(with = "duration_str", default = "default_timeout")]
    pub timeout: Duration,
    /// Check this port instead of the server's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

fn default_interval() -> Duration {
    Duration::from_secs(30)
}
fn default_timeout() -> Duration {
    Duration::from_secs(5)
}

/// A middleware, in Traefik's shape: one field per type, exactly one of them set. This is also
/// the registry of middleware types ([`Middleware::types`]): each type's configuration and
/// behaviour live in its own file under `crate::middleware`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Middleware {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_prefix: Option<StripPrefix>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_prefix: Option<AddPrefix>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_path: Option<ReplacePath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_scheme: Option<RedirectScheme>,
}

/// A slot of [`Middleware`] for labels to fill: the type's configuration, created empty.
fn slot<T: middleware::Config + Default>(o: &mut Option<T>) -> &mut dyn middleware::Config {
    o.get_or_insert_with(T::default)
}

impl Middleware {
    /// Every type: its name as Traefik writes it in files and its configuration, if set.
    pub fn types(&self) -> [(&'static str, Option<&dyn middleware::Config>); 6] {
        [
            ("stripPrefix", self.strip_prefix.as_ref().map(|c| c as _)),
            ("retry", self.retry.as_ref().map(|c| c as _)),
            ("addPrefix", self.add_prefix.as_ref().map(|c| c as _)),
            ("replacePath", self.replace_path.as_ref().map(|c| c as _)),
            ("headers", self.headers.as_ref().map(|c| c as _)),
            (
                "redirectScheme",
                self.redirect_scheme.as_ref().map(|c| c as _),
            ),
        ]
    }

    /// The configuration of type `name` (any case) for labels to fill, created empty if
    /// absent; `None` when the proxy has no such type.
    pub fn type_mut(&mut self, name: &str) -> Option<&mut dyn middleware::Config> {
        Some(match name.to_ascii_lowercase().as_str() {
            "stripprefix" => slot(&mut self.strip_prefix),
            "retry" => slot(&mut self.retry),
            "addprefix" => slot(&mut self.add_prefix),
            "replacepath" => slot(&mut self.replace_path),
            "headers" => slot(&mut self.headers),
            "redirectscheme" => slot(&mut self.redirect_scheme),
            _ => return None,
        })
    }

    /// Whether a type is set.
    pub fn has_type(&self) -> bool {
        self.types().iter().any(|(_, c)| c.is_some())
    }

    /// The type's name for the API, in lower case as Traefik's (`unknown` when none or
    /// several are set).
    pub fn type_name(&self) -> String {
        let mut set = self.types().into_iter().filter(|(_, c)| c.is_some());
        match (set.next(), set.next()) {
            (Some((name, _)), None) => name.to_ascii_lowercase(),
            _ => "unknown".into(),
        }
    }

    /// Compiles the middleware: validation and the routing snapshot both call this, so a
    /// middleware that validates is one that routes.
    pub fn compile(&self) -> Result<Arc<dyn middleware::Middleware>, String> {
        let set: Vec<&dyn middleware::Config> =
            self.types().into_iter().filter_map(|(_, c)| c).collect();
        match set[..] {
            [one] => one.compile(),
            [] => Err(format!(
                "the middleware has no type; give it exactly one of {}",
                Self::type_list()
            )),
            _ => Err("the middleware has several types; split it into one middleware per type and list them all on the router".into()),
        }
    }

    /// The supported types, as Traefik spells them in files: `stripPrefix, retry`.
    pub fn type_list() -> String {
        let names: Vec<&str> = Self::default().types().iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }
}

/// Which element of a configuration an error is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "name")]
pub enum Element {
    Router(String),
    Service(String),
    Middleware(String),
    /// The whole source: a file that does not parse, a container with no usable port.
    Source(String),
}

/// A problem found while reading a provider's input. It disables only the element it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigIssue {
    pub element: Element,
    pub message: String,
}

/// What a provider hands to the proxy: the configuration and what was wrong with its input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderConfig {
    pub config: DynamicConfig,
    pub issues: Vec<ConfigIssue>,
}

/// Traefik-style durations: `"10s"`, `"250ms"`, `"1m"`, or a bare number of seconds.
pub mod duration_str {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Also Go's compound form (`1m30s`, `1h5m`), as Traefik reads durations with Go's
    /// `time.ParseDuration`; a bare number is seconds.
    pub fn parse(s: &str) -> Result<Duration, String> {
        let s = s.trim();
        let bad = || format!("`{s}` is not a duration; write it like `10s` or `500ms`");
        if s.is_empty() {
            return Err(bad());
        }
        let mut rest = s;
        let mut secs = 0.0f64;
        while !rest.is_empty() {
            let split = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let (num, after) = rest.split_at(split);
            let value: f64 = num.parse().map_err(|_| bad())?;
            let unit_len = after
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(after.len());
            let (unit, next) = after.split_at(unit_len);
            let factor = match unit {
                "" if rest.len() == s.len() => 1.0,
                "s" => 1.0,
                "ms" => 1e-3,
                "us" | "µs" => 1e-6,
                "ns" => 1e-9,
                "m" => 60.0,
                "h" => 3600.0,
                "" => return Err(bad()),
                other => {
                    return Err(format!(
                        "unknown duration unit `{other}` in `{s}`; use ms, s, m or h"
                    ))
                }
            };
            secs += value * factor;
            rest = next;
        }
        if !secs.is_finite() || !(0.0..=86_400.0 * 365.0).contains(&secs) {
            return Err(format!("duration `{s}` is out of range"));
        }
        Ok(Duration::from_secs_f64(secs))
    }

    pub fn format(d: &Duration) -> String {
        if d.subsec_millis() == 0 && d.subsec_nanos() == 0 {
            format!("{}s", d.as_secs())
        } else {
            format!("{}ms", d.as_millis())
        }
    }

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => parse(&n.to_string()).map_err(serde::de::Error::custom),
            Raw::Str(s) => parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_traefik() {
        assert_eq!(duration_str::parse("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(
            duration_str::parse("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(duration_str::parse("2").unwrap(), Duration::from_secs(2));
        assert!(duration_str::parse("ten").is_err());
        assert_eq!(
            duration_str::parse("1m30s").unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            duration_str::parse("1.5h").unwrap(),
            Duration::from_secs(5400)
        );
        for bad in ["", "s", "1s2", "-1s", "1..2s", "1e3s", "99999999999h"] {
            assert!(duration_str::parse(bad).is_err(), "{bad}");
        }
        assert!(duration_str::parse("5y").is_err());
    }

    #[test]
    fn file_format_reads_traefik_yaml_shape() {
        let yaml = r#"
routers:
  api:
    rule: "PathPrefix(`/api`)"
    service: jokes
    middlewares: [strip]
services:
  jokes:
    loadBalancer:
      servers:
        - url: "http://127.0.0.1:3000"
      sticky:
        cookie:
          name: lb
          httpOnly: true
middlewares:
  strip:
    stripPrefix:
      prefixes: ["/api"]
"#;
        let c: DynamicConfig = serde_norway::from_str(yaml).unwrap();
        assert_eq!(c.routers["api"].service, "jokes");
        let lb = &c.services["jokes"].load_balancer;
        assert!(lb.pass_host_header);
        assert!(
            lb.sticky
                .as_ref()
                .unwrap()
                .cookie
                .as_ref()
                .unwrap()
                .http_only
        );
        assert_eq!(
            c.middlewares["strip"],
            Middleware {
                strip_prefix: Some(StripPrefix {
                    prefixes: vec!["/api".into()]
                }),
                ..Default::default()
            }
        );
    }
}
