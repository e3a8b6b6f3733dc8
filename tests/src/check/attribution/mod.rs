//! Which server answered a request, found by the grader itself: the servers need not help.
//!
//! Two ways, chosen once per run:
//!
//! - **`X-Served-By`** (a shortcut): when every server answers with it, as the kit's do, and
//!   shortcuts are allowed (not `--no-shortcuts`). Free.
//! - **Docker's network counters**: on a Docker stack, each request is sent alone, with the
//!   transmit counters of every backend container read just before and just after it; the
//!   container that sent the response's size in payload (bytes less packet framing) answered
//!   ([`decide`]). Works with any server: identical files on every static server, any JSON
//!   from the API, no header.
//!
//! Neither available (a stack without Docker whose servers send no `X-Served-By`): the checks
//! that need to know say SKIP and why. A request the counters cannot attribute (another client
//! was loading the site at the same moment) makes its check SKIP, never FAIL.
//!
//! The cost of each reading is counted ([`Cost`]), and `lab check` prints it at the end.

pub mod decide;
pub mod engine;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::OnceCell;

pub use decide::{decide, Decision, Sample};
pub use engine::{Counters, DockerCounters};

use super::client::{Answer, Client};

/// How a request was attributed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    Header,
    /// The container's transmit counter grew by this many bytes.
    Counters(u64),
}

/// Who answered a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    /// The `X-Served-By` value, or the container's name.
    pub server: String,
    /// The compose service, when known.
    pub service: Option<String>,
    pub how: How,
}

/// A check could not decide (as opposed to: the stack behaves wrongly). The check reports
/// SKIP with this reason.
#[derive(Debug, Clone)]
pub struct Undecidable(pub String);

impl std::fmt::Display for Undecidable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Undecidable {}

/// One answer and who sent it (or why that is unknown).
#[derive(Debug, Clone)]
pub struct Seen {
    pub answer: Answer,
    pub who: std::result::Result<Who, String>,
}

impl Seen {
    /// The server, or an [`Undecidable`] error that turns the check into a SKIP.
    pub fn server(&self) -> Result<String> {
        match &self.who {
            Ok(w) => Ok(w.server.clone()),
            Err(why) => Err(Undecidable(format!(
                "cannot tell which server answered GET {} ({}): {why}",
                self.answer.path, self.answer.status
            ))
            .into()),
        }
    }

    /// For evidence: the server, or `?`.
    pub fn by(&self) -> &str {
        self.who.as_ref().map_or("?", |w| w.server.as_str())
    }

    /// The compose service that answered, when known.
    pub fn service(&self) -> Option<&str> {
        self.who.as_ref().ok()?.service.as_deref()
    }
}

/// How this run attributes requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Header,
    Counters,
    /// No way; why.
    Blind(String),
}

impl Mode {
    pub fn describe(&self) -> String {
        match self {
            Mode::Header => "X-Served-By (the servers name themselves)".into(),
            Mode::Counters => {
                "Docker's network counters (each request alone, counters read around it)".into()
            }
            Mode::Blind(why) => format!("none ({why})"),
        }
    }
}

/// What attribution cost in this run.
#[derive(Debug, Clone, Default)]
pub struct Cost {
    pub requests: u32,
    pub samples: u32,
    pub sample_time: Duration,
    pub undecided: u32,
}

impl Cost {
    pub fn describe(&self) -> String {
        if self.samples == 0 {
            return format!("{} requests attributed, no counter reading", self.requests);
        }
        format!(
            "{} requests attributed by counters ({} undecided), {} readings in {:.2} s: \
             {:.1} ms per reading, {:.1} ms per request",
            self.requests,
            self.undecided,
            self.samples,
            self.sample_time.as_secs_f64(),
            self.sample_time.as_secs_f64() * 1000.0 / f64::from(self.samples),
            self.sample_time.as_secs_f64() * 1000.0 / f64::from(self.requests.max(1)),
        )
    }
}

/// Decides, once, how to attribute, then attributes each request.
pub struct Attributor {
    shortcuts: bool,
    counters: Option<Arc<dyn Counters>>,
    /// Requested when choosing the mode: do they all carry `X-Served-By`?
    probe_paths: Vec<String>,
    /// Why there are no counters, when there are none.
    no_counters: String,
    mode: OnceCell<Mode>,
    cost: Mutex<Cost>,
}

impl std::fmt::Debug for Attributor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attributor")
            .field("shortcuts", &self.shortcuts)
            .field("counters", &self.counters.is_some())
            .field("mode", &self.mode.get())
            .finish()
    }
}

impl Attributor {
    /// `counters`: `Err(why not)` when this stack has none.
    pub fn new(
        shortcuts: bool,
        counters: std::result::Result<Arc<dyn Counters>, String>,
        probe_paths: &[&str],
    ) -> Self {
        let (counters, no_counters) = match counters {
            Ok(c) => (Some(c), String::new()),
            Err(why) => (None, why),
        };
        Self {
            shortcuts,
            counters,
            probe_paths: probe_paths.iter().map(|p| p.to_string()).collect(),
            no_counters,
            mode: OnceCell::new(),
            cost: Mutex::new(Cost::default()),
        }
    }

    /// The mode, if already chosen.
    pub fn chosen(&self) -> Option<Mode> {
        self.mode.get().cloned()
    }

    pub fn cost(&self) -> Cost {
        self.cost.lock().expect("not poisoned").clone()
    }

    /// Where the counters were read, if they were.
    pub fn source(&self) -> String {
        self.counters
            .as_ref()
            .map(|c| c.source())
            .unwrap_or_default()
    }

    /// The mode, chosen on first use: the header if every probed path has it (and shortcuts
    /// are on), else the counters, else none.
    pub async fn mode(&self, web: &Client) -> Mode {
        self.mode
            .get_or_init(|| async {
                if self.shortcuts {
                    let mut all = true;
                    for p in &self.probe_paths {
                        match web.get(p, None).await {
                            Ok(a) if a.served_by.is_some() => {}
                            _ => all = false,
                        }
                    }
                    if all {
                        return Mode::Header;
                    }
                }
                match &self.counters {
                    Some(c) => match c.sample().await {
                        Ok(s) if !s.is_empty() => Mode::Counters,
                        Ok(_) => Mode::Blind(
                            "the compose project has no running backend container to watch".into(),
                        ),
                        Err(e) => Mode::Blind(format!("Docker's counters cannot be read: {e:#}")),
                    },
                    None => Mode::Blind(format!(
                        "the servers do not send X-Served-By{}, and {}",
                        if self.shortcuts {
                            ""
                        } else {
                            " (or --no-shortcuts)"
                        },
                        self.no_counters
                    )),
                }
            })
            .await
            .clone()
    }

    async fn sample(&self, c: &Arc<dyn Counters>) -> Result<Vec<Sample>> {
        let t0 = Instant::now();
        let s = c.sample().await;
        let mut cost = self.cost.lock().expect("not poisoned");
        cost.samples += 1;
        cost.sample_time += t0.elapsed();
        s
    }

    /// GET `path` and find out who answered.
    pub async fn get(
        &self,
        web: &Client,
        path: &str,
        cookie: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<Seen> {
        let mode = self.mode(web).await;
        let counters = match (&mode, &self.counters) {
            (Mode::Counters, Some(c)) => Some(c.clone()),
            _ => None,
        };
        let before = match &counters {
            Some(c) => Some(self.sample(c).await),
            None => None,
        };
        let answer = web.get_with(path, cookie, extra).await?;
        let who = match (&mode, counters, before) {
            (Mode::Header, _, _) => answer
                .served_by
                .clone()
                .map(|server| Who {
                    server,
                    service: None,
                    how: How::Header,
                })
                .ok_or_else(|| "this answer has no X-Served-By".to_string()),
            (Mode::Counters, Some(c), Some(before)) => {
                let after = self.sample(&c).await;
                match (before, after) {
                    (Ok(before), Ok(after)) => {
                        match decide(&before, &after, answer.body.len() as u64) {
                            Decision::One { name, service, tx } => Ok(Who {
                                server: name,
                                service: Some(service),
                                how: How::Counters(tx),
                            }),
                            Decision::Nobody { deltas } => Err(format!(
                                "no backend container sent the {} bytes (counters: {})",
                                answer.body.len(),
                                Decision::describe(&deltas)
                            )),
                            Decision::Ambiguous { deltas } => Err(format!(
                                "several containers sent that much at once (another client?): {}",
                                Decision::describe(&deltas)
                            )),
                        }
                    }
                    (Err(e), _) | (_, Err(e)) => Err(format!("reading Docker's counters: {e:#}")),
                }
            }
            (Mode::Blind(why), _, _) => Err(why.clone()),
            _ => Err("no counters".to_string()),
        };
        let mut cost = self.cost.lock().expect("not poisoned");
        cost.requests += 1;
        if who.is_err() && mode == Mode::Counters {
            cost.undecided += 1;
        }
        Ok(Seen { answer, who })
    }
}

/// The web client with attribution: what the checks send their requests through.
#[derive(Debug, Clone)]
pub struct Probe {
    pub web: Client,
    pub attr: Arc<Attributor>,
}

impl Probe {
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Result<Seen> {
        self.attr.get(&self.web, path, cookie, &[]).await
    }

    pub async fn get_with(
        &self,
        path: &str,
        cookie: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<Seen> {
        self.attr.get(&self.web, path, cookie, extra).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers every request with `body`, and `X-Served-By: s1` if `header`.
    async fn server(body: &'static str, header: bool) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = conn.read(&mut buf).await;
                    let extra = if header { "X-Served-By: s1\r\n" } else { "" };
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(resp.as_bytes()).await;
                });
            }
        });
        format!("http://{addr}")
    }

    /// Counters that grow `static-2`'s by 500 bytes between each pair of readings.
    struct Scripted(AtomicUsize);

    impl Counters for Scripted {
        fn sample(&self) -> Pin<Box<dyn Future<Output = Result<Vec<Sample>>> + Send + '_>> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) as u64;
            Box::pin(async move {
                let s = |name: &str, tx, tx_packets| Sample {
                    name: name.into(),
                    service: "static".into(),
                    tx,
                    tx_packets,
                    rx: 0,
                };
                Ok(vec![
                    s("static-1", 100, 2),
                    s("static-2", 1000 + 500 * n, 10 + n),
                ])
            })
        }
    }

    use std::future::Future;
    use std::pin::Pin;

    #[tokio::test]
    async fn counters_attribute_when_there_is_no_header() {
        let web = Client::new(&server("hello, world", false).await, "demo.res.ch").unwrap();
        let attr = Attributor::new(false, Ok(Arc::new(Scripted(AtomicUsize::new(0)))), &["/"]);
        let seen = attr.get(&web, "/", None, &[]).await.unwrap();
        let who = seen.who.unwrap();
        assert_eq!(who.server, "static-2");
        assert_eq!(who.how, How::Counters(500));
        assert_eq!(attr.chosen(), Some(Mode::Counters));
        let cost = attr.cost();
        assert_eq!((cost.requests, cost.undecided), (1, 0));
        assert!(cost.samples >= 2, "a reading before and after");
    }

    #[tokio::test]
    async fn the_header_is_a_shortcut_only_when_allowed() {
        let url = server("hello", true).await;
        let web = Client::new(&url, "demo.res.ch").unwrap();
        let with = Attributor::new(true, Ok(Arc::new(Scripted(AtomicUsize::new(0)))), &["/"]);
        let seen = with.get(&web, "/", None, &[]).await.unwrap();
        assert_eq!(seen.who.unwrap().how, How::Header);
        assert_eq!(with.cost().samples, 0, "no counter reading with the header");
        let without = Attributor::new(false, Ok(Arc::new(Scripted(AtomicUsize::new(0)))), &["/"]);
        let seen = without.get(&web, "/", None, &[]).await.unwrap();
        assert!(matches!(seen.who.unwrap().how, How::Counters(_)));
    }

    #[tokio::test]
    async fn no_header_and_no_counters_is_undecidable() {
        let web = Client::new(&server("x", false).await, "demo.res.ch").unwrap();
        let attr = Attributor::new(true, Err("not a Docker stack".into()), &["/"]);
        let seen = attr.get(&web, "/", None, &[]).await.unwrap();
        let e = seen.server().unwrap_err();
        assert!(e.downcast_ref::<Undecidable>().is_some());
        assert!(e.to_string().contains("not a Docker stack"), "{e}");
    }
}
