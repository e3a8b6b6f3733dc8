//! Decoding a file: YAML or TOML to the model, each router, service and middleware on its
//! own, keys matched without case.

use super::*;

/// The syntax of a configuration file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Toml,
}

impl Format {
    /// `.toml` is TOML; everything else is read as YAML (`.yml`, `.yaml`, or a `filename` with
    /// another extension).
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("toml") => Format::Toml,
            _ => Format::Yaml,
        }
    }

    pub(super) fn is_config(path: &Path) -> bool {
        matches!(
            path.extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("yml" | "yaml" | "toml")
        )
    }
}

/// What one file says: its configuration, and issues about its elements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileConfig {
    pub config: DynamicConfig,
    pub issues: Vec<ConfigIssue>,
}

/// Parses one file's text. `Err` means the file as a whole is unusable (a syntax error, not a
/// mapping at the top); problems with single elements are issues in the `Ok` value, naming the
/// element, and the element is left out. `source` names the file in messages.
pub fn parse_str(text: &str, format: Format, source: &str) -> Result<FileConfig, String> {
    let value = match format {
        Format::Yaml => {
            let y: serde_norway::Value =
                serde_norway::from_str(text).map_err(|e| format!("{source}: YAML error: {e}"))?;
            yaml_to_json(y).map_err(|e| format!("{source}: {e}"))?
        }
        Format::Toml => {
            let t: toml::Table = toml::from_str(text)
                .map_err(|e| format!("{source}: TOML error: {}", e.to_string().trim_end()))?;
            serde_json::to_value(t).map_err(|e| format!("{source}: {e}"))?
        }
    };
    let mut out = FileConfig::default();
    let top = match value {
        Value::Null => return Ok(out),
        Value::Object(m) => m,
        _ => {
            return Err(format!(
                "{source}: the file must be a mapping with an `http:` section"
            ))
        }
    };
    let src = |out: &mut FileConfig, message: String| {
        out.issues.push(ConfigIssue {
            element: Element::Source(source.to_string()),
            message,
        })
    };
    for (key, v) in top {
        match key.to_ascii_lowercase().as_str() {
            "http" => parse_http(v, source, &mut out),
            k @ ("tcp" | "udp") => src(
                &mut out,
                format!("{source}: `{key}` routing is not supported by this proxy (HTTP only); the `{key}` section is ignored", key = k),
            ),
            "tls" => match serde_json::from_value::<TlsConfig>(canonical_keys(v)) {
                Ok(t) => out.config.tls = t,
                Err(e) => src(
                    &mut out,
                    format!("{source}: the `tls` section is ignored: {e}; write it as `tls: {{certificates: [{{certFile: cert.pem, keyFile: key.pem}}]}}`"),
                ),
            },
            // Static configuration: one file often holds both (`providers.file.filename`
            // pointing at `traefik.yaml` itself); its static part was read at start.
            k if STATIC_SECTIONS.contains(&k) => {}
            _ => src(
                &mut out,
                format!("{source}: unknown top-level key `{key}`, ignored; the configuration goes under `http:`"),
            ),
        }
    }
    Ok(out)
}

pub(super) fn yaml_to_json(v: serde_norway::Value) -> Result<Value, String> {
    use serde_norway::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(s) => Value::Array(s.into_iter().map(yaml_to_json).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => {
                        return Err(format!("a mapping key must be a string, found {other:?}"))
                    }
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value)?,
    })
}

/// Top-level sections of Traefik's static configuration, lower case.
const STATIC_SECTIONS: &[&str] = &[
    "entrypoints",
    "providers",
    "api",
    "log",
    "accesslog",
    "metrics",
    "ping",
    "global",
    "serverstransport",
    "certificatesresolvers",
    "experimental",
    "tracing",
    "core",
];

/// Every field name of the model, in Traefik's spelling, for case-insensitive keys.
pub(super) const FIELDS: &[&str] = &[
    "rule",
    "ruleSyntax",
    "service",
    "middlewares",
    "priority",
    "entryPoints",
    "loadBalancer",
    "servers",
    "url",
    "name",
    "sticky",
    "cookie",
    "secure",
    "httpOnly",
    "sameSite",
    "healthCheck",
    "path",
    "interval",
    "timeout",
    "port",
    "passHostHeader",
    "stripPrefix",
    "prefixes",
    "retry",
    "attempts",
    "addPrefix",
    "prefix",
    "replacePath",
    "headers",
    "customRequestHeaders",
    "customResponseHeaders",
    "redirectScheme",
    "scheme",
    "permanent",
    "tls",
    "certResolver",
    "options",
    "certificates",
    "certFile",
    "keyFile",
    "stores",
    "defaultCertificate",
];

/// Renames keys to the model's spelling when they match without case, at every level (the
/// model has no user-named keys below an element's name).
pub(super) fn canonical_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let k = FIELDS
                        .iter()
                        .find(|f| f.eq_ignore_ascii_case(&k))
                        .map_or(k, |f| (*f).to_string());
                    (k, canonical_keys(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(canonical_keys).collect()),
        other => other,
    }
}

pub(super) fn parse_http(v: Value, source: &str, out: &mut FileConfig) {
    let sections = match v {
        Value::Null => return,
        Value::Object(m) => m,
        _ => {
            out.issues.push(ConfigIssue {
                element: Element::Source(source.to_string()),
                message: format!(
                    "{source}: `http` must be a mapping of routers, services and middlewares"
                ),
            });
            return;
        }
    };
    for (key, v) in sections {
        let kind = key.to_ascii_lowercase();
        let items = match v {
            Value::Null => continue,
            Value::Object(m) if matches!(kind.as_str(), "routers" | "services" | "middlewares") => {
                m
            }
            _ => {
                let message = if matches!(kind.as_str(), "routers" | "services" | "middlewares") {
                    format!("{source}: `http.{key}` must be a mapping from names to {key}; it is ignored")
                } else if kind == "serverstransports" {
                    format!("{source}: `http.{key}` is not supported by this proxy; it is ignored")
                } else {
                    format!("{source}: unknown key `http.{key}`, ignored; use routers, services and middlewares")
                };
                out.issues.push(ConfigIssue {
                    element: Element::Source(source.to_string()),
                    message,
                });
                continue;
            }
        };
        for (name, v) in items {
            let v = canonical_keys(v);
            match kind.as_str() {
                "routers" => match serde_json::from_value::<Router>(v) {
                    Ok(r) => {
                        out.config.routers.insert(name, r);
                    }
                    Err(e) => out.issues.push(ConfigIssue {
                        message: format!("{source}: router `{name}`: {e}"),
                        element: Element::Router(name),
                    }),
                },
                "services" => {
                    let unsupported = v.as_object().and_then(|m| {
                        m.keys()
                            .find(|k| {
                                ["weighted", "mirroring", "failover"]
                                    .iter()
                                    .any(|x| x.eq_ignore_ascii_case(k))
                            })
                            .cloned()
                    });
                    let res = match unsupported {
                        Some(k) => Err(format!(
                            "`{k}` services are not supported; use a loadBalancer service"
                        )),
                        None => serde_json::from_value::<Service>(v).map_err(|e| e.to_string()),
                    };
                    match res {
                        Ok(s) => {
                            out.config.services.insert(name, s);
                        }
                        Err(e) => out.issues.push(ConfigIssue {
                            message: format!("{source}: service `{name}`: {e}"),
                            element: Element::Service(name),
                        }),
                    }
                }
                _ => {
                    let unsupported = v.as_object().and_then(|m| {
                        m.keys()
                            .find(|k| {
                                UNSUPPORTED_MIDDLEWARES
                                    .iter()
                                    .any(|x| x.eq_ignore_ascii_case(k))
                            })
                            .cloned()
                    });
                    let res = match unsupported {
                        Some(k) => Err(format!(
                            "middleware type `{k}` is not supported by this proxy (supported: {}); remove it, and remove `{name}` from the routers that use it",
                            Middleware::type_list()
                        )),
                        None => serde_json::from_value::<Middleware>(v).map_err(|e| e.to_string()),
                    };
                    match res {
                        Ok(m) => {
                            out.config.middlewares.insert(name, m);
                        }
                        Err(e) => out.issues.push(ConfigIssue {
                            message: format!("{source}: middleware `{name}`: {e}"),
                            element: Element::Middleware(name),
                        }),
                    }
                }
            }
        }
    }
}
