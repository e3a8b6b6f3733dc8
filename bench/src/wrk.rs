//! Load from wrk (Debian's package): runs it bounded in time and parses its report.
//!
//! wrk is a C load generator with an event loop per thread: it costs much less CPU per request
//! than the proxies under test, which matters when everything shares two cores.

use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone)]
pub struct Load {
    pub port: u16,
    pub path: String,
    pub connections: u32,
    pub duration: Duration,
    pub headers: Vec<String>,
    /// `https://` (wrk's TLS is OpenSSL's, with its default client settings).
    pub tls: bool,
}

impl Load {
    pub fn new(port: u16, path: &str, connections: u32, duration: Duration) -> Load {
        Load {
            port,
            path: path.to_string(),
            connections,
            duration,
            headers: Vec::new(),
            tls: false,
        }
    }

    /// The wrk command line (threads: one per core at most, never more than connections; wrk
    /// takes whole seconds).
    pub fn command(&self) -> Command {
        let threads = self.connections.clamp(1, 2);
        let mut c = Command::new("wrk");
        c.arg(format!("-t{threads}"))
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", self.duration.as_secs().max(1)))
            .arg("--timeout")
            .arg("3s")
            .arg("--latency");
        for h in &self.headers {
            c.arg("-H").arg(h);
        }
        let scheme = if self.tls { "https" } else { "http" };
        c.arg(format!("{scheme}://127.0.0.1:{}{}", self.port, self.path));
        c
    }

    pub fn run(&self) -> Result<WrkResult> {
        let out = self
            .command()
            .output()
            .context("run wrk (Debian: apt-get install wrk)")?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "wrk failed: {}{}",
                text,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        parse(&text).with_context(|| format!("parse wrk output:\n{text}"))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WrkResult {
    pub requests: u64,
    pub seconds: f64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub non_2xx_3xx: u64,
    pub connect_errors: u64,
    pub read_errors: u64,
    pub write_errors: u64,
    pub timeouts: u64,
}

impl WrkResult {
    /// Requests that did not get a 2xx/3xx answer, and socket errors (a failed GET for a user).
    pub fn failed(&self) -> u64 {
        self.non_2xx_3xx
            + self.connect_errors
            + self.read_errors
            + self.write_errors
            + self.timeouts
    }
}

/// Milliseconds from wrk's time format (`812.00us`, `1.23ms`, `2.00s`, `1.00m`).
fn parse_time_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000.0)
    } else {
        return None;
    };
    num.trim().parse::<f64>().ok().map(|v| v * mult)
}

pub fn parse(text: &str) -> Result<WrkResult> {
    let mut r = WrkResult::default();
    let mut saw_total = false;
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            r.rps = v.trim().parse()?;
        } else if words.len() >= 2 && words[0] == "50%" {
            r.p50_ms = parse_time_ms(words[1]).context("p50")?;
        } else if words.len() >= 2 && words[0] == "99%" {
            r.p99_ms = parse_time_ms(words[1]).context("p99")?;
        } else if words.len() >= 4 && words[1] == "requests" && words[2] == "in" {
            r.requests = words[0].parse()?;
            r.seconds = parse_time_ms(words[3].trim_end_matches(',')).context("duration")? / 1000.0;
            saw_total = true;
        } else if let Some(v) = line.strip_prefix("Socket errors:") {
            for part in v.split(',') {
                let mut it = part.split_whitespace();
                let (Some(k), Some(n)) = (it.next(), it.next()) else {
                    continue;
                };
                let n: u64 = n.parse()?;
                match k {
                    "connect" => r.connect_errors = n,
                    "read" => r.read_errors = n,
                    "write" => r.write_errors = n,
                    "timeout" => r.timeouts = n,
                    _ => {}
                }
            }
        } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            r.non_2xx_3xx = v.trim().parse()?;
        }
    }
    if !saw_total {
        bail!("no request count in wrk's report");
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 5s test @ http://127.0.0.1:8080/bench.txt
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.23ms  456.00us  12.34ms   80.00%
    Req/Sec    20.00k     1.00k   22.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    1.40ms
     90%    1.80ms
     99%    3.60ms
  200000 requests in 5.00s, 50.00MB read
  Socket errors: connect 1, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 12
Requests/sec:  40000.00
Transfer/sec:     10.00MB
";

    #[test]
    fn parses_a_full_report() {
        let r = parse(SAMPLE).expect("parses");
        assert_eq!(r.requests, 200_000);
        assert!((r.seconds - 5.0).abs() < 1e-9);
        assert!((r.rps - 40000.0).abs() < 1e-9);
        assert!((r.p50_ms - 0.812).abs() < 1e-9);
        assert!((r.p99_ms - 3.6).abs() < 1e-9);
        assert_eq!(r.failed(), 12 + 1 + 3 + 2);
    }

    #[test]
    fn clean_report_has_no_failures() {
        let text = SAMPLE
            .lines()
            .filter(|l| !l.contains("errors") && !l.contains("Non-2xx"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(parse(&text).expect("parses").failed(), 0);
    }

    #[test]
    fn time_units() {
        assert_eq!(parse_time_ms("2.00s"), Some(2000.0));
        assert_eq!(parse_time_ms("1.00m"), Some(60000.0));
        assert_eq!(parse_time_ms("x"), None);
    }

    #[test]
    fn command_line() {
        let mut l = Load::new(8080, "/bench.txt", 1, Duration::from_secs(2));
        l.headers.push("Cookie: lb=s1".into());
        let c = l.command();
        let args: Vec<String> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args[0], "-t1");
        assert!(args.contains(&"-d2s".to_string()));
        assert!(args.contains(&"Cookie: lb=s1".to_string()));
        assert_eq!(
            args.last().map(String::as_str),
            Some("http://127.0.0.1:8080/bench.txt")
        );
        l.tls = true;
        let c = l.command();
        assert_eq!(
            c.get_args()
                .last()
                .map(|a| a.to_string_lossy().into_owned()),
            Some("https://127.0.0.1:8080/bench.txt".to_string())
        );
    }
}
