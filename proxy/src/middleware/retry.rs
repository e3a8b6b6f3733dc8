//! retry: how many times a request may be tried in all. Unlike Traefik's (traefik#2723), each
//! new try goes to a server not tried yet; the proxy retries only requests that never reached a
//! server, or idempotent ones that got no response byte (see `proxy.rs`).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Total tries, the first included.
    pub attempts: u32,
}

impl Retry {
    pub fn new(attempts: u32) -> Result<Self, String> {
        if attempts == 0 {
            return Err("retry.attempts must be at least 1".into());
        }
        Ok(Self {
            attempts: attempts.min(16),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_bounded() {
        assert!(Retry::new(0).is_err());
        assert_eq!(Retry::new(3).unwrap().attempts, 3);
        assert_eq!(Retry::new(1000).unwrap().attempts, 16);
    }
}
