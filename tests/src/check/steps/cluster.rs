//! Step 8 and the report's second and fourth tests: a stopped server's clients get a new
//! cookie for a live one; scaling up and down under load fails no request. These stop, start
//! and scale servers, so they need a [`Control`](crate::check::Control) (`--docker`, `--local`).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Result};

use super::common::{
    expected, fresh_ids, needs_control, new_session, ok, stays_pinned, sticky_cookie, tally,
    Session,
};
use super::{Ctx, Outcome};
use crate::check::client::Client;
use crate::local::Kind;

/// How long a proxy may take to notice a stopped server (Traefik applies Docker events after
/// `providersThrottleDuration`, 2 s by default); the check reports how long it took.
const NOTICE: Duration = Duration::from_secs(15);

pub async fn failover(ctx: &mut Ctx) -> Result<Outcome> {
    if let Some(why) = needs_control(ctx, "stop servers") {
        return Ok(Outcome::Skip(why));
    }
    let kind = ctx.setup().sticky;
    let label = ctx.setup().describe(kind);
    let path = ctx.setup().path(kind).to_string();
    let n = expected(ctx, kind).await.unwrap_or(2);
    ensure!(
        n >= 2,
        "failover needs at least 2 servers of the {label}; the stack has {n}"
    );
    let old = new_session(ctx, kind).await?;
    stays_pinned(ctx, kind, &old).await?;
    ctx.t.control.stop(&old.server).await?;
    let stopped = Instant::now();
    let result = async {
        // The proxy may answer 502/503 until it notices; a live server must take over soon.
        let mut early = Vec::new();
        let after = loop {
            let s = ctx.probe.get(&path, Some(&old.cookie)).await?;
            if s.answer.status == 200 || stopped.elapsed() > NOTICE {
                break s;
            }
            early.push(s.answer.status);
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        ok(ctx, &after).await.map_err(|e| {
            anyhow!(
                "with {} stopped, its client still gets no page after {NOTICE:?}: {e:#}",
                old.server
            )
        })?;
        let by = after.server()?;
        ensure!(by != old.server, "{} is stopped but answered", old.server);
        let c = sticky_cookie(ctx, &after, kind).map_err(|_| {
            anyhow!(
                "re-routed to {by} without a new `{}` cookie: the client is not pinned again",
                old.name
            )
        })?;
        let new = Session {
            cookie: format!("{}={}", c.name, c.value),
            name: c.name,
            server: by,
        };
        ensure!(
            new.cookie != old.cookie,
            "the new cookie is the old one: {}",
            c.raw
        );
        stays_pinned(ctx, kind, &new).await?;
        let waited = if early.is_empty() {
            "the next request".to_string()
        } else {
            format!(
                "after {} answers {:?} in {:.1} s (the proxy noticing the stop)",
                early.len(),
                early.iter().collect::<BTreeSet<_>>(),
                stopped.elapsed().as_secs_f64()
            )
        };
        Ok::<_, anyhow::Error>((new, waited))
    }
    .await;
    // Whatever happened, bring the old server back.
    let restarted = ctx.t.control.start(&old.server).await;
    let (new, waited) = result?;
    restarted?;
    // Wait (bounded) until the old server takes new sessions again.
    let mut back = false;
    for _ in 0..40 {
        let ids = fresh_ids(ctx, kind, n).await?;
        if ids.contains(&old.server) {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ensure!(
        back,
        "{} was started again but took no new session within 10 s",
        old.server
    );
    let mut checked = 0;
    for _ in 0..3 {
        checked += stays_pinned(ctx, kind, &new).await?;
    }
    Ok(Outcome::Pass(format!(
        "the {label}: pinned to {} ({}); stopped it: {waited} 200 from {} with new cookie {}; \
         {} back and taking new sessions, the client stayed on {} ({checked} responses)",
        old.server, old.cookie, new.server, new.cookie, old.server, new.server
    )))
}

pub async fn scaling(ctx: &mut Ctx) -> Result<Outcome> {
    if let Some(why) = needs_control(ctx, "scale") {
        return Ok(Outcome::Skip(why));
    }
    let web = ctx.web().clone();
    let mut parts = Vec::new();
    let mut total = 0usize;
    for (kind, extra) in [(Kind::Static, 2), (Kind::Dynamic, 1)] {
        let path = ctx.setup().path(kind).to_string();
        let service = ctx.setup().service(kind).to_string();
        let n0 = ctx
            .t
            .control
            .count(kind)
            .await?
            .ok_or_else(|| anyhow!("cannot count the {service} servers"))?;
        let before: BTreeSet<String> = fresh_ids(ctx, kind, 3 * n0).await?.into_iter().collect();
        // Scale up while a bounded load runs.
        let (up, (good, failed)) =
            while_loaded(&web, &path, ctx.t.control.scale(kind, n0 + extra)).await;
        up?;
        total += good + failed.len();
        ensure!(
            failed.is_empty(),
            "{} of {} requests to {path} failed while scaling {service} up: {}",
            failed.len(),
            good + failed.len(),
            tally(&failed)
        );
        let mut new: BTreeSet<String> = BTreeSet::new();
        for _ in 0..50 {
            for id in fresh_ids(ctx, kind, n0 + extra).await? {
                if !before.contains(&id) {
                    new.insert(id);
                }
            }
            if new.len() == extra {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ensure!(
            new.len() == extra,
            "scaled {service} {n0} → {}: new servers seen {new:?}, expected {extra}",
            n0 + extra
        );
        // And back down, with load.
        let (down, (good, failed)) = while_loaded(&web, &path, ctx.t.control.scale(kind, n0)).await;
        down?;
        total += good + failed.len();
        ensure!(
            failed.is_empty(),
            "{} of {} requests to {path} failed while scaling {service} down: {} (the proxy \
             kept sending requests to stopping containers)",
            failed.len(),
            good + failed.len(),
            tally(&failed)
        );
        // Requests may still reach a removed server for a moment while the proxy catches up.
        let mut after = Vec::new();
        for _ in 0..20 {
            after = fresh_ids(ctx, kind, 3 * n0).await?;
            if after.iter().all(|id| !new.contains(id)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let after_set: BTreeSet<String> = after.iter().cloned().collect();
        ensure!(
            after_set.len() == n0,
            "after scaling {service} back to {n0}, requests reached {}",
            tally(&after)
        );
        parts.push(format!(
            "{service} {n0} → {} (new {}) → {n0} (now {})",
            n0 + extra,
            new.iter().cloned().collect::<Vec<_>>().join(", "),
            after_set.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(Outcome::Pass(format!(
        "{}; 0 failed of {total} requests sent while scaling",
        parts.join("; ")
    )))
}

/// Runs `work` while sequential GETs to `path` run beside it, until it is done (at most 2000
/// requests and 60 s, 5 ms apart): (the work's result, (succeeded, what each failure was)).
async fn while_loaded<T>(
    web: &Client,
    path: &str,
    work: impl std::future::Future<Output = T>,
) -> (T, (usize, Vec<String>)) {
    let done = std::sync::atomic::AtomicBool::new(false);
    let load = async {
        let start = tokio::time::Instant::now();
        let (mut good, mut failed) = (0, Vec::new());
        while good + failed.len() < 2000 && start.elapsed() < Duration::from_secs(60) {
            if done.load(std::sync::atomic::Ordering::SeqCst) && good + failed.len() >= 20 {
                break;
            }
            match web.get(path, None).await {
                Ok(a) if a.status == 200 => good += 1,
                Ok(a) => failed.push(a.status.to_string()),
                Err(_) => failed.push("no answer".to_string()),
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (good, failed)
    };
    let work = async {
        let r = work.await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        r
    };
    tokio::join!(work, load)
}
