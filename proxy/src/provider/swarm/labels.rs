//! The labels only the Swarm provider reads: `traefik.swarm.network` and `traefik.swarm.lbswarm`
//! (Traefik v3), or their older names `traefik.docker.network` and `traefik.docker.lbswarm`
//! (Traefik v2's Docker provider in swarm mode). They are taken out here; every other label goes
//! to the shared parser ([`crate::config::labels::parse`]).
//!
//! As in Traefik, a service that sets names of both families is refused: which one would win is
//! a guess nobody should have to make.

use std::collections::BTreeMap;

use crate::config::{ConfigIssue, Element};
use crate::parse::parse_bool;

/// What a service's Swarm-specific labels say, and its other labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwarmLabels {
    /// `traefik.swarm.network`: the network to reach the tasks on.
    pub network: Option<String>,
    /// `traefik.swarm.lbswarm=true`: one server, the service's virtual IP; Swarm's own load
    /// balancer (IPVS) spreads the connections over the tasks.
    pub lb_swarm: bool,
    /// Every other label, for the shared parser.
    pub rest: BTreeMap<String, String>,
    /// Labels that were wrong, or deprecated; each names the service.
    pub issues: Vec<ConfigIssue>,
}

/// Splits `service`'s labels. `provider` is the provider's name: under v2's
/// `--providers.docker.swarmMode` the `traefik.docker.*` names are the current ones, under
/// `--providers.swarm` they are deprecated (said in an issue, which disables nothing).
/// Errors when both families are set: the service is then not routed.
pub fn split(
    service: &str,
    labels: &BTreeMap<String, String>,
    provider: &str,
) -> Result<SwarmLabels, ConfigIssue> {
    let who = || Element::Source(service.to_owned());
    let mut out = SwarmLabels::default();
    let mut swarm_keys = Vec::new();
    let mut docker_keys = Vec::new();
    // (traefik.swarm.*, traefik.docker.*) values.
    let mut network: (Option<String>, Option<String>) = (None, None);
    let mut lb: (Option<bool>, Option<bool>) = (None, None);
    for (key, value) in labels {
        let lower = key.to_ascii_lowercase();
        let (family, option) = match lower.split_once('.') {
            Some(("traefik", rest)) => match rest.split_once('.') {
                Some((family @ ("swarm" | "docker"), option)) => (family, option),
                _ => {
                    out.rest.insert(key.clone(), value.clone());
                    continue;
                }
            },
            _ => {
                out.rest.insert(key.clone(), value.clone());
                continue;
            }
        };
        let (keys, slot_network, slot_lb) = if family == "swarm" {
            (&mut swarm_keys, &mut network.0, &mut lb.0)
        } else {
            (&mut docker_keys, &mut network.1, &mut lb.1)
        };
        match option {
            "network" => {
                keys.push(key.clone());
                let v = value.trim();
                if v.is_empty() {
                    out.issues.push(ConfigIssue {
                        element: who(),
                        message: format!(
                            "label `{key}` is empty; name the network to reach the tasks on, \
                             or remove the label"
                        ),
                    });
                } else {
                    *slot_network = Some(v.to_owned());
                }
            }
            "lbswarm" => {
                keys.push(key.clone());
                match parse_bool(value.trim()) {
                    Some(b) => *slot_lb = Some(b),
                    None => out.issues.push(ConfigIssue {
                        element: who(),
                        message: format!(
                            "label `{key}={value}`: not a boolean, so it is ignored (tasks are \
                             routed one by one); write `true` or `false`"
                        ),
                    }),
                }
            }
            // Other `traefik.docker.*` keys: the shared parser says what is wrong with them.
            _ if family == "docker" => {
                out.rest.insert(key.clone(), value.clone());
            }
            _ => out.issues.push(ConfigIssue {
                element: who(),
                message: format!(
                    "unknown label `{key}`; it is ignored (known: traefik.swarm.network, \
                     traefik.swarm.lbswarm)"
                ),
            }),
        }
    }
    if !swarm_keys.is_empty() && !docker_keys.is_empty() {
        return Err(ConfigIssue {
            element: who(),
            message: format!(
                "service `{service}` sets both {} and {}: Traefik refuses that, and so does this \
                 proxy (the service is not routed); keep the traefik.swarm.* names",
                swarm_keys.join(", "),
                docker_keys.join(", ")
            ),
        });
    }
    if !docker_keys.is_empty() && provider == "swarm" {
        out.issues.push(ConfigIssue {
            element: who(),
            message: format!(
                "{} on a Swarm service: still read, but Traefik v3 names them traefik.swarm.*; \
                 rename them",
                docker_keys.join(", ")
            ),
        });
    }
    out.network = network.0.or(network.1);
    out.lb_swarm = lb.0.or(lb.1).unwrap_or(false);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn swarm_labels_are_taken_out_and_the_rest_passed_on() {
        let l = labels(&[
            ("traefik.swarm.network", "servers1_back"),
            ("traefik.swarm.LBSwarm", "true"),
            ("traefik.http.routers.static.rule", "Host(`demo.res.ch`)"),
            ("com.docker.stack.namespace", "servers1"),
        ]);
        let s = split("servers1_static", &l, "swarm").unwrap();
        assert_eq!(s.network.as_deref(), Some("servers1_back"));
        assert!(s.lb_swarm);
        assert_eq!(s.rest.len(), 2);
        assert!(s.issues.is_empty());
    }

    #[test]
    fn the_older_docker_names_work_and_are_current_under_swarm_mode() {
        let l = labels(&[
            ("traefik.docker.network", "net"),
            ("traefik.docker.lbswarm", "1"),
        ]);
        let v3 = split("s", &l, "swarm").unwrap();
        assert_eq!(v3.network.as_deref(), Some("net"));
        assert!(v3.lb_swarm);
        assert_eq!(v3.issues.len(), 1, "deprecated: {:?}", v3.issues);
        let v2 = split("s", &l, "docker").unwrap();
        assert!(v2.lb_swarm && v2.issues.is_empty());
    }

    #[test]
    fn both_families_at_once_refuse_the_service() {
        let l = labels(&[
            ("traefik.swarm.network", "a"),
            ("traefik.docker.lbswarm", "true"),
        ]);
        let e = split("servers1_static", &l, "swarm").unwrap_err();
        assert_eq!(e.element, Element::Source("servers1_static".into()));
        assert!(e.message.contains("traefik.swarm.network"), "{}", e.message);
        assert!(
            e.message.contains("traefik.docker.lbswarm"),
            "{}",
            e.message
        );
    }

    #[test]
    fn wrong_values_and_unknown_keys_are_named() {
        let l = labels(&[
            ("traefik.swarm.lbswarm", "maybe"),
            ("traefik.swarm.nope", "1"),
            ("traefik.swarm.network", " "),
        ]);
        let s = split("s", &l, "swarm").unwrap();
        assert!(!s.lb_swarm);
        assert_eq!(s.network, None);
        assert_eq!(s.issues.len(), 3, "{:?}", s.issues);
    }
}
