//! Selection and health: which server of a service gets a request.
//!
//! A [`Balancer`] composes the service's servers (discovery, from the snapshot), round robin
//! and the sticky cookie (selection, here), and each server's health (`health.rs`, kept in
//! [`ServerState`]). Round robin is strictly cyclic over the servers in their configured order;
//! a request that follows its sticky cookie does not advance it.

pub mod health;
pub mod pool;
pub mod registry;
pub mod server;
pub mod sticky;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub use registry::Registry;
pub use server::ServerState;
use sticky::CookieSettings;

/// The sticky part of a balancer: the cookie's settings and each server's cookie value.
#[derive(Debug)]
pub struct StickyTable {
    pub cookie: CookieSettings,
    /// `values[i]` names `servers[i]`.
    pub values: Vec<String>,
}

/// A service's load balancer, immutable within a snapshot; its round-robin position and the
/// servers' health are shared with the next snapshot.
#[derive(Debug)]
pub struct Balancer {
    pub name: Arc<str>,
    pub servers: Vec<Arc<ServerState>>,
    rr: Arc<AtomicUsize>,
    pub sticky: Option<StickyTable>,
    pub pass_host_header: bool,
}

/// How a server was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The client's sticky cookie named this live server: no new cookie.
    Sticky(usize),
    /// Round robin chose this server (a sticky client gets a new cookie).
    RoundRobin(usize),
}

impl Pick {
    pub fn index(self) -> usize {
        match self {
            Pick::Sticky(i) | Pick::RoundRobin(i) => i,
        }
    }
}

impl Balancer {
    pub fn new(
        name: Arc<str>,
        servers: Vec<Arc<ServerState>>,
        rr: Arc<AtomicUsize>,
        sticky: Option<CookieSettings>,
        pass_host_header: bool,
    ) -> Self {
        let sticky = sticky.map(|cookie| StickyTable {
            values: servers
                .iter()
                .map(|s| sticky::cookie_value(&name, &s.url))
                .collect(),
            cookie,
        });
        Self {
            name,
            servers,
            rr,
            sticky,
            pass_host_header,
        }
    }

    /// The next live server in round-robin order, skipping those in `tried`.
    pub fn next_round_robin(&self, tried: &[usize]) -> Option<usize> {
        let n = self.servers.len();
        for _ in 0..n {
            let i = self.rr.fetch_add(1, Ordering::Relaxed) % n;
            if self.servers[i].is_up() && !tried.contains(&i) {
                return Some(i);
            }
        }
        None
    }

    /// The live server a sticky cookie value names, if any.
    pub fn sticky_server(&self, value: &str) -> Option<usize> {
        let table = self.sticky.as_ref()?;
        if value.len() != sticky::VALUE_LEN {
            return None;
        }
        let i = table
            .values
            .iter()
            .position(|v| sticky::value_eq(value.as_bytes(), v.as_bytes()))?;
        self.servers[i].is_up().then_some(i)
    }

    /// Chooses a server: the cookie's when it names a live server not yet tried, else round
    /// robin.
    pub fn pick(&self, cookie: Option<&str>, tried: &[usize]) -> Option<Pick> {
        if let Some(i) = cookie.and_then(|v| self.sticky_server(v)) {
            if !tried.contains(&i) {
                return Some(Pick::Sticky(i));
            }
        }
        self.next_round_robin(tried).map(Pick::RoundRobin)
    }

    /// Whether at least one server may be picked.
    pub fn has_live_server(&self) -> bool {
        self.servers.iter().any(|s| s.is_up())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StickyCookie;
    use proptest::prelude::*;

    fn balancer(n: usize, sticky: bool) -> Balancer {
        let servers = (0..n)
            .map(|i| {
                Arc::new(ServerState::new(&format!("http://10.0.0.{i}:80").into(), "").unwrap())
            })
            .collect();
        let cookie = sticky.then(|| CookieSettings::new("_abcde", &StickyCookie::default()));
        Balancer::new(
            "svc".into(),
            servers,
            Arc::new(AtomicUsize::new(0)),
            cookie,
            true,
        )
    }

    #[test]
    fn round_robin_is_cyclic_in_order() {
        let b = balancer(3, false);
        let seq: Vec<_> = (0..7).map(|_| b.next_round_robin(&[]).unwrap()).collect();
        assert_eq!(seq, vec![0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn sticky_hits_do_not_advance_round_robin() {
        let b = balancer(3, true);
        let v1 = b.sticky.as_ref().unwrap().values[1].clone();
        assert_eq!(b.pick(None, &[]), Some(Pick::RoundRobin(0)));
        assert_eq!(b.pick(Some(&v1), &[]), Some(Pick::Sticky(1)));
        assert_eq!(b.pick(Some(&v1), &[]), Some(Pick::Sticky(1)));
        assert_eq!(b.pick(Some("garbage"), &[]), Some(Pick::RoundRobin(1)));
        assert_eq!(b.pick(None, &[]), Some(Pick::RoundRobin(2)));
    }

    #[test]
    fn cookie_of_a_down_server_gets_round_robin() {
        let b = balancer(2, true);
        let v0 = b.sticky.as_ref().unwrap().values[0].clone();
        b.servers[0].mark_passive_down();
        assert_eq!(b.pick(Some(&v0), &[]), Some(Pick::RoundRobin(1)));
        b.servers[1].set_active_down(true);
        assert_eq!(b.pick(Some(&v0), &[]), None);
        assert!(!b.has_live_server());
    }

    #[test]
    fn tried_servers_are_skipped() {
        let b = balancer(3, true);
        let v0 = b.sticky.as_ref().unwrap().values[0].clone();
        assert_eq!(b.pick(Some(&v0), &[0]), Some(Pick::RoundRobin(1)));
        assert_eq!(b.pick(None, &[0, 1, 2]), None);
    }

    proptest! {
        /// With every server up, k*n round-robin picks visit each server exactly k times, in
        /// order, whatever sticky picks are interleaved.
        #[test]
        fn round_robin_visits_all_in_order(n in 1usize..12, k in 1usize..5, sticky_every in 1usize..5) {
            let b = balancer(n, true);
            let v = b.sticky.as_ref().unwrap().values[n / 2].clone();
            let mut seen = Vec::new();
            for step in 0..n * k {
                if step % sticky_every == 0 {
                    prop_assert_eq!(b.pick(Some(&v), &[]), Some(Pick::Sticky(n / 2)));
                }
                seen.push(b.pick(None, &[]).unwrap().index());
            }
            for (step, i) in seen.iter().enumerate() {
                prop_assert_eq!(*i, step % n);
            }
        }

        /// A pick is never a down server nor a tried one, and is `None` only when no server is
        /// left.
        #[test]
        fn never_picks_down_or_tried(down in proptest::collection::vec(any::<bool>(), 1..10),
                                     tried in proptest::collection::vec(0usize..10, 0..4),
                                     steps in 1usize..30) {
            let b = balancer(down.len(), false);
            for (i, d) in down.iter().enumerate() {
                b.servers[i].set_active_down(*d);
            }
            let eligible = (0..down.len()).filter(|i| !down[*i] && !tried.contains(i)).count();
            for _ in 0..steps {
                match b.pick(None, &tried) {
                    Some(p) => {
                        prop_assert!(!down[p.index()]);
                        prop_assert!(!tried.contains(&p.index()));
                    }
                    None => prop_assert_eq!(eligible, 0),
                }
            }
        }

        /// No presented value other than a server's own reaches a server.
        #[test]
        fn forged_cookies_never_match(s in ".{0,40}") {
            let b = balancer(4, true);
            let table = b.sticky.as_ref().unwrap();
            match b.sticky_server(&s) {
                Some(i) => prop_assert_eq!(&table.values[i], &s),
                None => prop_assert!(!table.values.contains(&s)),
            }
        }
    }
}
