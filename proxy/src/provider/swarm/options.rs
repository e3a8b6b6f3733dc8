//! The Swarm provider's settings, with Traefik v3's flags (`--providers.swarm.*`) and v2's way
//! of asking for the same thing (`--providers.docker.swarmMode=true`), and the default rule
//! template they may carry.

use std::time::Duration;

use crate::provider::docker::{normalize, DockerOptions};

/// Traefik's default rule: the service's name, normalized, as a host name.
pub const DEFAULT_RULE: &str = "Host(`{{ normalize .Name }}`)";

/// Traefik's `refreshSeconds` default. Here it is only the idle safety net: changes are
/// followed from events, and tasks are polled every second while anything converges.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(15);

/// `--providers.swarm.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmOptions {
    /// `--providers.swarm.endpoint`; `None`: `DOCKER_HOST`, else the local socket. It must be
    /// a manager's engine: only managers know services and tasks.
    pub endpoint: Option<String>,
    /// `--providers.swarm.exposedByDefault` (true).
    pub exposed_by_default: bool,
    /// `--providers.swarm.network`: the network whose addresses reach the tasks, unless a
    /// service says otherwise (`traefik.swarm.network`).
    pub network: Option<String>,
    /// `--providers.swarm.refreshSeconds` (15 s): a full poll at least this often.
    pub refresh: Duration,
    /// `--providers.swarm.defaultRule`: the rule of a router without one.
    pub default_rule: String,
    /// The name elements are qualified with: `swarm` (v3's provider), or `docker` when asked
    /// for with v2's `--providers.docker.swarmMode` (so `dynamic@docker` still resolves).
    pub provider_name: String,
}

impl Default for SwarmOptions {
    fn default() -> Self {
        SwarmOptions {
            endpoint: None,
            exposed_by_default: true,
            network: None,
            refresh: DEFAULT_REFRESH,
            default_rule: DEFAULT_RULE.to_owned(),
            provider_name: "swarm".to_owned(),
        }
    }
}

impl SwarmOptions {
    /// v2's `--providers.docker.swarmMode=true`: the Docker provider's flags, read for Swarm.
    pub fn from_docker(docker: DockerOptions, refresh: Option<Duration>) -> SwarmOptions {
        SwarmOptions {
            endpoint: docker.endpoint,
            exposed_by_default: docker.exposed_by_default,
            network: docker.network,
            refresh: refresh.unwrap_or(DEFAULT_REFRESH),
            default_rule: DEFAULT_RULE.to_owned(),
            provider_name: "docker".to_owned(),
        }
    }

    /// Applies one `--providers.swarm.<key>` flag (key in lower case, after the prefix).
    /// Booleans and durations come parsed from the caller, which owns the flag syntax.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "endpoint" => self.endpoint = Some(value.to_owned()),
            "network" => self.network = Some(value.to_owned()),
            "defaultrule" => {
                check_rule_template(value)?;
                self.default_rule = value.to_owned();
            }
            "refreshseconds" => self.refresh = parse_refresh(value)?,
            other => return Err(format!("unknown Swarm setting `{other}`")),
        }
        Ok(())
    }
}

/// `15`, `15s`, `1m30s`: Traefik reads a bare number as seconds.
pub fn parse_refresh(value: &str) -> Result<Duration, String> {
    let d = crate::config::duration_str::parse(value.trim())?;
    if d.is_zero() {
        return Err("must be more than 0; write e.g. `15s`".into());
    }
    Ok(d)
}

/// The parts of Traefik's Go template this proxy fills in: `{{ normalize .Name }}` and
/// `{{ .Name }}` (the service's name). Anything else in `{{ }}` is refused at start-up rather
/// than routed wrongly.
fn check_rule_template(template: &str) -> Result<(), String> {
    let rendered = render_rule(template, "x");
    if rendered.contains("{{") {
        return Err(
            "only {{ normalize .Name }} and {{ .Name }} can be used in the default rule here, \
             e.g. Host(`{{ normalize .Name }}.example.org`)"
                .into(),
        );
    }
    Ok(())
}

/// The default rule for the service named `name` (`servers1_static`).
pub fn render_rule(template: &str, name: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let inner: Vec<&str> = rest[start + 2..start + len].split_whitespace().collect();
        let value = match inner.as_slice() {
            ["normalize", ".Name"] => normalize(name),
            [".Name"] => name.to_owned(),
            _ => {
                out.push_str(&rest[..start + len + 2]);
                rest = &rest[start + len + 2..];
                continue;
            }
        };
        out.push_str(&rest[..start]);
        out.push_str(&value);
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_rule_is_the_normalized_service_name() {
        assert_eq!(
            render_rule(DEFAULT_RULE, "servers1_static"),
            "Host(`servers1-static`)"
        );
        assert_eq!(
            render_rule(
                "Host(`{{.Name}}.lab`) || Host(`{{ normalize .Name }}`)",
                "a_b"
            ),
            "Host(`a_b.lab`) || Host(`a-b`)"
        );
        assert!(check_rule_template("Host(`{{ index .Labels \"x\" }}`)").is_err());
        assert!(check_rule_template("Host(`{{ normalize .Name }}.lab`)").is_ok());
    }

    #[test]
    fn settings_and_refresh() {
        let mut o = SwarmOptions::default();
        o.set("refreshseconds", "2").unwrap();
        assert_eq!(o.refresh, Duration::from_secs(2));
        o.set("refreshseconds", "500ms").unwrap();
        assert_eq!(o.refresh, Duration::from_millis(500));
        assert!(o.set("refreshseconds", "0").is_err());
        o.set("network", "servers1_default").unwrap();
        assert_eq!(o.network.as_deref(), Some("servers1_default"));
        let v2 = SwarmOptions::from_docker(DockerOptions::default(), None);
        assert_eq!(v2.provider_name, "docker");
        assert_eq!(v2.refresh, DEFAULT_REFRESH);
    }
}
