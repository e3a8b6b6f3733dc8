//! Medians with their spread: each figure is reported as median (min–max) over the rounds.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Spread {
    /// None for no values. The median of an even count is the mean of the middle two.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            min: v[0],
            max: v[n - 1],
            n,
        })
    }

    /// `12.3k (11.9k–12.8k)` style, with the given formatter for each number.
    pub fn show(&self, f: impl Fn(f64) -> String) -> String {
        if self.n <= 1 || (self.max - self.min).abs() < f64::EPSILON {
            f(self.median)
        } else {
            format!("{} ({}–{})", f(self.median), f(self.min), f(self.max))
        }
    }
}

/// Requests per second: `41.9k`, or plain below 1000.
pub fn rps(x: f64) -> String {
    if x >= 1000.0 {
        format!("{:.1}k", x / 1000.0)
    } else {
        format!("{x:.0}")
    }
}

/// Milliseconds with sensible precision.
pub fn ms(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// Megabytes from kB.
pub fn mb(kb: f64) -> String {
    format!("{:.1}", kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        let s = Spread::of(&[3.0, 1.0, 2.0]).expect("some");
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        assert_eq!(Spread::of(&[1.0, 4.0]).expect("some").median, 2.5);
        assert!(Spread::of(&[]).is_none());
        assert_eq!(s.show(|x| format!("{x:.0}")), "2 (1–3)");
        assert_eq!(rps(41_950.0), "42.0k");
        assert_eq!(ms(3.6), "3.60");
    }
}
