//! `bench`: the command line over the library (see `lib.rs`).

use std::path::PathBuf;

use anyhow::{bail, Result};
use bench::backend::BackendKind;
use bench::peers::Peer;
use bench::suite::{self, Env, Options};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    version,
    about = "Benchmarks our proxy against HAProxy, nginx, Caddy and Apache httpd on loopback"
)]
struct Cli {
    /// The workspace root (where `target/release/` and `docs/` are).
    #[arg(long, global = true, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
    root: PathBuf,
    /// Our proxy's binary [default: ROOT/target/release/proxy].
    #[arg(long, global = true, env = "BENCH_PROXY")]
    proxy: Option<PathBuf>,
    /// The static-server binary [default: ROOT/target/release/static-server].
    #[arg(long, global = true, env = "BENCH_STATIC_SERVER")]
    static_server: Option<PathBuf>,
    /// Which backend process serves behind the proxies.
    #[arg(long, global = true, value_enum, default_value_t = BackendChoice::Auto)]
    backend: BackendChoice,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendChoice {
    /// static-server when built in release, else the stand-in.
    Auto,
    StandIn,
    StaticServer,
}

#[derive(Subcommand)]
enum Cmd {
    /// The benchmark: every proxy, interleaved rounds, then config changes and failover;
    /// writes bench/results/<mode>.json and the book's performance chapter.
    Run {
        /// A smoke test: 1 round, 2 concurrencies, 2 s runs (about 2 minutes).
        #[arg(long)]
        quick: bool,
        /// Only these peers (none, ours, haproxy, nginx, caddy, apache), comma-separated.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        #[arg(long)]
        rounds: Option<usize>,
        /// Seconds per measured wrk run.
        #[arg(long)]
        duration: Option<u64>,
        /// Skip the config-change and failover measurements.
        #[arg(long)]
        no_dynamic: bool,
        /// Do not touch docs/ (results JSON only).
        #[arg(long)]
        no_docs: bool,
        /// The TLS section alone (ours, HAProxy, nginx): keep-alive over HTTPS and new
        /// handshakes per second; writes bench/results/tls.json and only the book's TLS table.
        #[arg(long, conflicts_with = "no_tls")]
        tls: bool,
        /// Leave the TLS section out.
        #[arg(long)]
        no_tls: bool,
    },
    /// Steady load through a proxy (ours by default) while servers are scaled up and down;
    /// writes bench/results/soak.json and the soak section of the performance chapter.
    Soak {
        /// Seconds of load.
        #[arg(long, default_value_t = 180)]
        duration: u64,
        /// Seconds between scale steps.
        #[arg(long, default_value_t = 3)]
        step: u64,
        #[arg(long, default_value_t = 16)]
        conns: u32,
        /// Seconds before the memory baseline.
        #[arg(long, default_value_t = 20)]
        warmup: u64,
        /// Stop a server's process before removing it from the config.
        #[arg(long)]
        abrupt: bool,
        /// The proxy to soak (ours, haproxy, nginx, caddy, apache).
        #[arg(long, default_value = "ours")]
        peer: String,
        /// Do not touch docs/ (results JSON only).
        #[arg(long)]
        no_docs: bool,
    },
    /// Profile our proxy under load with perf (build it with symbols: bench/profile.sh);
    /// writes bench/results/profile.txt.
    Profile {
        /// Seconds of recording.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Profile the sticky-cookie path instead of plain round robin.
        #[arg(long)]
        sticky: bool,
    },
    /// Rewrite the performance chapter and charts from saved results (no measurement).
    Render {
        /// A results file of `run` (bench/results/full.json or quick.json).
        #[arg(long)]
        run: Option<PathBuf>,
        /// A results file of `soak` (bench/results/soak.json).
        #[arg(long)]
        soak: Option<PathBuf>,
    },
    /// Render every peer's config and run the peer's own check (haproxy -c, nginx -t,
    /// caddy validate, apache2 -t); no load.
    Validate,
    /// The stand-in backend (used when static-server is not built).
    #[command(hide = true)]
    Backend {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        name: String,
    },
}

fn env(cli: &Cli) -> Result<Env> {
    let root = cli.root.canonicalize().unwrap_or_else(|_| cli.root.clone());
    let release = root.join("target/release");
    let ours = cli.proxy.clone().unwrap_or_else(|| release.join("proxy"));
    let static_server = cli
        .static_server
        .clone()
        .unwrap_or_else(|| release.join("static-server"));
    let stand_in = BackendKind::StandIn {
        exe: std::env::current_exe()?,
    };
    let backend = match cli.backend {
        BackendChoice::StandIn => stand_in,
        BackendChoice::StaticServer => {
            if !static_server.exists() {
                bail!(
                    "{} not built: cargo build --release -p static-server",
                    static_server.display()
                );
            }
            BackendKind::StaticServer { exe: static_server }
        }
        BackendChoice::Auto if static_server.exists() => {
            BackendKind::StaticServer { exe: static_server }
        }
        BackendChoice::Auto => stand_in,
    };
    let command = std::env::var("BENCH_COMMAND").unwrap_or_else(|_| {
        let args: Vec<String> = std::env::args().skip(1).collect();
        format!("cargo run -p bench --release -- {}", args.join(" "))
    });
    Ok(Env {
        ours,
        backend,
        command,
    })
}

fn main() -> Result<()> {
    let mut cli = Cli::parse();
    if let Ok(root) = cli.root.canonicalize() {
        cli.root = root;
    }
    match &cli.cmd {
        Cmd::Run {
            quick,
            only,
            rounds,
            duration,
            no_dynamic,
            no_docs,
            tls,
            no_tls,
        } => {
            let env = env(&cli)?;
            let mut opts = if *quick {
                Options::quick()
            } else {
                Options::full()
            };
            if !only.is_empty() {
                opts.peers = only
                    .iter()
                    .map(|s| Peer::parse(s).ok_or_else(|| anyhow::anyhow!("unknown peer {s}")))
                    .collect::<Result<_>>()?;
            }
            if let Some(r) = rounds {
                opts.rounds = *r;
            }
            if let Some(d) = duration {
                opts.duration_s = *d;
            }
            opts.dynamic = !no_dynamic;
            opts.plain = !tls;
            opts.tls = !no_tls;
            let results = suite::run(&opts, &env)?;
            let dir = cli.root.join("bench/results");
            std::fs::create_dir_all(&dir)?;
            let name = match (*tls, *quick) {
                (true, true) => "tls-quick.json",
                (true, false) => "tls.json",
                (false, true) => "quick.json",
                (false, false) => "full.json",
            };
            let json = dir.join(name);
            std::fs::write(&json, serde_json::to_string_pretty(&results)?)?;
            if opts.plain {
                println!("{}", bench::report::markdown(&results));
            }
            if opts.tls {
                println!("{}", bench::report::tls_markdown(&results));
            }
            eprintln!("bench: raw results in {}", json.display());
            if !no_docs {
                let docs = cli.root.join("docs/src");
                write_run(&docs, &results)?;
                if opts.plain {
                    eprintln!(
                        "bench: wrote {docs}/{} (summary), {docs}/{} (every table) and images/bench-*.svg",
                        bench::report::SUMMARY_PAGE,
                        bench::report::LOG_PAGE,
                        docs = docs.display()
                    );
                }
                if !results.tls.samples.is_empty() {
                    eprintln!(
                        "bench: wrote the TLS table into {}/{}",
                        docs.display(),
                        bench::report::SUMMARY_PAGE
                    );
                }
            }
            Ok(())
        }
        Cmd::Soak {
            duration,
            step,
            conns,
            warmup,
            abrupt,
            peer,
            no_docs,
        } => {
            let env = env(&cli)?;
            let opts = bench::soak::SoakOptions {
                peer: Peer::parse(peer).ok_or_else(|| anyhow::anyhow!("unknown peer {peer}"))?,
                duration_s: *duration,
                step_s: *step,
                conns: *conns,
                warmup_s: (*warmup).min(duration / 2),
                abrupt: *abrupt,
                ..Default::default()
            };
            let r = bench::soak::run(&opts, &env.backend, &env.ours, &env.command)?;
            let dir = cli.root.join("bench/results");
            std::fs::create_dir_all(&dir)?;
            let json = dir.join("soak.json");
            std::fs::write(&json, serde_json::to_string_pretty(&r)?)?;
            let md = bench::soak::markdown(&r);
            println!("{md}");
            eprintln!("bench: raw results in {}", json.display());
            if !no_docs && opts.peer == Peer::Ours {
                let docs = cli.root.join("docs/src");
                bench::report::write_docs(
                    &docs,
                    bench::report::LOG_PAGE,
                    "bench soak",
                    &md,
                    &[("bench-soak.svg", bench::soak::chart(&r))],
                )?;
            }
            let missed = r.missed_goals();
            if !missed.is_empty() {
                for m in &missed {
                    eprintln!("soak: goal missed: {m}");
                }
                bail!(
                    "the soak missed {} goal(s); figures in {}",
                    missed.len(),
                    json.display()
                );
            }
            eprintln!("soak: every goal met");
            Ok(())
        }
        Cmd::Profile { duration, sticky } => {
            let env = env(&cli)?;
            let p = bench::profile::run(&env.ours, &env.backend, *duration, *sticky)?;
            let text = format!(
                "# {}\n# {} req/s while recording (perf slows it down)\n\n## by shared object\n{}\n\n## by symbol (self time, % of all samples)\n{}\n\n## user space only (proxy and libc)\n{}\n",
                env.command, p.rps.round(), p.by_dso, p.flat, p.user
            );
            let path = cli.root.join("bench/results/profile.txt");
            std::fs::write(&path, &text)?;
            println!("{text}");
            eprintln!("bench: profile in {}", path.display());
            Ok(())
        }
        Cmd::Render { run, soak } => {
            let docs = cli.root.join("docs/src");
            if let Some(path) = run {
                let r: bench::suite::Results =
                    serde_json::from_str(&std::fs::read_to_string(path)?)?;
                write_run(&docs, &r)?;
            }
            if let Some(path) = soak {
                let r: bench::soak::SoakResults =
                    serde_json::from_str(&std::fs::read_to_string(path)?)?;
                let md = bench::soak::markdown(&r);
                bench::report::write_docs(
                    &docs,
                    bench::report::LOG_PAGE,
                    "bench soak",
                    &md,
                    &[("bench-soak.svg", bench::soak::chart(&r))],
                )?;
            }
            eprintln!(
                "bench: wrote {docs}/{} and {docs}/{}",
                bench::report::SUMMARY_PAGE,
                bench::report::LOG_PAGE,
                docs = docs.display()
            );
            Ok(())
        }
        Cmd::Validate => {
            for line in suite::validate_all(&env(&cli)?)? {
                println!("{line}");
            }
            Ok(())
        }
        Cmd::Backend { port, name } => bench::backend::serve_stand_in(*port, name.clone()),
    }
}

/// A run's blocks: the summary and its charts on the students' page, every table in the
/// appendix, and the TLS table on the students' page; each only when the run measured it, so
/// a `--tls` run leaves the plain-HTTP tables as they were.
fn write_run(docs: &std::path::Path, r: &bench::suite::Results) -> Result<()> {
    use bench::report::{
        charts, markdown, summary, tls_markdown, write_docs, LOG_PAGE, SUMMARY_PAGE,
    };
    if r.options.plain {
        write_docs(docs, SUMMARY_PAGE, "bench summary", &summary(r), &charts(r))?;
        write_docs(docs, LOG_PAGE, "bench results", &markdown(r), &[])?;
    }
    if !r.tls.samples.is_empty() {
        write_docs(docs, SUMMARY_PAGE, "bench tls", &tls_markdown(r), &[])?;
    }
    Ok(())
}
