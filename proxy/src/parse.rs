//! Values as Traefik reads them from labels, flags and the environment, parsed the same way
//! wherever they appear: booleans as Go's `strconv.ParseBool`, comma-separated lists, and
//! addresses or CIDR ranges ([`IpNet`]) for trusted proxies and `ClientIP` rules; and
//! [`closest`], the known name a misspelt one was meant to be.

use std::net::IpAddr;

/// Go's `strconv.ParseBool`, which Traefik uses for labels and flags.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// A comma-separated list, items trimmed; `None` when an item is empty (a stray comma is
/// usually a typo worth reporting).
pub fn list(value: &str) -> Option<Vec<String>> {
    let items: Vec<String> = value.split(',').map(|s| s.trim().to_string()).collect();
    (!items.iter().any(String::is_empty)).then_some(items)
}

/// An address or CIDR range (`10.0.0.0/8`, `127.0.0.1`, `::1`). IPv4-mapped IPv6 ranges are
/// kept as IPv4, and IPv4-mapped client addresses match IPv4 ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bad_prefix = || format!("`{s}` has a bad prefix length");
        let prefix = match p {
            "" if !s.contains('/') => max,
            p if p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(bad_prefix)?,
            _ => return Err(bad_prefix()),
        };
        if let IpAddr::V6(v6) = addr {
            if let (Some(v4), true) = (v6.to_ipv4_mapped(), prefix >= 96) {
                return Ok(Self {
                    addr: IpAddr::V4(v4),
                    prefix: prefix - 96,
                });
            }
        }
        Ok(Self { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The candidate `word` is a misspelling of: the closest in edit distance (Levenshtein, on
/// bytes), within 2 edits or a quarter of its length; `None` when `word` is a candidate or none
/// is that close.
pub fn closest(word: &str, candidates: impl IntoIterator<Item = String>) -> Option<String> {
    let distance = |a: &str| {
        let mut row: Vec<usize> = (0..=word.len()).collect();
        for (i, ca) in a.bytes().enumerate() {
            let mut diag = row[0];
            row[0] = i + 1;
            for (j, cb) in word.bytes().enumerate() {
                let next = (row[j + 1] + 1)
                    .min(row[j] + 1)
                    .min(diag + usize::from(ca != cb));
                diag = row[j + 1];
                row[j + 1] = next;
            }
        }
        row[word.len()]
    };
    let (d, best) = candidates.into_iter().map(|c| (distance(&c), c)).min()?;
    (d > 0 && d <= (best.len() / 4).max(2)).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_read_like_go() {
        for t in ["1", "t", "T", "true", "TRUE", "True"] {
            assert_eq!(parse_bool(t), Some(true));
        }
        for f in ["0", "f", "F", "false", "FALSE", "False"] {
            assert_eq!(parse_bool(f), Some(false));
        }
        for bad in ["yes", "tRuE", "", " true"] {
            assert_eq!(parse_bool(bad), None);
        }
    }

    #[test]
    fn lists_reject_empty_items() {
        assert_eq!(list(" /a , /b"), Some(vec!["/a".into(), "/b".into()]));
        assert_eq!(list("/a,"), None);
    }

    #[test]
    fn nets_parse_and_contain() {
        let net = |s: &str| IpNet::parse(s).unwrap();
        assert!(net("10.0.0.0/8").contains("10.1.2.3".parse().unwrap()));
        assert!(!net("10.0.0.0/8").contains("11.0.0.1".parse().unwrap()));
        assert!(net("127.0.0.1").contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(net("::ffff:10.0.0.0/104").contains("10.9.9.9".parse().unwrap()));
        assert!(net("::1").contains("::1".parse().unwrap()));
        assert!(net("0.0.0.0/0").contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0/33", "10.0.0.0/", "x", "10.0.0.0/+8", "::1/129"] {
            assert!(IpNet::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn closest_finds_a_misspelt_name() {
        let keys =
            || ["api.insecure", "api.dashboard", "entrypoints.web.address"].map(String::from);
        assert_eq!(
            closest("api.insecur", keys()).as_deref(),
            Some("api.insecure")
        );
        assert_eq!(
            closest("entrypoints.web.adres", keys()).as_deref(),
            Some("entrypoints.web.address")
        );
        assert_eq!(closest("api.insecure", keys()), None, "not misspelt");
        assert_eq!(closest("log.level", keys()), None, "nothing close");
    }
}
