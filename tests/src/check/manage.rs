//! Lab step 9: the management page on the proxy's API entrypoint (`/manage/`).
//!
//! Without a token the check sees what anyone sees: the page, the read-only state (the compose
//! services, their containers, UP as the balancer sees them), and an action refused. With the
//! token (`--manage-token`, or `LAB_MANAGE_TOKEN` as the stack got it) it also does what the
//! lab asks of the page: add a static node, see it UP and serving, stop it and see it leave the
//! rotation, then remove it. Whatever happens, the node it added is removed before it returns.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use serde_json::Value;

use super::steps::Outcome;
use super::Target;

/// Bound on each wait for the page's state to show a change.
const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(200);

/// `asked`: step 9 was named (`--step 9`). The page is off by default (it needs a token), so
/// a page that is off is a SKIP in a full check and a FAIL only when step 9 was asked for.
pub async fn check(t: &Target, token: Option<&str>, asked: bool) -> Result<Outcome> {
    let page = format!("{}/manage/", t.api_url);
    let (status, body) = t.web.call_api("GET", &page, None).await?;
    if status == 404 {
        if !t.control.is_docker() {
            return Ok(Outcome::Skip(
                "the management page drives Docker containers: this stack has none \
                 (run the Docker stack, scripts/lab-up.sh, for step 9)"
                    .into(),
            ));
        }
        let off = format!(
            "GET {page} answered 404: the management page is off, as it is by default. Turn \
             it on: `export LAB_MANAGE_TOKEN=$(openssl rand -hex 16)`, then run \
             scripts/lab-up.sh again (compose passes the token to the proxy)"
        );
        if !asked {
            return Ok(Outcome::Skip(off));
        }
        bail!("{off}");
    }
    ensure!(
        status == 200 && body.to_ascii_lowercase().contains("<html"),
        "GET {page} answered {status}, not the page"
    );

    let state = State::read(t).await?;
    let project = state.project.clone().ok_or_else(|| {
        anyhow!("/manage/api/state names no compose project: is the proxy running in the stack?")
    })?;
    let mut evidence = vec![format!("page 200; project {project}")];
    for kind in crate::local::Kind::ALL {
        let service = kind.name();
        let nodes = state.nodes(service);
        let running: Vec<&Node> = nodes.into_iter().filter(|n| n.state == "running").collect();
        ensure!(
            !running.is_empty(),
            "/manage/api/state shows no running `{service}` container"
        );
        let down: Vec<&str> = running
            .iter()
            .filter(|n| n.proxy != "UP")
            .map(|n| n.name.as_str())
            .collect();
        ensure!(
            down.is_empty(),
            "running `{service}` containers not UP in the page: {}",
            down.join(", ")
        );
        if let Ok(Some(n)) = t.control.count(kind).await {
            ensure!(
                running.len() == n,
                "the page shows {} running `{service}` containers, Docker {n}",
                running.len()
            );
        }
        evidence.push(format!("{service}: {} UP", running.len()));
    }

    // An action without credentials is refused, and does nothing.
    let add = format!("{}/manage/api/services/{project}/static/add", t.api_url);
    let before = state.nodes("static").len();
    let (status, body) = t.web.call_api("POST", &add, None).await?;
    ensure!(
        status == 401 || status == 403,
        "POST {add} without the token answered {status} ({body}), not 401/403"
    );
    let after = State::read(t).await?.nodes("static").len();
    ensure!(
        after == before,
        "the refused action changed the static service ({before} -> {after} containers)"
    );
    evidence.push(format!("add without the token: {status}"));

    let Some(token) = token.filter(|t| !t.is_empty()) else {
        evidence.push(
            "add/stop/remove not exercised: pass --manage-token or set LAB_MANAGE_TOKEN".into(),
        );
        return Ok(Outcome::Pass(evidence.join("; ")));
    };

    let (status, body) = t.web.call_api("POST", &add, Some(token)).await?;
    ensure!(
        status == 200,
        "POST {add} with the token answered {status}: {body}"
    );
    let name = added_name(&body)
        .ok_or_else(|| anyhow!("POST {add}: no `added NAME` in the answer: {body}"))?;
    // The node is removed whatever `exercise` found.
    let result = exercise(t, token, &name).await;
    let removed = remove(t, token, &name).await;
    let mut done = result?;
    removed?;
    evidence.append(&mut done);
    Ok(Outcome::Pass(evidence.join("; ")))
}

/// Add is done: wait for the new node to be UP and to serve, stop it, wait for it to leave.
async fn exercise(t: &Target, token: &str, name: &str) -> Result<Vec<String>> {
    let started = Instant::now();
    let (node, servers) = wait_for(t, |s| {
        s.node(name)
            .filter(|n| n.proxy == "UP")
            .map(|n| (n.id.clone(), s.nodes("static").len()))
    })
    .await
    .with_context(|| format!("the added node {name} was not UP in the page within {WAIT:?}"))?;
    let up_in = started.elapsed();
    let short: String = node.chars().take(12).collect();

    // Fresh clients (no cookie) are spread over every server: the new one gets its share.
    let tries = 4 * servers + 4;
    let hits = served_by(t, &short, tries, "while adding").await?;
    ensure!(
        hits > 0,
        "the added node {name} ({short}) served none of {tries} requests"
    );

    let stop = format!("{}/manage/api/nodes/{node}/stop", t.api_url);
    let (status, body) = t.web.call_api("POST", &stop, Some(token)).await?;
    ensure!(status == 200, "POST {stop} answered {status}: {body}");
    let stopping = Instant::now();
    wait_for(t, |s| s.node(name).filter(|n| n.proxy != "UP").map(drop))
        .await
        .with_context(|| format!("the stopped node {name} stayed UP in the page"))?;
    let out_in = stopping.elapsed();
    let after_stop = served_by(t, &short, tries, "after stop").await?;
    ensure!(
        after_stop == 0,
        "the stopped node {name} still served {after_stop} of {tries} requests"
    );
    Ok(vec![
        format!(
            "added {name} ({short}): UP in {:.1} s, served {hits}/{tries}",
            up_in.as_secs_f64()
        ),
        format!(
            "stopped: out of rotation in {:.1} s, served 0/{tries}",
            out_in.as_secs_f64()
        ),
    ])
}

/// How many of `tries` fresh clients' `GET /` were served by `short` (each must answer 200).
async fn served_by(t: &Target, short: &str, tries: usize, when: &str) -> Result<usize> {
    let mut hits = 0;
    for _ in 0..tries {
        let a = t.web.get("/", None).await?;
        ensure!(a.status == 200, "GET / answered {} {when}", a.status);
        if a.served_by.as_deref() == Some(short) {
            hits += 1;
        }
    }
    Ok(hits)
}

/// Removes the node `name` (the one the check added), if it is still listed.
async fn remove(t: &Target, token: &str, name: &str) -> Result<()> {
    let Some(node) = State::read(t).await?.node(name).cloned() else {
        return Ok(());
    };
    let url = format!("{}/manage/api/nodes/{}/remove", t.api_url, node.id);
    let (status, body) = t.web.call_api("POST", &url, Some(token)).await?;
    ensure!(status == 200, "POST {url} answered {status}: {body}");
    wait_for(t, |s| s.node(name).is_none().then_some(()))
        .await
        .with_context(|| format!("{name} was still listed after remove"))
}

async fn wait_for<T>(t: &Target, mut f: impl FnMut(&State) -> Option<T>) -> Result<T> {
    let started = Instant::now();
    loop {
        let s = State::read(t).await?;
        if let Some(v) = f(&s) {
            return Ok(v);
        }
        if started.elapsed() > WAIT {
            bail!("gave up after {WAIT:?}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `added servers1-static-5 like servers1-static-4` -> `servers1-static-5`.
fn added_name(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let msg = v.get("message")?.as_str()?;
    let rest = msg.strip_prefix("added ")?;
    Some(rest.split(" like ").next()?.trim().to_string()).filter(|n| !n.is_empty())
}

/// `/manage/api/state`, reduced to what the check looks at.
#[derive(Debug, Clone)]
struct State {
    project: Option<String>,
    /// (service, node)
    nodes: Vec<(String, Node)>,
}

#[derive(Debug, Clone)]
struct Node {
    id: String,
    name: String,
    state: String,
    proxy: String,
}

impl State {
    async fn read(t: &Target) -> Result<Self> {
        let url = format!("{}/manage/api/state", t.api_url);
        let (status, body) = t.web.call_api("GET", &url, None).await?;
        ensure!(status == 200, "GET {url} answered {status}: {body}");
        let v: Value =
            serde_json::from_str(&body).with_context(|| format!("GET {url}: not JSON"))?;
        Self::parse(&v).with_context(|| format!("GET {url}: unexpected JSON"))
    }

    fn parse(v: &Value) -> Result<Self> {
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let mut nodes = Vec::new();
        for svc in v
            .get("services")
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow!("no `services` list"))?
        {
            for n in svc
                .get("nodes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                nodes.push((
                    s(svc, "service"),
                    Node {
                        id: s(n, "id"),
                        name: s(n, "name"),
                        state: s(n, "state"),
                        proxy: s(n, "proxy"),
                    },
                ));
            }
        }
        Ok(Self {
            project: v.get("project").and_then(Value::as_str).map(str::to_string),
            nodes,
        })
    }

    fn nodes(&self, service: &str) -> Vec<&Node> {
        self.nodes
            .iter()
            .filter(|(s, _)| s == service)
            .map(|(_, n)| n)
            .collect()
    }

    fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().map(|(_, n)| n).find(|n| n.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_added_name_is_read_from_the_answer() {
        let body = r#"{"message":"added servers1-static-5 like servers1-static-4","ok":true}"#;
        assert_eq!(added_name(body).as_deref(), Some("servers1-static-5"));
        assert_eq!(added_name(r#"{"message":"stopped x","ok":true}"#), None);
        assert_eq!(added_name("not json"), None);
    }

    #[test]
    fn the_state_is_read_per_service() {
        let v = serde_json::json!({
            "authenticated": false,
            "project": "servers1",
            "services": [
                {"key": "servers1/static", "service": "static", "nodes": [
                    {"id": "aaa", "name": "servers1-static-1", "state": "running", "proxy": "UP"},
                    {"id": "bbb", "name": "servers1-static-2", "state": "exited", "proxy": "OUT"}
                ]},
                {"key": "servers1/dynamic", "service": "dynamic", "nodes": [
                    {"id": "ccc", "name": "servers1-dynamic-1", "state": "running", "proxy": "UP"}
                ]}
            ]
        });
        let s = State::parse(&v).unwrap();
        assert_eq!(s.project.as_deref(), Some("servers1"));
        assert_eq!(s.nodes("static").len(), 2);
        assert_eq!(s.nodes("dynamic").len(), 1);
        assert_eq!(s.node("servers1-static-2").unwrap().id, "bbb");
        assert!(s.node("servers1-static-9").is_none());
        assert!(State::parse(&serde_json::json!({"project": "p"})).is_err());
    }

    /// A proxy whose management page is off: every request answers 404.
    async fn page_off() -> Target {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = conn.read(&mut buf).await;
                    let _ = conn
                        .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                });
            }
        });
        let url = format!("http://{addr}");
        let control = super::super::Control::Docker(super::super::DockerProject {
            project: "servers1".into(),
            compose_file: None,
        });
        Target::new(&url, &url, "demo.res.ch", control).unwrap()
    }

    #[tokio::test]
    async fn a_page_left_off_is_a_skip_that_says_how_to_turn_it_on() {
        let t = page_off().await;
        match check(&t, None, false).await.unwrap() {
            Outcome::Skip(why) => assert!(why.contains("LAB_MANAGE_TOKEN"), "{why}"),
            Outcome::Pass(e) => panic!("passed: {e}"),
        }
    }

    #[tokio::test]
    async fn a_page_left_off_fails_when_step_9_is_asked_for() {
        let t = page_off().await;
        let err = match check(&t, None, true).await {
            Err(e) => e.to_string(),
            Ok(Outcome::Pass(e) | Outcome::Skip(e)) => panic!("no failure: {e}"),
        };
        assert!(err.contains("LAB_MANAGE_TOKEN"), "{err}");
    }
}
