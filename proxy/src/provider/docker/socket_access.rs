//! Who may open the Docker socket, and what to say when the proxy may not.
//!
//! The engine's socket is a file like any other: `root:docker 0660` on a Linux host, so only
//! root and the `docker` group may connect. The engine's client reports a refusal as `client
//! error (Connect)`, which tells a student nothing. [`permission_denied`] turns the socket's
//! owner, group and mode and the proxy's own ids into a message that names the cause and the
//! three fixes; it is a pure function so every case is unit-tested. [`SocketFacts::stat`] and
//! [`Identity::current`] read the real values.
//!
//! The same facts decide the privilege drop at start-up (`crate::privileges`): the proxy keeps
//! the socket's group when it gives up root.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The socket's owner, group and permission bits (`stat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketFacts {
    pub path: PathBuf,
    pub owner: u32,
    pub group: u32,
    /// The permission bits (`0o660`), without the file type.
    pub mode: u32,
}

impl SocketFacts {
    /// Reads them with `stat`; `None` when the socket is not there.
    pub fn stat(path: &Path) -> Option<SocketFacts> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(SocketFacts {
            path: path.to_path_buf(),
            owner: m.uid(),
            group: m.gid(),
            mode: m.mode() & 0o7777,
        })
    }

    /// Whether members of the socket's group may connect (read and write for the group).
    pub fn group_may_connect(&self) -> bool {
        self.mode & 0o060 == 0o060
    }

    /// Whether `who` may connect, by the permission bits (root always may).
    pub fn allows(&self, who: &Identity) -> bool {
        if who.uid == 0 {
            return true;
        }
        let bits = if who.uid == self.owner {
            self.mode >> 6
        } else if who.in_group(self.group) {
            self.mode >> 3
        } else {
            self.mode
        };
        bits & 0o6 == 0o6
    }
}

/// The user and groups the process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

impl Identity {
    /// The calling process's effective ids and supplementary groups.
    pub fn current() -> Identity {
        Identity {
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
            groups: rustix::process::getgroups()
                .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
                .unwrap_or_default(),
        }
    }

    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }

    /// `uid 65534, gid 65534, groups [999]`, for log lines.
    pub fn describe(&self) -> String {
        let groups: Vec<String> = self.groups.iter().map(u32::to_string).collect();
        format!(
            "uid {}, gid {}, groups [{}]",
            self.uid,
            self.gid,
            groups.join(", ")
        )
    }
}

/// The socket's path for a `unix://` (or bare path) endpoint; `None` for TCP.
pub fn socket_path(endpoint: &str) -> Option<PathBuf> {
    if endpoint.starts_with("tcp://")
        || endpoint.starts_with("http://")
        || endpoint.starts_with("https://")
    {
        return None;
    }
    Some(PathBuf::from(
        endpoint.strip_prefix("unix://").unwrap_or(endpoint),
    ))
}

/// `srw-rw----`-style permission string for a socket's mode bits.
fn rwx(mode: u32) -> String {
    let mut s = String::from("s");
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 0o7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// What to log when connecting to the socket was refused with `EACCES`: the cause, the
/// socket's owner, group and mode, who the proxy runs as, and how to fix it.
pub fn permission_denied(socket: &SocketFacts, who: &Identity) -> String {
    let path = socket.path.display();
    let mut m = format!(
        "permission denied: the proxy may not open the Docker socket {path}. The socket belongs \
         to uid {owner}, gid {group}, mode {mode:04o} ({rwx}); the proxy runs as {ids}, ",
        owner = socket.owner,
        group = socket.group,
        mode = socket.mode,
        rwx = rwx(socket.mode),
        ids = who.describe(),
    );
    if who.uid == socket.owner {
        m.push_str("its owner, but the owner has no read and write permission.");
    } else if who.in_group(socket.group) {
        m.push_str("in its group, but the group has no read and write permission.");
    } else {
        m.push_str("neither its owner nor in its group.");
    }
    m.push_str(" To fix it, in the proxy's service of the compose file, one of:");
    let mut n = 1;
    if socket.group_may_connect() {
        let _ = write!(
            m,
            " ({n}) add the socket's group: `group_add: [\"{group}\"]` (the number `stat -c %g \
             {path}` prints on the Docker host; it differs between machines);",
            group = socket.group
        );
        n += 1;
    }
    let _ = write!(
        m,
        " ({n}) run it as root: `user: \"0:0\"` (keep `cap_drop: [ALL]` so root has no \
         capability), or leave `user` out so the image starts as root and drops to uid 65534 \
         with the socket's group by itself;"
    );
    n += 1;
    let _ = write!(
        m,
        " ({n}) put a socket proxy in between (one that allows only GET /containers, /events \
         and /version) and point --providers.docker.endpoint at it"
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker_socket(mode: u32) -> SocketFacts {
        SocketFacts {
            path: "/var/run/docker.sock".into(),
            owner: 0,
            group: 999,
            mode,
        }
    }

    fn nobody(groups: Vec<u32>) -> Identity {
        Identity {
            uid: 65534,
            gid: 65534,
            groups,
        }
    }

    #[test]
    fn a_stranger_is_told_the_cause_the_facts_and_the_three_fixes() {
        let m = permission_denied(&docker_socket(0o660), &nobody(vec![]));
        assert!(m.starts_with("permission denied"), "{m}");
        for part in [
            "/var/run/docker.sock",
            "uid 0, gid 999, mode 0660 (srw-rw----)",
            "uid 65534, gid 65534, groups []",
            "neither its owner nor in its group",
            "group_add: [\"999\"]",
            "user: \"0:0\"",
            "socket proxy",
        ] {
            assert!(m.contains(part), "missing {part:?} in: {m}");
        }
    }

    #[test]
    fn group_add_is_not_offered_when_the_group_may_not_connect() {
        let m = permission_denied(&docker_socket(0o600), &nobody(vec![999]));
        assert!(m.contains("mode 0600 (srw-------)"), "{m}");
        assert!(m.contains("in its group, but the group has no read"), "{m}");
        assert!(!m.contains("group_add"), "{m}");
        assert!(m.contains("(1) run it as root"), "{m}");
        assert!(m.contains("(2) put a socket proxy"), "{m}");
    }

    #[test]
    fn permission_bits_decide_who_may_connect() {
        let s = docker_socket(0o660);
        assert!(s.allows(&nobody(vec![999])));
        assert!(s.allows(&Identity {
            uid: 1000,
            gid: 999,
            groups: vec![],
        }));
        assert!(!s.allows(&nobody(vec![])));
        assert!(s.allows(&Identity {
            uid: 0,
            gid: 0,
            groups: vec![],
        }));
        assert!(!docker_socket(0o600).allows(&nobody(vec![999])));
        assert!(docker_socket(0o666).allows(&nobody(vec![])));
    }

    #[test]
    fn endpoints_name_a_socket_or_not() {
        assert_eq!(
            socket_path("unix:///var/run/docker.sock"),
            Some(PathBuf::from("/var/run/docker.sock"))
        );
        assert_eq!(
            socket_path("/run/user/1000/docker.sock"),
            Some(PathBuf::from("/run/user/1000/docker.sock"))
        );
        assert_eq!(socket_path("tcp://127.0.0.1:2375"), None);
    }
}
