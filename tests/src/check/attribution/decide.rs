//! Which container answered one request, from the containers' transmit counters read just
//! before and just after it. Pure, so every rule below is unit-tested without Docker.
//!
//! The rule: a response body of `n` bytes left exactly one backend container, so that
//! container's transmitted bytes grew by at least `n` (plus headers and TCP/IP framing). The
//! others sent nothing, or a few bytes of noise: a TCP keep-alive probe, an ARP or IPv6
//! neighbour packet (under 100 bytes each). An idle keep-alive connection from the proxy's
//! pool sends nothing, and a Docker health check runs inside the container, on loopback, which
//! the counters do not count. So:
//!
//! - exactly one container grew by `n` or more: it answered;
//! - none did: nobody we watch answered (the proxy itself, or a container of another service);
//! - several did: something else was talking at the same time; undecided, unless one grew at
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
    /// No watched container sent the response.
    Nobody { deltas: BTreeMap<String, u64> },
    /// More than one container sent that much.
    Ambiguous { deltas: BTreeMap<String, u64> },
}

impl Decision {
    /// The counters' growth, for evidence: `static-1 +1234 B, static-2 +0 B`.
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

/// Decides who sent a response whose body was `body_len` bytes.
pub fn decide(before: &[Sample], after: &[Sample], body_len: u64) -> Decision {
    let mut deltas: BTreeMap<String, u64> = BTreeMap::new();
    let mut services: BTreeMap<&str, &str> = BTreeMap::new();
    for a in after {
        let delta = match before.iter().find(|b| b.name == a.name) {
            // Counters start at 0 when a container (re)starts: then all of `a` is new.
            Some(b) if a.tx >= b.tx => a.tx - b.tx,
            _ => a.tx,
        };
        deltas.insert(a.name.clone(), delta);
        services.insert(&a.name, &a.service);
    }
    // A body of 0 bytes still needs a status line and headers.
    let need = body_len.max(1);
    let mut big: Vec<(&String, u64)> = deltas
        .iter()
        .filter(|(_, d)| **d >= need)
        .map(|(n, d)| (n, *d))
        .collect();
    big.sort_by_key(|b| std::cmp::Reverse(b.1));
    let winner = match big.as_slice() {
        [] => return Decision::Nobody { deltas },
        [one] => Some(one.0.clone()),
        [top, ..] => {
            let rest: u64 = deltas.values().sum::<u64>() - top.1;
            (top.1 >= rest.saturating_mul(4)).then(|| top.0.clone())
        }
    };
    match winner {
        Some(name) => Decision::One {
            service: services[name.as_str()].to_string(),
            tx: deltas[&name],
            name,
        },
        None => Decision::Ambiguous { deltas },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, tx: u64) -> Sample {
        Sample {
            name: name.into(),
            service: name.split('-').next().unwrap().into(),
            tx,
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
        let before = [s("static-1", 100)];
        let after = [s("static-1", 160)];
        match decide(&before, &after, 900) {
            Decision::Nobody { deltas } => {
                assert_eq!(Decision::describe(&deltas), "static-1 +60 B")
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
            decide(&before, &after, 2800),
            Decision::Ambiguous { .. }
        ));
        // ...unless one sent far more than all the others together.
        let after = [s("static-1", 40_000), s("static-2", 3000)];
        assert!(
            matches!(decide(&before, &after, 2800), Decision::One { name, .. } if name == "static-1")
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
}
