//! Steps 6 and 7, and the report's first and third tests: new clients spread over every
//! server; one client sees the round-robin service in a fixed cycle; sessions stay on the
//! server of their cookie, for every asset of a visit; and what the cookie reveals and where it
//! goes (the report's remark: it is sent to the API too).
//!
//! Which service is sticky comes from the set-up: the site in the 2021 lab, the API in the
//! 2023-24 edition; the other one is round robin.

use anyhow::{bail, ensure, Result};

use super::common::{
    api_servers, distinct, expected, fresh_ids, new_session, ok, sessions_for, stays_pinned,
    sticky_cookie, tally,
};
use super::{Ctx, Outcome};
use crate::check::attribution::Mode;
use crate::check::cookie;
use crate::local::Kind;

pub async fn spread(ctx: &mut Ctx) -> Result<Outcome> {
    let mut parts = Vec::new();
    for kind in Kind::ALL {
        let path = ctx.setup().path(kind).to_string();
        let n = expected(ctx, kind).await.unwrap_or(2);
        let ids = fresh_ids(ctx, kind, 3 * n.max(2)).await?;
        let seen = distinct(&ids);
        ensure!(
            seen.len() == n,
            "{} requests to {path} reached {} servers ({}), the stack has {n}",
            ids.len(),
            seen.len(),
            tally(&ids)
        );
        parts.push(format!("{path}: {}", tally(&ids)));
    }
    Ok(Outcome::Pass(parts.join("; ")))
}

pub async fn round_robin(ctx: &mut Ctx) -> Result<Outcome> {
    let kind = ctx.setup().round_robin();
    let label = ctx.setup().describe(kind);
    let n = match expected(ctx, kind).await {
        Some(n) => n,
        None => distinct(&fresh_ids(ctx, kind, 12).await?).len(),
    };
    ensure!(
        n >= 2,
        "round robin needs at least 2 servers of the {label}; the stack has {n}"
    );
    let ids = fresh_ids(ctx, kind, 3 * n).await?;
    let cycle = &ids[..n];
    ensure!(
        distinct(cycle).len() == n,
        "the {label}: the first {n} answers are not {n} different servers: {}",
        ids.join(" → ")
    );
    for (i, id) in ids.iter().enumerate() {
        ensure!(
            *id == cycle[i % n],
            "the {label} is not cyclic: answer {} is {id}, expected {} ({}){}",
            i + 1,
            cycle[i % n],
            ids.join(" → "),
            if kind == Kind::Static {
                " (is the site sticky? In the 2023 edition the site is round robin)"
            } else {
                ""
            }
        );
    }
    Ok(Outcome::Pass(format!(
        "the {label}: {} → {} … ({} requests, 3 identical cycles of {n})",
        cycle.join(" → "),
        cycle[0],
        ids.len()
    )))
}

pub async fn sticky(ctx: &mut Ctx) -> Result<Outcome> {
    let kind = ctx.setup().sticky;
    let label = ctx.setup().describe(kind);
    let n_servers = expected(ctx, kind).await.unwrap_or(2);
    let n = sessions_for(n_servers);
    let mut sessions = Vec::new();
    for _ in 0..n {
        sessions.push(new_session(ctx, kind).await?);
    }
    let mut checked = 0;
    // Interleave the sessions, twice, so a proxy that ignored cookies would be caught.
    for _ in 0..2 {
        for s in &sessions {
            checked += stays_pinned(ctx, kind, s).await?;
        }
    }
    let servers: Vec<String> = sessions.iter().map(|s| s.server.clone()).collect();
    let n_distinct = distinct(&servers).len();
    ensure!(
        n_distinct >= n_servers.min(2),
        "{n} sessions all landed on {}",
        tally(&servers)
    );
    let visit = match kind {
        Kind::Static => "page + assets",
        Kind::Dynamic => "3 API calls",
    };
    Ok(Outcome::Pass(format!(
        "the {label}, cookie `{}`: {n} sessions on {n_distinct} servers ({}); {checked} \
         responses ({visit}, twice per session) each from its cookie's server, no new cookie",
        sessions[0].name,
        tally(&servers)
    )))
}

/// Observations about the sticky cookie. FAIL only for what is wrong whatever the proxy: the
/// other service setting the same cookie, or (when lab.toml asks for scoped cookies) a cookie
/// that reaches the other service.
pub async fn cookie_scope(ctx: &mut Ctx) -> Result<Outcome> {
    let kind = ctx.setup().sticky;
    let other = ctx.setup().round_robin();
    let path = ctx.setup().path(kind).to_string();
    let other_path = ctx.setup().path(other).to_string();
    let s = ctx.probe.get(&path, None).await?;
    ok(ctx, &s).await?;
    let c = sticky_cookie(ctx, &s, kind)?;
    let mut notes = vec![format!("Set-Cookie: {}", c.raw)];

    // What the value reveals.
    let mut urls: Vec<String> = api_servers(ctx, kind)
        .await
        .map(|v| v.into_iter().map(|(u, _)| u).collect())
        .unwrap_or_default();
    urls.sort();
    match cookie::decode(&c.value, &urls) {
        Some((url, enc)) => notes.push(format!(
            "its value is {}: it names {url}{}",
            enc.describe(),
            if enc == cookie::Encoding::PlainUrl {
                ", an internal address every client can read"
            } else {
                ""
            }
        )),
        None => match cookie::plain_url(&c.value) {
            Some(u) => notes.push(format!(
                "its value is a server URL in plain text ({u}), an internal address every client \
                 can read (Traefik v2.4; later versions hash it)"
            )),
            None => notes.push("its value is opaque: it reveals no address".into()),
        },
    }

    // Where a browser sends it: everywhere under its Path.
    let scope = c.path.clone().unwrap_or_else(|| path.clone());
    let reaches_other = other_path.starts_with(&scope);
    if reaches_other {
        let line = format!(
            "Path={scope}, so a browser also sends it with every {other_path} request (the \
             report's remark){}",
            if ctx.setup().scoped_cookie {
                ""
            } else {
                ": an observation, not a fault"
            }
        );
        if ctx.setup().scoped_cookie {
            bail!(
                "{line}; the assignment asks for a cookie scoped to its own service (lab.toml \
                 [sticky] scoped = true): set .sticky.cookie.path (Traefik v3.3+) or use a \
                 proxy that scopes it. Seen: {}",
                notes.join("; ")
            );
        }
        notes.push(line);
    } else {
        notes.push(format!(
            "Path={scope}: a browser does not send it with {other_path} requests"
        ));
    }

    // The other service must not hand out the same cookie.
    let jar = format!("{}={}; lab_probe=kept", c.name, c.value);
    let o = ctx.probe.get(&other_path, Some(&jar)).await?;
    ok(ctx, &o).await?;
    if let Some(set) = o.answer.set_cookie(&c.name) {
        bail!(
            "{other_path} (the round-robin {}) also sets `{}`: {}; the sticky labels are on the \
             wrong service",
            ctx.setup().describe(other),
            c.name,
            set.raw
        );
    }
    notes.push(format!("{other_path} sets no `{}`", c.name));

    // Whether the backend receives it: only servers that echo requests can show that.
    if ctx.opts.shortcuts && ctx.mode().await == Mode::Header {
        let echo = format!("{}whoami", ctx.setup().api_prefix);
        if let Ok(who) = ctx.probe.get(&echo, Some(&jar)).await {
            if who.answer.status == 200 && who.answer.body.contains("lab_probe=kept") {
                notes.push(if who.answer.body.contains(&c.value) {
                    format!(
                        "the API server received `{}` (the proxy forwards it)",
                        c.name
                    )
                } else {
                    format!(
                        "the proxy removed `{}` before the API server (it received only the \
                         client's other cookie)",
                        c.name
                    )
                });
            }
        }
    }
    Ok(Outcome::Pass(notes.join("; ")))
}
