//! The machine's name and addresses, read from `/proc` (no libc call, so it works the same in a
//! `FROM scratch` container, where there is no `hostname` or `ip` command to ask).

use std::net::{IpAddr, Ipv6Addr};

/// The kernel's hostname (in Docker, the short container id unless `hostname:` is set).
pub fn hostname() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|name| name.trim().to_owned())
        .find(|name| !name.is_empty())
}

/// This machine's IP addresses, loopback included, IPv4 first; empty where `/proc` is missing.
pub fn addresses() -> Vec<IpAddr> {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let mut all = ipv4_from_fib_trie(&read("/proc/net/fib_trie"));
    all.extend(ipv6_from_if_inet6(&read("/proc/net/if_inet6")));
    all
}

/// The local IPv4 addresses in `/proc/net/fib_trie`: an address line (`|-- 172.18.0.3`)
/// directly followed by `/32 host LOCAL`.
pub fn ipv4_from_fib_trie(fib_trie: &str) -> Vec<IpAddr> {
    let mut found = Vec::new();
    let mut last: Option<IpAddr> = None;
    for line in fib_trie.lines() {
        let line = line.trim();
        if let Some(addr) = line.strip_prefix("|-- ") {
            last = addr.parse().ok();
        } else if line.contains("/32 host LOCAL") {
            if let Some(addr) = last.take() {
                if !found.contains(&addr) {
                    found.push(addr);
                }
            }
        }
    }
    found
}

/// The IPv6 addresses in `/proc/net/if_inet6`, one per line as 32 hex digits first.
pub fn ipv6_from_if_inet6(if_inet6: &str) -> Vec<IpAddr> {
    if_inet6
        .lines()
        .filter_map(|line| {
            let hex = line.split_whitespace().next()?;
            let bits = u128::from_str_radix(hex, 16)
                .ok()
                .filter(|_| hex.len() == 32)?;
            Some(IpAddr::V6(Ipv6Addr::from(bits)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fib_trie_local_addresses_only() {
        let fib_trie = "\
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
     |-- 172.18.0.0
        /16 link UNICAST
     |-- 172.18.0.3
        /32 host LOCAL
Local:
     |-- 172.18.0.3
        /32 host LOCAL
";
        let addrs: Vec<String> = ipv4_from_fib_trie(fib_trie)
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(addrs, ["127.0.0.1", "172.18.0.3"]);
    }

    #[test]
    fn if_inet6_lines() {
        let if_inet6 = "\
00000000000000000000000000000001 01 80 10 80       lo
fe800000000000000042acfffe120003 1c 40 20 80     eth0
garbage
";
        let addrs: Vec<String> = ipv6_from_if_inet6(if_inet6)
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(addrs, ["::1", "fe80::42:acff:fe12:3"]);
    }
}
