//! Which server is this? The answer every response carries in `X-Served-By`.
//!
//! In Docker the natural name is the container id, shortened to 12 hex characters as `docker ps`
//! shows it, so a student can match a response to a line of `docker ps`. A process cannot ask
//! Docker who it is (it has no socket), but its own files tell: Docker bind-mounts
//! `/var/lib/docker/containers/<id>/hostname` onto `/etc/hostname`, which `/proc/self/mountinfo`
//! lists (cgroup v1 and v2), and under cgroup v1 `/proc/self/cgroup` names `/docker/<id>`.
//! Outside a container we use the hostname, and if even that is missing, a random id.

use std::fmt;

/// Length of a short container id, as `docker ps` prints it.
pub const SHORT_LEN: usize = 12;

/// Where an instance id came from; logged at start-up so a surprise is easy to explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `--instance-id` (or its environment variable).
    Flag,
    /// The container's own files.
    Container,
    /// The kernel's hostname.
    Hostname,
    /// Nothing else worked.
    Random,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "the --instance-id flag",
            Source::Container => "the container id",
            Source::Hostname => "the hostname",
            Source::Random => "a random id",
        })
    }
}

/// A server's name, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceId {
    pub id: String,
    pub source: Source,
}

impl InstanceId {
    /// The id to use: `flag` if given (and not blank), else the container id, the hostname,
    /// or a random id, in that order.
    pub fn detect(flag: Option<&str>) -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        Self::choose(
            flag,
            &read("/proc/self/mountinfo"),
            &read("/proc/self/cgroup"),
            crate::net::hostname().as_deref(),
        )
    }

    /// The pure decision behind [`InstanceId::detect`], given the files' contents.
    pub fn choose(
        flag: Option<&str>,
        mountinfo: &str,
        cgroup: &str,
        hostname: Option<&str>,
    ) -> Self {
        let (id, source) = if let Some(flag) = flag.map(str::trim).filter(|f| !f.is_empty()) {
            (flag.to_owned(), Source::Flag)
        } else if let Some(id) =
            container_id_from_mountinfo(mountinfo).or_else(|| container_id_from_cgroup(cgroup))
        {
            (id, Source::Container)
        } else if let Some(host) = hostname.map(str::trim).filter(|h| check(h).is_ok()) {
            (host.to_owned(), Source::Hostname)
        } else {
            (random_id(), Source::Random)
        };
        InstanceId { id, source }
    }
}

/// The short container id from `/proc/self/mountinfo`: the line whose mount point is
/// `/etc/hostname` has, as its root, a path like `/var/lib/docker/containers/<64 hex>/hostname`
/// (Podman: `.../overlay-containers/<64 hex>/userdata/hostname`).
///
/// Only that line is read: on a Docker host, the host's own mountinfo lists other containers'
/// directories too, and those ids are not ours.
pub fn container_id_from_mountinfo(mountinfo: &str) -> Option<String> {
    mountinfo.lines().find_map(|line| {
        // Fields: id parent major:minor root mount-point options ...
        let mut fields = line.split_whitespace();
        let root = fields.nth(3)?;
        let mount_point = fields.next()?;
        if mount_point != "/etc/hostname" {
            return None;
        }
        root.split('/').find_map(full_id)
    })
}

/// The short container id from `/proc/self/cgroup` under cgroup v1, where lines read
/// `4:memory:/docker/<64 hex>` or `1:name=systemd:/system.slice/docker-<64 hex>.scope`.
/// Under cgroup v2 the file is just `0::/` and this finds nothing.
pub fn container_id_from_cgroup(cgroup: &str) -> Option<String> {
    cgroup.lines().find_map(|line| {
        let path = line.splitn(3, ':').nth(2)?;
        path.split('/').find_map(|segment| {
            let segment = segment.strip_prefix("docker-").unwrap_or(segment);
            let segment = segment.strip_suffix(".scope").unwrap_or(segment);
            full_id(segment)
        })
    })
}

/// `segment` shortened to [`SHORT_LEN`], if it is a full 64-hex-character container id.
fn full_id(segment: &str) -> Option<String> {
    (segment.len() == 64 && segment.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| segment[..SHORT_LEN].to_ascii_lowercase())
}

/// Checks an id given on the command line: 1 to 64 characters among `A-Z a-z 0-9 . _ -`, so it
/// is safe in a header, a log line and a page. For clap's `value_parser`.
pub fn check(id: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(id.to_owned())
    } else {
        Err(format!(
            "{id:?} is not a usable instance id: use 1 to 64 letters, digits, '.', '_' or '-'"
        ))
    }
}

/// 12 random hex characters, shaped like a container id.
pub fn random_id() -> String {
    let n: u64 = rand::random();
    format!("{:012x}", n & 0xffff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e8a2b9c1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";

    #[test]
    fn mountinfo_of_a_docker_container() {
        let mountinfo = format!(
            "1503 1380 0:120 / / rw,relatime master:401 - overlay overlay rw,lowerdir=/x\n\
             1510 1503 8:1 /var/lib/docker/containers/{ID}/resolv.conf /etc/resolv.conf rw - ext4 /dev/sda1 rw\n\
             1511 1503 8:1 /var/lib/docker/containers/{ID}/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n"
        );
        assert_eq!(
            container_id_from_mountinfo(&mountinfo).as_deref(),
            Some("3f4e8a2b9c1d")
        );
    }

    #[test]
    fn mountinfo_of_a_podman_container() {
        let mountinfo = format!(
            "900 800 0:50 /containers/storage/overlay-containers/{ID}/userdata/hostname /etc/hostname rw - tmpfs tmpfs rw\n"
        );
        assert_eq!(
            container_id_from_mountinfo(&mountinfo).as_deref(),
            Some("3f4e8a2b9c1d")
        );
    }

    #[test]
    fn a_docker_host_does_not_take_another_containers_id() {
        // The host sees each container's shm mount, but none of them is its /etc/hostname.
        let mountinfo = format!(
            "30 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
             77 30 0:60 / /var/lib/docker/containers/{ID}/mounts/shm rw - tmpfs shm rw\n"
        );
        assert_eq!(container_id_from_mountinfo(&mountinfo), None);
    }

    #[test]
    fn cgroup_v1_forms() {
        let plain = format!("12:memory:/docker/{ID}\n11:cpu:/docker/{ID}\n");
        let systemd = format!("1:name=systemd:/system.slice/docker-{ID}.scope\n");
        for cgroup in [plain, systemd] {
            assert_eq!(
                container_id_from_cgroup(&cgroup).as_deref(),
                Some("3f4e8a2b9c1d")
            );
        }
    }

    #[test]
    fn cgroup_v2_and_hosts_have_no_id() {
        assert_eq!(container_id_from_cgroup("0::/\n"), None);
        assert_eq!(
            container_id_from_cgroup("9:name=systemd:/user.slice\n"),
            None
        );
        // 64 characters, but not hex.
        let not_hex = "g".repeat(64);
        assert_eq!(
            container_id_from_cgroup(&format!("4:pids:/docker/{not_hex}")),
            None
        );
    }

    #[test]
    fn check_accepts_names_and_rejects_header_breakers() {
        assert_eq!(check("static-1.lab_a"), Ok("static-1.lab_a".to_owned()));
        for bad in ["", "two words", "line\nbreak", "é", &"x".repeat(65)] {
            assert!(check(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn precedence_flag_container_hostname_random() {
        let cgroup = format!("12:memory:/docker/{ID}\n");
        let pick = |flag, cgroup: &str, host| InstanceId::choose(flag, "", cgroup, host);

        let flag = pick(Some("static-1"), &cgroup, Some("box"));
        assert_eq!((flag.id.as_str(), flag.source), ("static-1", Source::Flag));

        let container = pick(Some("  "), &cgroup, Some("box"));
        assert_eq!(
            (container.id.as_str(), container.source),
            ("3f4e8a2b9c1d", Source::Container)
        );

        let host = pick(None, "", Some("box\n"));
        assert_eq!((host.id.as_str(), host.source), ("box", Source::Hostname));

        let random = pick(None, "", None);
        assert_eq!(random.source, Source::Random);
        assert_eq!(random.id.len(), SHORT_LEN);
        assert!(random.id.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
