//! Giving up root at start-up, keeping only the Docker socket's group.
//!
//! The proxy image starts as root, like Traefik's, so the report's compose file works as
//! written: only root and the socket's group (`root:docker 0660` on a Linux host, a group id
//! that differs from machine to machine) may open `/var/run/docker.sock`. The image sets
//! `PROXY_USER=65534:65534`; started as root with it, the proxy reads the socket's group, then
//! switches to that uid and gid with the socket's group as its one supplementary group
//! (`setgroups`, `setgid`, `setuid`, in that order), before any other thread exists. It then
//! holds no capability and is root nowhere, yet still reads the socket.
//!
//! Where the switch is not possible it stays who it is and says why, once, at start-up:
//! - no `CAP_SETUID`/`CAP_SETGID` (a compose file with `cap_drop: [ALL]` and no `cap_add`):
//!   root without any capability, which opens the socket as its owner and can do nothing
//!   else a non-root user could not;
//! - the socket grants nothing to its group (`0600`, as with rootless Docker): only its owner
//!   may open it, so giving up root would lose the engine;
//! - an entrypoint's port is below `net.ipv4.ip_unprivileged_port_start` (outside a
//!   container, as root): the listeners are bound after this point.
//!
//! [`decide`] is the whole policy, a pure function of the facts, unit-tested; [`apply`]
//! makes the calls and checks the result.

use crate::provider::docker::socket_access::{Identity, SocketFacts};

/// The environment variable naming who to become when started as root: `UID:GID`.
/// Unset, the proxy never changes its ids (a binary run by hand, the local lab).
pub const ENV: &str = "PROXY_USER";

/// What the proxy does with its ids at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do: not root, or no [`ENV`].
    Keep,
    /// Switch to `uid`/`gid` with exactly these supplementary groups.
    Switch {
        uid: u32,
        gid: u32,
        groups: Vec<u32>,
    },
    /// Root, and root it stays: the reason and what it means, for the log.
    StayRoot { reason: String },
}

/// The facts [`decide`] needs, gathered by [`Facts::gather`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub identity: Identity,
    /// `PROXY_USER`, parsed: the uid and gid to become.
    pub target: Option<(u32, u32)>,
    /// The Docker socket, when the Docker provider uses one and it exists.
    pub socket: Option<SocketFacts>,
    /// Whether the process holds both `CAP_SETUID` and `CAP_SETGID`.
    pub may_change_ids: bool,
    /// Entrypoint ports that only root may bind here (below `ip_unprivileged_port_start`).
    pub privileged_ports: Vec<u16>,
    /// Threads in the process: the calls below change the calling thread only, so they are
    /// process-wide only while it is the one thread.
    pub threads: usize,
}

/// The policy. See the module's header for the reasons.
pub fn decide(f: &Facts) -> Decision {
    let Some((uid, gid)) = f.target else {
        return Decision::Keep;
    };
    if f.identity.uid != 0 {
        return Decision::Keep;
    }
    let stay = |reason: String| Decision::StayRoot { reason };
    if !f.may_change_ids {
        return stay(format!(
            "the container has no CAP_SETUID/CAP_SETGID (`cap_drop: [ALL]` with no `cap_add`), \
             so it cannot switch to {uid}:{gid}. Root here holds no capability: it opens the \
             Docker socket as its owner and can do nothing else a non-root user could not. To \
             end as {uid}, add `cap_add: [SETUID, SETGID]` (both are lost with the switch)"
        ));
    }
    if !f.privileged_ports.is_empty() {
        return stay(format!(
            "ports {:?} are below net.ipv4.ip_unprivileged_port_start here, and only root may \
             bind them (inside a container Docker allows every port; outside, unset {ENV} or \
             use ports of 1024 and up)",
            f.privileged_ports
        ));
    }
    if f.threads != 1 {
        return stay(format!(
            "{} threads run already, and a switch would change only one of them",
            f.threads
        ));
    }
    let mut groups = Vec::new();
    if let Some(socket) = &f.socket {
        if socket.group != gid {
            groups.push(socket.group);
        }
        let after = Identity {
            uid,
            gid,
            groups: groups.clone(),
        };
        if !socket.allows(&after) {
            return stay(format!(
                "the Docker socket {} is uid {}, gid {}, mode {:04o}: its group may not open it \
                 (rootless Docker, or a socket made private), so uid {uid} could not reach the \
                 engine",
                socket.path.display(),
                socket.owner,
                socket.group,
                socket.mode
            ));
        }
    }
    Decision::Switch { uid, gid, groups }
}

/// `65534:65534` -> `(65534, 65534)`; a bare `65534` means the same gid.
pub fn parse_target(value: &str) -> Result<(u32, u32), String> {
    let value = value.trim();
    let (u, g) = value.split_once(':').unwrap_or((value, value));
    let num = |s: &str| {
        s.parse::<u32>()
            .map_err(|_| format!("{ENV}={value}: want numeric ids, UID:GID (e.g. 65534:65534)"))
    };
    Ok((num(u)?, num(g)?))
}

/// The `Threads:` line of `/proc/self/status`.
pub fn threads_in_status(status: &str) -> Option<usize> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

impl Facts {
    /// Reads the facts: ids, `PROXY_USER`, the socket at `socket_path`, capabilities, which
    /// of `ports` need root, and the thread count.
    pub fn gather(
        target: Option<(u32, u32)>,
        socket_path: Option<&std::path::Path>,
        ports: &[u16],
    ) -> Facts {
        let start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1024);
        Facts {
            identity: Identity::current(),
            target,
            socket: socket_path.and_then(SocketFacts::stat),
            may_change_ids: may_change_ids(),
            privileged_ports: ports
                .iter()
                .copied()
                .filter(|p| *p != 0 && *p < start)
                .collect(),
            threads: std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| threads_in_status(&s))
                .unwrap_or(1),
        }
    }
}

#[cfg(target_os = "linux")]
fn may_change_ids() -> bool {
    use rustix::thread::{capabilities, CapabilitySet};
    capabilities(None).is_ok_and(|c| {
        c.effective
            .contains(CapabilitySet::SETUID | CapabilitySet::SETGID)
    })
}

#[cfg(not(target_os = "linux"))]
fn may_change_ids() -> bool {
    false
}

/// Makes the switch: groups, then gid, then uid (each needs the privilege the next one
/// gives up), real, effective and saved ids alike, so there is no way back. Then checks.
#[cfg(target_os = "linux")]
pub fn apply(uid: u32, gid: u32, groups: &[u32]) -> Result<Identity, String> {
    use rustix::process::{Gid, Uid};
    use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};
    let gids: Vec<Gid> = groups.iter().map(|g| Gid::from_raw(*g)).collect();
    set_thread_groups(&gids).map_err(|e| format!("setgroups({groups:?}): {e}"))?;
    let g = Gid::from_raw(gid);
    set_thread_res_gid(g, g, g).map_err(|e| format!("setresgid({gid}): {e}"))?;
    let u = Uid::from_raw(uid);
    set_thread_res_uid(u, u, u).map_err(|e| format!("setresuid({uid}): {e}"))?;
    let now = Identity::current();
    let real = (
        rustix::process::getuid().as_raw(),
        rustix::process::getgid().as_raw(),
    );
    if now.uid != uid || now.gid != gid || real != (uid, gid) {
        return Err(format!(
            "asked for {uid}:{gid}, runs as {} (real {}:{})",
            now.describe(),
            real.0,
            real.1
        ));
    }
    Ok(now)
}

#[cfg(not(target_os = "linux"))]
pub fn apply(_uid: u32, _gid: u32, _groups: &[u32]) -> Result<Identity, String> {
    Err("switching ids is implemented for Linux only".into())
}

/// Decides and applies, logging what happened. Call from `main`, before any thread starts.
/// An `Err` means a switch began and failed: the process must not go on half-switched.
pub fn drop_root(facts: &Facts) -> Result<(), String> {
    match decide(facts) {
        Decision::Keep => {
            tracing::info!("running as {}", facts.identity.describe());
            Ok(())
        }
        Decision::StayRoot { reason } => {
            tracing::warn!(
                "running as {} (root): not switching to {ENV}: {reason}",
                facts.identity.describe()
            );
            Ok(())
        }
        Decision::Switch { uid, gid, groups } => {
            let now = apply(uid, gid, &groups)?;
            let why = match &facts.socket {
                Some(s) if groups.contains(&s.group) => format!(
                    "; kept group {} to read the Docker socket {}",
                    s.group,
                    s.path.display()
                ),
                _ => String::new(),
            };
            tracing::info!(
                "running as {} (started as root, switched to {ENV}{why})",
                now.describe()
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_in_a_container() -> Facts {
        Facts {
            identity: Identity {
                uid: 0,
                gid: 0,
                groups: vec![],
            },
            target: Some((65534, 65534)),
            socket: Some(SocketFacts {
                path: "/var/run/docker.sock".into(),
                owner: 0,
                group: 999,
                mode: 0o660,
            }),
            may_change_ids: true,
            privileged_ports: vec![],
            threads: 1,
        }
    }

    #[test]
    fn root_switches_to_nobody_keeping_the_sockets_group() {
        assert_eq!(
            decide(&root_in_a_container()),
            Decision::Switch {
                uid: 65534,
                gid: 65534,
                groups: vec![999]
            }
        );
    }

    #[test]
    fn without_a_socket_no_group_is_kept() {
        let f = Facts {
            socket: None,
            ..root_in_a_container()
        };
        assert_eq!(
            decide(&f),
            Decision::Switch {
                uid: 65534,
                gid: 65534,
                groups: vec![]
            }
        );
    }

    #[test]
    fn nothing_changes_without_the_variable_or_for_a_non_root_user() {
        let f = Facts {
            target: None,
            ..root_in_a_container()
        };
        assert_eq!(decide(&f), Decision::Keep);
        let mut f = root_in_a_container();
        f.identity.uid = 1000;
        assert_eq!(decide(&f), Decision::Keep);
    }

    #[test]
    fn without_the_capabilities_root_stays_and_says_what_it_means() {
        let f = Facts {
            may_change_ids: false,
            ..root_in_a_container()
        };
        let Decision::StayRoot { reason } = decide(&f) else {
            panic!("expected StayRoot");
        };
        assert!(reason.contains("CAP_SETUID"), "{reason}");
        assert!(reason.contains("no capability"), "{reason}");
        assert!(reason.contains("cap_add: [SETUID, SETGID]"), "{reason}");
    }

    #[test]
    fn a_socket_closed_to_its_group_keeps_root() {
        let mut f = root_in_a_container();
        f.socket.as_mut().unwrap().mode = 0o600;
        assert!(matches!(decide(&f), Decision::StayRoot { reason } if reason.contains("0600")));
    }

    #[test]
    fn privileged_ports_and_extra_threads_keep_root() {
        let f = Facts {
            privileged_ports: vec![80],
            ..root_in_a_container()
        };
        assert!(matches!(decide(&f), Decision::StayRoot { reason } if reason.contains("[80]")));
        let f = Facts {
            threads: 3,
            ..root_in_a_container()
        };
        assert!(matches!(decide(&f), Decision::StayRoot { .. }));
    }

    #[test]
    fn targets_parse() {
        assert_eq!(parse_target("65534:65534"), Ok((65534, 65534)));
        assert_eq!(parse_target("1000"), Ok((1000, 1000)));
        assert!(parse_target("nobody").unwrap_err().contains("numeric"));
    }

    #[test]
    fn thread_count_is_read_from_proc_status() {
        let status = "Name:\tproxy\nUmask:\t0022\nThreads:\t1\nSigQ:\t0/1\n";
        assert_eq!(threads_in_status(status), Some(1));
        assert_eq!(threads_in_status("Name:\tx\n"), None);
    }

    // The real calls are tested on the binary, every thread of it, by
    // tests/tests/local_stack.rs (`the_proxy_started_as_root_...`) and by the Docker tests.
}
