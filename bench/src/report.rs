//! From raw results to what people read: markdown tables, SVG charts, the JSON on disk, and two
//! pages of the book: the students' one-page summary ([`summary`], in `performance.md`) and the
//! full tables of the engineering log ([`markdown`], in the appendix [`LOG_PAGE`]). Only the
//! generated block between markers is replaced, so the prose around it stays.

use std::path::Path;

use anyhow::{Context, Result};

use crate::peers::Peer;
use crate::stats::{mb, ms, rps, Spread};
use crate::suite::{Results, Sample};
use crate::svg::{self, Bar};
use crate::tls_section::{TlsLoad, TlsSample, TLS_CONNS};

const HEADLINE_CONNS: u32 = 64;

/// The students' page: the headline table, the charts and the TLS table.
pub const SUMMARY_PAGE: &str = "performance.md";
/// The appendix: every table of the run, the soak, and the engineering log around them.
pub const LOG_PAGE: &str = "performance-log.md";

fn spread_of<'a>(
    samples: impl Iterator<Item = &'a Sample>,
    f: impl Fn(&Sample) -> Option<f64>,
) -> Option<Spread> {
    let v: Vec<f64> = samples.filter_map(f).collect();
    Spread::of(&v)
}

fn select(r: &Results, peer: Peer, sticky: bool, conns: u32) -> impl Iterator<Item = &Sample> {
    r.samples
        .iter()
        .filter(move |s| s.peer == peer && s.sticky == sticky && s.conns == conns)
}

/// Median of one figure for one variant.
fn median(
    r: &Results,
    peer: Peer,
    sticky: bool,
    conns: u32,
    f: impl Fn(&Sample) -> Option<f64>,
) -> Option<f64> {
    spread_of(select(r, peer, sticky, conns), f).map(|s| s.median)
}

/// Peers in table order, those with samples only.
fn peers_with_samples(r: &Results, sticky: bool) -> Vec<Peer> {
    Peer::ALL
        .into_iter()
        .filter(|p| r.samples.iter().any(|s| s.peer == *p && s.sticky == sticky))
        .collect()
}

fn show(s: Option<Spread>, f: impl Fn(f64) -> String) -> String {
    s.map(|s| s.show(f)).unwrap_or_else(|| "—".into())
}

/// The ratios the goals are judged on, at 64 connections in this run.
#[derive(Debug, Clone, Default)]
pub struct Ratios {
    pub rps_vs_haproxy: Option<f64>,
    pub rps_vs_nginx: Option<f64>,
    pub p99_vs_haproxy: Option<f64>,
    pub cpu_vs_haproxy: Option<f64>,
    /// Ours against ours with the fast path off: what the fast path is worth.
    pub rps_vs_hyper_only: Option<f64>,
    pub cpu_vs_hyper_only: Option<f64>,
}

pub fn ratios(r: &Results) -> Ratios {
    let c = HEADLINE_CONNS;
    let m = |p, f: &dyn Fn(&Sample) -> Option<f64>| median(r, p, false, c, f);
    let div = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let rps_of = |s: &Sample| Some(s.wrk.rps);
    let p99_of = |s: &Sample| Some(s.wrk.p99_ms);
    let cpu_of = |s: &Sample| s.cpu_ms_per_10k();
    Ratios {
        rps_vs_haproxy: div(m(Peer::Ours, &rps_of), m(Peer::Haproxy, &rps_of)),
        rps_vs_nginx: div(m(Peer::Ours, &rps_of), m(Peer::Nginx, &rps_of)),
        p99_vs_haproxy: div(m(Peer::Ours, &p99_of), m(Peer::Haproxy, &p99_of)),
        cpu_vs_haproxy: div(m(Peer::Ours, &cpu_of), m(Peer::Haproxy, &cpu_of)),
        rps_vs_hyper_only: div(m(Peer::Ours, &rps_of), m(Peer::OursHyper, &rps_of)),
        cpu_vs_hyper_only: div(m(Peer::Ours, &cpu_of), m(Peer::OursHyper, &cpu_of)),
    }
}

fn ratio(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.2}")).unwrap_or_else(|| "—".into())
}

fn headline_table(r: &Results, sticky: bool, conns: u32) -> String {
    let mut t = String::from(
        "| proxy | req/s | p50 ms | p99 ms | proxy CPU ms / 10k req | context switches / req | peak RSS MB | failed |\n|---|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for p in peers_with_samples(r, sticky) {
        let s = || select(r, p, sticky, conns);
        if s().next().is_none() {
            continue;
        }
        let name = if p == Peer::Ours {
            format!("**{}**", p.label())
        } else {
            p.label().to_string()
        };
        let failed: u64 = s().map(|x| x.wrk.failed()).sum();
        t.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {failed} |\n",
            show(spread_of(s(), |x| Some(x.wrk.rps)), rps),
            show(spread_of(s(), |x| Some(x.wrk.p50_ms)), ms),
            show(spread_of(s(), |x| Some(x.wrk.p99_ms)), ms),
            show(spread_of(s(), Sample::cpu_ms_per_10k), |v| format!(
                "{v:.0}"
            )),
            show(spread_of(s(), Sample::ctx_switches_per_req), |v| format!(
                "{v:.2}"
            )),
            show(spread_of(s(), |x| x.peak_rss_kb.map(|k| k as f64)), mb),
        ));
    }
    t
}

fn concurrency_table(r: &Results) -> String {
    let conns = &r.options.concurrencies;
    let mut t = String::from("| proxy |");
    let mut sep = String::from("|---|");
    for c in conns {
        t.push_str(&format!(" c={c} req/s | c={c} p99 ms | c={c} peak MB |"));
        sep.push_str("--:|--:|--:|");
    }
    t.push('\n');
    t.push_str(&sep);
    t.push('\n');
    for p in peers_with_samples(r, false) {
        t.push_str(&format!("| {} |", p.label()));
        for c in conns {
            let m = |f: &dyn Fn(&Sample) -> Option<f64>| median(r, p, false, *c, f);
            t.push_str(&format!(
                " {} | {} | {} |",
                m(&|s| Some(s.wrk.rps)).map(rps).unwrap_or("—".into()),
                m(&|s| Some(s.wrk.p99_ms)).map(ms).unwrap_or("—".into()),
                m(&|s| s.peak_rss_kb.map(|k| k as f64))
                    .map(mb)
                    .unwrap_or("—".into()),
            ));
        }
        t.push('\n');
    }
    t
}

fn starts_table(r: &Results) -> String {
    let mut t = String::from(
        "| proxy | start-up: spawn → first routed request, ms | idle RSS MB (1 s after start) |\n|---|--:|--:|\n",
    );
    for p in Peer::ALL {
        let st: Vec<_> = r.starts.iter().filter(|s| s.peer == p).collect();
        if st.is_empty() {
            continue;
        }
        let a: Vec<f64> = st.iter().map(|s| s.start_ms).collect();
        let b: Vec<f64> = st.iter().map(|s| s.idle_rss_kb as f64).collect();
        t.push_str(&format!(
            "| {} | {} | {} |\n",
            p.label(),
            show(Spread::of(&a), |v| format!("{v:.0}")),
            show(Spread::of(&b), mb)
        ));
    }
    t
}

fn reload_table(r: &Results) -> String {
    let mut t = String::from(
        "| proxy | how the change is applied | change → routed, ms | failed changes |\n|---|---|--:|--:|\n",
    );
    for p in Peer::ALL {
        let rs: Vec<_> = r.reloads.iter().filter(|s| s.peer == p).collect();
        if rs.is_empty() {
            continue;
        }
        let v: Vec<f64> = rs.iter().filter_map(|s| s.ms).collect();
        let failed = rs.iter().filter(|s| s.error.is_some()).count();
        t.push_str(&format!(
            "| {} | {} | {} | {failed} |\n",
            p.label(),
            p.reload_method(),
            show(Spread::of(&v), |x| format!("{x:.0}"))
        ));
    }
    t.push_str("| ours, Docker provider | container event → routing changed | measured by the Docker tests, see [Dynamic scaling](report/scaling.md) | |\n");
    t
}

fn failover_table(r: &Results) -> String {
    let mut t = String::from(
        "| proxy | backend stopped (SIGTERM): failed / total | backend killed (SIGKILL): failed / total |\n|---|--:|--:|\n",
    );
    for p in Peer::ALL {
        let get = |sig: &str| {
            r.failovers
                .iter()
                .find(|f| f.peer == p && f.signal == sig)
                .map(|f| format!("{} / {}", f.wrk.failed(), f.wrk.requests))
                .unwrap_or_else(|| "—".into())
        };
        if r.failovers.iter().any(|f| f.peer == p) {
            t.push_str(&format!(
                "| {} | {} | {} |\n",
                p.label(),
                get("SIGTERM"),
                get("SIGKILL")
            ));
        }
    }
    t
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "**not met**",
        None => "not measured",
    }
}

/// The goals against this run's medians.
fn goals_table(r: &Results) -> String {
    let ra = ratios(r);
    let mut t = String::from("| goal | this run | verdict |\n|---|--:|---|\n");
    let mut row = |goal: &str, value: String, ok: Option<bool>| {
        t.push_str(&format!("| {goal} | {value} | {} |\n", verdict(ok)));
    };
    row(
        "throughput at 64 connections ≥ HAProxy's (ratio ≥ 1.0)",
        ratio(ra.rps_vs_haproxy),
        ra.rps_vs_haproxy.map(|x| x >= 1.0),
    );
    row(
        "throughput at 64 connections ≥ nginx's (ratio ≥ 1.0)",
        ratio(ra.rps_vs_nginx),
        ra.rps_vs_nginx.map(|x| x >= 1.0),
    );
    row(
        "p99 at 64 connections no worse than HAProxy's (ratio ≤ 1.0)",
        ratio(ra.p99_vs_haproxy),
        ra.p99_vs_haproxy.map(|x| x <= 1.0),
    );
    row(
        "CPU per request within 1.2× HAProxy's",
        ratio(ra.cpu_vs_haproxy),
        ra.cpu_vs_haproxy.map(|x| x <= 1.2),
    );
    let top = r.options.concurrencies.iter().copied().max().unwrap_or(64);
    let peak = median(r, Peer::Ours, false, top, |s| {
        s.peak_rss_kb.map(|k| k as f64)
    });
    row(
        &format!("peak memory under 20 MB at {top} connections"),
        peak.map(|k| format!("{} MB", mb(k))).unwrap_or("—".into()),
        peak.map(|k| k < 20.0 * 1024.0),
    );
    let idle: Vec<f64> = r
        .starts
        .iter()
        .filter(|s| s.peer == Peer::Ours)
        .map(|s| s.idle_rss_kb as f64)
        .collect();
    let idle = Spread::of(&idle).map(|s| s.median);
    row(
        "idle memory under 10 MB",
        idle.map(|k| format!("{} MB", mb(k))).unwrap_or("—".into()),
        idle.map(|k| k < 10.0 * 1024.0),
    );
    let reload: Vec<f64> = r
        .reloads
        .iter()
        .filter(|s| s.peer == Peer::Ours)
        .filter_map(|s| s.ms)
        .collect();
    let reload_failed = r
        .reloads
        .iter()
        .any(|s| s.peer == Peer::Ours && s.error.is_some());
    let worst = reload
        .iter()
        .copied()
        .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))));
    row(
        "file config change → routed under 100 ms (worst of the run)",
        worst.map(|w| format!("{w:.0} ms")).unwrap_or("—".into()),
        worst.map(|w| w < 100.0 && !reload_failed),
    );
    let fo: Vec<_> = r
        .failovers
        .iter()
        .filter(|f| f.peer == Peer::Ours)
        .collect();
    let failed: u64 = fo.iter().map(|f| f.wrk.failed()).sum();
    row(
        "zero failed GETs when a backend is stopped or killed",
        if fo.is_empty() {
            "—".into()
        } else {
            format!("{failed} failed")
        },
        (!fo.is_empty()).then_some(failed == 0),
    );
    t
}

/// The generated block of the students' page: when and where it was measured, the ratios, the
/// two charts and the round-robin table at 64 connections. Everything else is in [`markdown`].
pub fn summary(r: &Results) -> String {
    let c = HEADLINE_CONNS;
    let ra = ratios(r);
    let mut m = format!(
        "Measured {} on {} shared cores ({}), {} interleaved round(s), with `{}`.\n\n",
        r.started_utc,
        r.machine.nproc,
        r.machine.cpu,
        r.options.rounds,
        r.command.trim()
    );
    m.push_str(&format!(
        "**At {c} connections, ours / the other proxy:** throughput {} × HAProxy's and {} × nginx's (higher is better); p99 latency {} × HAProxy's and CPU per request {} × HAProxy's (lower is better).\n\n",
        ratio(ra.rps_vs_haproxy),
        ratio(ra.rps_vs_nginx),
        ratio(ra.p99_vs_haproxy),
        ratio(ra.cpu_vs_haproxy)
    ));
    m.push_str(&format!(
        "![Requests per second at {c} connections](images/bench-throughput.svg)\n\n![p99 latency at {c} connections](images/bench-latency.svg)\n\nMedian (min–max) over the rounds, round robin over three backends, {c} connections:\n\n"
    ));
    m.push_str(&headline_table(r, false, c));
    m
}

/// The generated block of the appendix: every table of the run.
pub fn markdown(r: &Results) -> String {
    let c = HEADLINE_CONNS;
    let ra = ratios(r);
    let mut m = String::new();
    m.push_str(&format!(
        "Measured {} ({} mode, {} round(s), {} s per wrk run), in {:.0} s.\n\n",
        r.started_utc,
        if r.options.quick { "quick" } else { "full" },
        r.options.rounds,
        r.options.duration_s,
        r.elapsed_s
    ));
    m.push_str(&format!(
        "- Command: `{}`\n- Machine: {} cores, {}, Linux {}; load average {} at the start, {} at the end\n- Backends: 3 × {} on 127.0.0.1, ~100-byte responses (`/bench.txt`)\n- Load: wrk, `-t2` (`-t1` for one connection), `--latency`, keep-alive\n",
        r.command,
        r.machine.nproc,
        r.machine.cpu,
        r.machine.kernel,
        r.machine.loadavg_start,
        r.machine.loadavg_end,
        r.backend
    ));
    for (p, v) in &r.versions {
        m.push_str(&format!("- {}: {}\n", p.label(), v));
    }
    for (p, why) in &r.skipped {
        // The first line says what failed, the last one (a log's tail) usually says why.
        let first = why.lines().next().unwrap_or("").trim();
        let last = why.lines().last().unwrap_or("").trim();
        let why = if first == last {
            first.to_string()
        } else {
            format!("{first} … {last}")
        };
        m.push_str(&format!("- **{} left out**: {why}\n", p.label()));
    }
    m.push_str(&format!(
        "\n**Ratios at {c} connections (ours / peer, medians of this run):** throughput vs HAProxy {}, vs nginx {}; p99 vs HAProxy {} (lower is better); CPU per request vs HAProxy {} (lower is better).\n\n",
        ratio(ra.rps_vs_haproxy),
        ratio(ra.rps_vs_nginx),
        ratio(ra.p99_vs_haproxy),
        ratio(ra.cpu_vs_haproxy)
    ));
    if ra.rps_vs_hyper_only.is_some() {
        m.push_str(&format!(
            "**The fast path (ours / ours with `PROXY_FAST_PATH=0`, same run):** throughput {}, CPU per request {}.\n\n",
            ratio(ra.rps_vs_hyper_only),
            ratio(ra.cpu_vs_hyper_only)
        ));
    }
    m.push_str("### Goals\n\nJudged on this run only (the Docker change → routed goal, under 250 ms, is measured by the Docker tests, see [Dynamic scaling](report/scaling.md); the soak's goals are in the Soak section).\n\n");
    m.push_str(&goals_table(r));
    m.push_str(&format!(
        "\n### Round robin, {c} connections\n\nMedian (min–max) over the rounds. \"No proxy\" is wrk straight at one backend: with three backends behind a proxy it is a reference, not a bound. Peak RSS sums the process tree (nginx and Apache run several processes).\n\n![Requests per second at {c} connections](images/bench-throughput.svg)\n\n"
    ));
    m.push_str(&headline_table(r, false, c));
    m.push_str("\n![p99 latency at 64 connections](images/bench-latency.svg)\n\n");
    m.push_str("### Every concurrency (medians)\n\n");
    m.push_str(&concurrency_table(r));
    if let Some(sc) = r.options.sticky_concurrencies.first() {
        m.push_str(&format!(
            "\n### Sticky cookie, {sc} connections\n\nwrk sends the `lb` cookie the proxy set on a first request, as a browser would, so every request follows the cookie to one server. nginx is absent: open-source nginx has no sticky cookie (`sticky` is nginx Plus; `ip_hash` is not a cookie).\n\n"
        ));
        m.push_str(&headline_table(r, true, *sc));
    }
    m.push_str("\n### Start-up and idle memory\n\n");
    m.push_str(&starts_table(r));
    if !r.reloads.is_empty() {
        m.push_str("\n### Config change → first routed request\n\nThe service is switched from servers a, b, c to a fourth server d and back; the clock starts before the new file is written (and before the reload command, for the peers that need one) and stops when a new connection is answered by the new set. Probes open a fresh connection every millisecond.\n\n");
        m.push_str(&reload_table(r));
    }
    if !r.failovers.is_empty() {
        m.push_str(&format!(
            "\n### A backend stops under load\n\nwrk, 16 connections for {} s through each proxy (round robin over a, b, c, each peer with its default retry and health behaviour, no health checks configured); a third of the way in, backend b gets SIGTERM (graceful stop) or SIGKILL. Failed = non-2xx/3xx answers plus socket errors.\n\n",
            r.options.failover_s
        ));
        m.push_str(&failover_table(r));
    }
    m
}

fn tls_select(r: &Results, peer: Peer, load: TlsLoad) -> impl Iterator<Item = &TlsSample> {
    r.tls
        .samples
        .iter()
        .filter(move |s| s.peer == peer && s.load == load)
}

fn tls_median(r: &Results, peer: Peer, load: TlsLoad) -> Option<f64> {
    let v: Vec<f64> = tls_select(r, peer, load).map(|s| s.wrk.rps).collect();
    Spread::of(&v).map(|s| s.median)
}

/// The TLS section's figures: ours against the best of the peers on keep-alive (the issue's
/// goal), and the handshake ratios as measured.
pub fn tls_ratios(r: &Results) -> (Option<f64>, Option<f64>, Option<f64>) {
    let ours = |l| tls_median(r, Peer::Ours, l);
    let best_keep_alive = [Peer::Haproxy, Peer::Nginx]
        .into_iter()
        .filter_map(|p| tls_median(r, p, TlsLoad::KeepAlive))
        .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))));
    let div = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    (
        div(ours(TlsLoad::KeepAlive), best_keep_alive),
        div(
            ours(TlsLoad::Handshake),
            tls_median(r, Peer::Haproxy, TlsLoad::Handshake),
        ),
        div(
            ours(TlsLoad::Handshake),
            tls_median(r, Peer::Nginx, TlsLoad::Handshake),
        ),
    )
}

fn tls_table(r: &Results) -> String {
    let mut t = String::from(
        "| proxy | keep-alive req/s | keep-alive p99 ms | CPU ms / 10k req | new handshakes/s | handshake p99 ms | CPU ms / 1k handshakes | failed |\n|---|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for p in Peer::ALL {
        if tls_select(r, p, TlsLoad::KeepAlive)
            .chain(tls_select(r, p, TlsLoad::Handshake))
            .next()
            .is_none()
        {
            continue;
        }
        let name = if p == Peer::Ours {
            format!("**{}**", p.label())
        } else {
            p.label().to_string()
        };
        let fig = |l: TlsLoad, f: &dyn Fn(&TlsSample) -> Option<f64>| {
            let v: Vec<f64> = tls_select(r, p, l).filter_map(f).collect();
            Spread::of(&v)
        };
        let failed: u64 = tls_select(r, p, TlsLoad::KeepAlive)
            .chain(tls_select(r, p, TlsLoad::Handshake))
            .map(|s| s.wrk.failed())
            .sum();
        let k = TlsLoad::KeepAlive;
        let h = TlsLoad::Handshake;
        t.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {failed} |\n",
            show(fig(k, &|s| Some(s.wrk.rps)), rps),
            show(fig(k, &|s| Some(s.wrk.p99_ms)), ms),
            show(fig(k, &|s| s.cpu_ms_per(10_000.0)), |v| format!("{v:.0}")),
            show(fig(h, &|s| Some(s.wrk.rps)), rps),
            show(fig(h, &|s| Some(s.wrk.p99_ms)), ms),
            show(fig(h, &|s| s.cpu_ms_per(1_000.0)), |v| format!("{v:.0}")),
        ));
    }
    t
}

/// The generated block of the TLS section (on the students' page).
pub fn tls_markdown(r: &Results) -> String {
    let c = TLS_CONNS;
    let (keep_alive, vs_haproxy, vs_nginx) = tls_ratios(r);
    let mut m = format!(
        "Measured {} on {} shared cores ({}), {} interleaved round(s), {} s per run, with `{}`.\n\n",
        r.started_utc,
        r.machine.nproc,
        r.machine.cpu,
        r.options.rounds,
        r.options.duration_s,
        r.command.trim()
    );
    m.push_str(&format!(
        "**Ours / the other proxies, {c} connections:** keep-alive throughput {} × the best of HAProxy and nginx (the goal: ≥ 1.0); new handshakes per second {} × HAProxy's and {} × nginx's.\n\n",
        ratio(keep_alive),
        ratio(vs_haproxy),
        ratio(vs_nginx)
    ));
    m.push_str(&format!(
        "Median (min–max) over the rounds, round robin over three backends (plain HTTP behind the proxy), {c} connections:\n\n"
    ));
    m.push_str(&tls_table(r));
    m.push_str(&format!(
        "\n- Certificate: {}\n- TLS libraries: ours, rustls 0.23 (ring provider); HAProxy, nginx and wrk, {}\n",
        r.tls.cert, r.tls.openssl
    ));
    for (p, v) in r.versions.iter().filter(|(p, _)| p.supports_tls()) {
        m.push_str(&format!("- {}: {v}\n", p.label()));
    }
    let show = |n: &Option<crate::tls::Negotiated>| {
        n.as_ref()
            .map(|n| n.show())
            .unwrap_or_else(|| "not checked".into())
    };
    for info in &r.tls.peers {
        m.push_str(&format!(
            "- {} negotiated: {} with wrk's OpenSSL (keep-alive); {} with the handshake client{}\n",
            info.peer.label(),
            show(&info.with_openssl),
            show(&info.with_rustls),
            if info.errors.is_empty() {
                String::new()
            } else {
                format!(" (errors: {})", info.errors.join("; "))
            }
        ));
    }
    m
}

fn bar_rows(r: &Results, f: impl Fn(&Sample) -> Option<f64>) -> Vec<Bar> {
    peers_with_samples(r, false)
        .into_iter()
        .filter_map(|p| {
            let s = spread_of(select(r, p, false, HEADLINE_CONNS), &f)?;
            Some(Bar {
                label: p.label().to_string(),
                value: s.median,
                min: s.min,
                max: s.max,
                highlight: p == Peer::Ours,
            })
        })
        .collect()
}

/// The two charts: throughput and p99 at 64 connections.
pub fn charts(r: &Results) -> Vec<(&'static str, String)> {
    let sub = format!(
        "round robin over 3 backends, wrk 64 connections, median and min–max of {} round(s), {}",
        r.options.rounds, r.started_utc
    );
    vec![
        (
            "bench-throughput.svg",
            svg::bars(
                "Requests per second (higher is better)",
                &sub,
                "req/s",
                &bar_rows(r, |s| Some(s.wrk.rps)),
                rps,
            ),
        ),
        (
            "bench-latency.svg",
            svg::bars(
                "p99 latency (lower is better)",
                &sub,
                "ms",
                &bar_rows(r, |s| Some(s.wrk.p99_ms)),
                ms,
            ),
        ),
    ]
}

/// Replaces the text between `<!-- BEGIN {tag} -->` and `<!-- END {tag} -->` in `doc`, or
/// appends the block when the markers are missing.
pub fn replace_block(doc: &str, tag: &str, body: &str) -> String {
    let begin = format!("<!-- BEGIN {tag} (generated by bench, do not edit) -->");
    let end = format!("<!-- END {tag} -->");
    let block = format!("{begin}\n{}\n{end}", body.trim_end());
    match (doc.find(&begin), doc.find(&end)) {
        (Some(a), Some(b)) if b > a => format!("{}{}{}", &doc[..a], block, &doc[b + end.len()..]),
        _ => format!("{}\n\n{}\n", doc.trim_end(), block),
    }
}

/// Writes the block into `docs/src/<page>` ([`SUMMARY_PAGE`] or [`LOG_PAGE`]) and the charts
/// into `docs/src/images/`.
pub fn write_docs(
    docs_src: &Path,
    page: &str,
    tag: &str,
    body: &str,
    charts: &[(&str, String)],
) -> Result<()> {
    let images = docs_src.join("images");
    std::fs::create_dir_all(&images).with_context(|| format!("create {}", images.display()))?;
    for (name, text) in charts {
        std::fs::write(images.join(name), text)?;
    }
    let path = docs_src.join(page);
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Performance\n".into());
    std::fs::write(&path, replace_block(&doc, tag, body))
        .with_context(|| format!("write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{Machine, Options};
    use crate::tls::Negotiated;
    use crate::tls_section::{TlsPeerInfo, TlsResults};
    use crate::wrk::WrkResult;

    fn tls_only(samples: &[(Peer, TlsLoad, f64)]) -> Results {
        let mut options = Options::quick();
        options.plain = false;
        let negotiated = Negotiated {
            protocol: "TLSv1.3".into(),
            cipher: "TLS_AES_256_GCM_SHA384".into(),
            group: "X25519".into(),
            resumed: false,
        };
        Results {
            command: "bash bench/run.sh --tls".into(),
            started_utc: "today".into(),
            elapsed_s: 1.0,
            options,
            machine: Machine {
                nproc: 2,
                cpu: "cpu".into(),
                kernel: "k".into(),
                loadavg_start: String::new(),
                loadavg_end: String::new(),
            },
            backend: "b".into(),
            versions: vec![(Peer::Haproxy, "HAProxy version 2.6".into())],
            skipped: Vec::new(),
            samples: Vec::new(),
            starts: Vec::new(),
            reloads: Vec::new(),
            failovers: Vec::new(),
            tls: TlsResults {
                cert: "ECDSA P-256".into(),
                openssl: "OpenSSL 3.0".into(),
                peers: vec![TlsPeerInfo {
                    peer: Peer::Ours,
                    with_openssl: Some(negotiated.clone()),
                    with_rustls: Some(negotiated),
                    errors: Vec::new(),
                }],
                samples: samples
                    .iter()
                    .map(|(peer, load, rps)| TlsSample {
                        peer: *peer,
                        load: *load,
                        conns: TLS_CONNS,
                        round: 0,
                        wrk: WrkResult {
                            requests: (*rps * 2.0) as u64,
                            seconds: 2.0,
                            rps: *rps,
                            ..WrkResult::default()
                        },
                        cpu_s: Some(1.0),
                        peak_rss_kb: None,
                    })
                    .collect(),
            },
        }
    }

    #[test]
    fn tls_ratios_compare_with_the_best_peer_on_keep_alive() {
        let r = tls_only(&[
            (Peer::Ours, TlsLoad::KeepAlive, 12_000.0),
            (Peer::Haproxy, TlsLoad::KeepAlive, 10_000.0),
            (Peer::Nginx, TlsLoad::KeepAlive, 15_000.0),
            (Peer::Ours, TlsLoad::Handshake, 1_000.0),
            (Peer::Haproxy, TlsLoad::Handshake, 2_000.0),
            (Peer::Nginx, TlsLoad::Handshake, 500.0),
        ]);
        let (keep_alive, vs_haproxy, vs_nginx) = tls_ratios(&r);
        assert_eq!(keep_alive, Some(0.8));
        assert_eq!(vs_haproxy, Some(0.5));
        assert_eq!(vs_nginx, Some(2.0));
        let m = tls_markdown(&r);
        assert!(m.contains("keep-alive throughput 0.80 × the best of HAProxy and nginx"));
        assert!(m.contains("| **ours** | 12.0k |"), "{m}");
        assert!(m.contains("| HAProxy | 10.0k |"), "{m}");
        assert!(m.contains(
            "- ours negotiated: TLSv1.3, TLS_AES_256_GCM_SHA384, X25519 with wrk's OpenSSL"
        ));
        assert!(!m.contains("Caddy"));
    }

    #[test]
    fn a_peer_without_tls_figures_has_no_row() {
        let r = tls_only(&[(Peer::Haproxy, TlsLoad::Handshake, 2_000.0)]);
        let m = tls_markdown(&r);
        assert!(m.contains("| HAProxy | — | — | — | 2.0k |"), "{m}");
        assert!(!m.contains("| nginx |"));
        assert_eq!(tls_ratios(&r), (None, None, None));
    }

    #[test]
    fn block_replacement_keeps_the_prose() {
        let doc = "# P\n\nintro\n";
        let once = replace_block(doc, "bench results", "table 1");
        assert!(once.starts_with("# P\n\nintro\n"));
        assert!(once.contains("table 1"));
        let twice = replace_block(&once, "bench results", "table 2");
        assert!(twice.contains("table 2") && !twice.contains("table 1"));
        assert!(twice.starts_with("# P\n\nintro\n"));
        let other = replace_block(&twice, "bench soak", "soak");
        assert!(other.contains("table 2") && other.contains("soak"));
    }
}
