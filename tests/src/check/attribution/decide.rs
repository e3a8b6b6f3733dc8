//! Which container answered one request, from the containers' transmit counters read just
//! before and just after it. Pure, so every rule below is unit-tested without Docker.
//!
//! The rule: a response body of `n` bytes left exactly one backend container, so that
//! container sent at least `n` bytes of TCP payload, plus a status line and headers (19 bytes at
//! the very least: `HTTP/1.1 200 OK`, CRLF, CRLF). The counters give bytes *and* packets; every
//! packet on the wire carries at least 54 bytes of framing (Ethernet 14, IPv4 20, TCP 20), so
//! `bytes - 54 x packets` is at least the payload a container sent, and at most a few bytes
//! more for a packet that carries none. The others sent nothing, or noise: a TCP keep-alive
//! probe, an ARP or IPv6 neighbour packet, a brand-new container's first announcements (about
//! 140 bytes in two packets). Noise is framing with little or no payload, so it stays far under
//! the body; counting raw bytes instead let a new container's first 140 bytes look like a
//! small JSON answer. An idle keep-alive connection from the proxy's pool sends nothing, and a
//! Docker health check runs inside the container, on loopback, which the counters do not
//! count. So:
//!
//! - exactly one container sent `n + 19` bytes of payload or more: it answered;
//! - none did: nobody we watch answered (the proxy itself, or a container of another service);
//! - several did: something else was talking at the same time; undecided, unless one sent at
//!   least four times more than all the others together.

use std::collections::BTreeMap;

/// One container's counters at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The container's name (`servers1-static-2`): what evidence shows and `docker stop` takes.
    pub name: String,
    /// Its compose service.
    pub service: String,
    /// Bytes sent and received on all its network interfaces since it started.
    pub tx: u64,
    pub rx: u64,
    /// Packets sent, since it started: how much of `tx` is framing.
    pub tx_packets: u64,
}

/// The outcome for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// This container answered; `tx` is how much it sent meanwhile.
    One {
        name: String,
        service: String,
        tx: u64,
    },
    /// No watched container sent the response. `deltas`: the payload each one sent.
    Nobody { deltas: BTreeMap<String, u64> },
    /// More than one container sent that much payload.
    Ambiguous { deltas: BTreeMap<String, u64> },
}

impl Decision {
    /// The payload each container sent, for evidence: `static-1 +1234 B, static-2 +0 B`.
    pub fn describe(deltas: &BTreeMap<String, u64>) -> String {
        if deltas.is_empty() {
            return "no running container to watch".into();
        }
        deltas
            .iter()
            .map(|(n, d)| format!("{n} +{d} B"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The least framing of one packet: Ethernet (14) + IPv4 (20) + TCP (20) headers.
pub const FRAMING_PER_PACKET: u64 = 54;
/// The shortest response head: `HTTP/1.1 200 OK` and two CRLFs.
pub const SHORTEST_HEAD: u64 = 19;

/// What `a` sent since `b`, in bytes and packets. Counters start at 0 when a container
/// (re)starts or is new: then all of `a` is new.
fn growth(before: Option<&Sample>, a: &Sample) -> (u64, u64) {
    match before {
        Some(b) if a.tx >= b.tx && a.tx_packets >= b.tx_packets => {
            (a.tx - b.tx, a.tx_packets - b.tx_packets)
        }
        _ => (a.tx, a.tx_packets),
    }
}

/// Decides who sent a response whose body was `body_len` bytes.
pub fn decide(before: &[Sample], after: &[Sample], body_len: u64) -> Decision {
    // Per container: (payload, bytes, service).
    let mut sent: BTreeMap<&str, (u64, u64, &str)> = BTreeMap::new();
    for a in after {
        let (bytes, packets) = growth(before.iter().find(|b| b.name == a.name), a);
        let payload = bytes.saturating_sub(packets.saturating_mul(FRAMING_PER_PACKET));
        sent.insert(&a.name, (payload, bytes, &a.service));
    }
    let deltas =
        || -> BTreeMap<String, u64> { sent.iter().map(|(n, s)| (n.to_string(), s.0)).collect() };
    let need = body_len + SHORTEST_HEAD;
    let mut big: Vec<(&str, u64)> = sent
        .iter()
        .filter(|(_, s)| s.0 >= need)
        .map(|(n, s)| (*n, s.0))
        .collect();
    big.sort_by_key(|b| std::cmp::Reverse(b.1));
    let winner = match big.as_slice() {
        [] => return Decision::Nobody { deltas: deltas() },
        [one] => Some(one.0),
        [top, ..] => {
            let rest: u64 = sent.values().map(|s| s.0).sum::<u64>() - top.1;
            (top.1 >= rest.saturating_mul(4)).then_some(top.0)
        }
    };
    match winner {
        Some(name) => {
            let (_, bytes, service) = sent[name];
            Decision::One {
                name: name.to_string(),
                service: service.to_string(),
                tx: bytes,
            }
        }
        None => Decision::Ambiguous { deltas: deltas() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample whose bytes went out in full-size (1,514-byte) packets, as a response's do.
    fn s(name: &str, tx: u64) -> Sample {
        sp(name, tx, tx.div_ceil(1514))
    }

    fn sp(name: &str, tx: u64, tx_packets: u64) -> Sample {
        Sample {
            name: name.into(),
            service: name.split('-').next().unwrap().into(),
            tx,
            tx_packets,
            rx: 0,
        }
    }

    #[test]
    fn the_container_that_sent_the_body_answered() {
        let before = [s("static-1", 1000), s("static-2", 5000), s("dynamic-1", 70)];
        let after = [
            s("static-1", 1000),
            s("static-2", 5000 + 2400),
            s("dynamic-1", 70),
        ];
        assert_eq!(
            decide(&before, &after, 2100),
            Decision::One {
                name: "static-2".into(),
                service: "static".into(),
                tx: 2400
            }
        );
    }

    #[test]
    fn small_noise_elsewhere_does_not_matter() {
        // A keep-alive probe (66 B) and a neighbour solicitation (86 B) on other containers.
        let before = [s("static-1", 0), s("static-2", 0), s("static-3", 0)];
        let after = [s("static-1", 66), s("static-2", 3000), s("static-3", 86)];
        assert!(
            matches!(decide(&before, &after, 2800), Decision::One { name, .. } if name == "static-2")
        );
    }

    #[test]
    fn a_small_body_is_still_attributed_when_the_others_are_silent() {
        let before = [s("dynamic-1", 10), s("dynamic-2", 10)];
        let after = [s("dynamic-1", 10), s("dynamic-2", 10 + 250)];
        assert!(
            matches!(decide(&before, &after, 40), Decision::One { name, .. } if name == "dynamic-2")
        );
    }

    #[test]
    fn nobody_when_no_counter_grew_enough() {
        // The proxy answered 404 itself, or a container we do not watch answered.
        // One 60-byte packet: framing with 6 bytes of payload at most.
        let before = [sp("static-1", 100, 2)];
        let after = [sp("static-1", 160, 3)];
        match decide(&before, &after, 900) {
            Decision::Nobody { deltas } => {
                assert_eq!(Decision::describe(&deltas), "static-1 +6 B")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn two_comparable_senders_are_ambiguous() {
        // Someone else loaded the site at the same time.
        let before = [s("static-1", 0), s("static-2", 0)];
        let after = [s("static-1", 3000), s("static-2", 2900)];
        assert!(matches!(
            decide(&before, &after, 2700),
            Decision::Ambiguous { .. }
        ));
        // ...unless one sent far more than all the others together.
        let after = [s("static-1", 40_000), s("static-2", 3000)];
        assert!(
            matches!(decide(&before, &after, 2700), Decision::One { name, .. } if name == "static-1")
        );
    }

    #[test]
    fn a_restarted_or_new_container_counts_from_zero() {
        // static-2 restarted (its counter went back), static-3 is new (scaled up).
        let before = [s("static-1", 500), s("static-2", 90_000)];
        let after = [s("static-1", 500), s("static-2", 2500), s("static-3", 0)];
        assert!(
            matches!(decide(&before, &after, 2000), Decision::One { name, .. } if name == "static-2")
        );
        let after = [s("static-1", 500), s("static-3", 2600)];
        assert!(
            matches!(decide(&before, &after, 2000), Decision::One { name, .. } if name == "static-3")
        );
    }

    #[test]
    fn a_new_containers_first_packets_are_not_an_answer() {
        // Scaling up while a small JSON answer (90 B) is measured: the new container's first
        // announcements (140 B in two packets) count from zero, and are more bytes than the
        // body, but almost no payload.
        let before = [sp("dynamic-1", 9_000, 60)];
        let after = [sp("dynamic-1", 9_000 + 370, 62), sp("dynamic-4", 140, 2)];
        match decide(&before, &after, 90) {
            Decision::One { name, tx, .. } => assert_eq!((name.as_str(), tx), ("dynamic-1", 370)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_counter_reading_with_fewer_packets_is_a_restart() {
        let before = [sp("static-1", 5_000, 9)];
        let after = [sp("static-1", 5_100, 4)];
        assert!(
            matches!(decide(&before, &after, 4_000), Decision::One { name, tx, .. } if name == "static-1" && tx == 5_100)
        );
    }
}
