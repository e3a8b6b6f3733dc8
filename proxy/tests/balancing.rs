//! Round robin, sticky sessions, failover: the report's tests.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::*;

#[tokio::test]
async fn round_robin_is_cyclic_in_server_order() {
    let a = Backend::start("dynamic1").await;
    let b = Backend::start("dynamic2").await;
    let d = Backend::start("dynamic3").await;
    let site = Backend::start("static1").await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&lab_yaml(&[&site], &[&a, &b, &d])).await;
    let c = client();
    let mut seen = Vec::new();
    for _ in 0..9 {
        let (s, by, _) = get(&c, &p, "/api/jokes/").await;
        assert_eq!(s, 200);
        seen.push(by);
    }
    let first = seen.iter().position(|s| s == "dynamic1").unwrap();
    for (i, s) in seen.iter().enumerate().skip(first) {
        let want = ["dynamic1", "dynamic2", "dynamic3"][(i - first) % 3];
        assert_eq!(s, want, "order: {seen:?}");
    }
    // No sticky cookie on a round-robin service.
    let r = c
        .get(p.url("/api/jokes/"))
        .header("host", "demo.res.ch")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn sticky_sessions_stay_on_their_server() {
    let s1 = Backend::start("static1").await;
    let s2 = Backend::start("static2").await;
    let s3 = Backend::start("static3").await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&lab_yaml(&[&s1, &s2, &s3], &[])).await;

    let mut servers = HashSet::new();
    for _session in 0..6 {
        let c = session();
        let r = c
            .get(p.url("/"))
            .header("host", "demo.res.ch")
            .send()
            .await
            .unwrap();
        let set = r
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(set.starts_with("lab_sticky="), "{set}");
        assert!(set.contains("Path=/") && set.contains("HttpOnly"), "{set}");
        // The value reveals no address or port.
        let value = set
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("lab_sticky=");
        assert!(!value.contains("127.0.0.1") && !value.contains(&s1.addr.port().to_string()));
        let first = r.headers()["x-served-by"].to_str().unwrap().to_string();
        servers.insert(first.clone());
        // The page and all its assets from the same server, without a new cookie.
        for asset in ["/style.css", "/app.js", "/img/logo.png", "/"] {
            let r = c
                .get(p.url(asset))
                .header("host", "demo.res.ch")
                .send()
                .await
                .unwrap();
            assert!(r.headers().get("set-cookie").is_none());
            assert_eq!(r.headers()["x-served-by"], first.as_str());
        }
    }
    assert_eq!(servers.len(), 3, "sessions are spread over the servers");
}

#[tokio::test]
async fn forged_garbage_and_unknown_cookies_get_a_fresh_valid_one() {
    let s1 = Backend::start("static1").await;
    let s2 = Backend::start("static2").await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&lab_yaml(&[&s1, &s2], &[])).await;
    let c = client();
    let huge = format!("lab_sticky={}", "A".repeat(4000));
    for cookie in [
        "lab_sticky=",
        "lab_sticky=garbage",
        "lab_sticky=http://127.0.0.1:1",
        "lab_sticky=AAAAAAAAAAAAAAAA",
        "lab_sticky=%00%ff\"\\",
        huge.as_str(),
        "lab_sticky=a; lab_sticky=b",
    ] {
        let r = c
            .get(p.url("/"))
            .header("host", "demo.res.ch")
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{cookie}");
        let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
        let by = r.headers()["x-served-by"].to_str().unwrap().to_string();
        // The fresh cookie works.
        let value = set.split(';').next().unwrap().to_string();
        let r = c
            .get(p.url("/"))
            .header("host", "demo.res.ch")
            .header("cookie", value)
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("set-cookie").is_none());
        assert_eq!(r.headers()["x-served-by"], by.as_str());
    }
}

#[tokio::test]
async fn killed_backend_loses_no_get_and_clients_are_repinned() {
    let mut s1 = Backend::start("static1").await;
    let s2 = Backend::start("static2").await;
    let s3 = Backend::start("static3").await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&lab_yaml(&[&s1, &s2, &s3], &[])).await;

    // Eight sessions, pinned.
    let sessions: Vec<reqwest::Client> = (0..8).map(|_| session()).collect();
    let mut pinned = Vec::new();
    for c in &sessions {
        pinned.push(get(c, &p, "/").await.1);
    }
    assert!(pinned.iter().any(|s| s == "static1"));

    // Bounded load from every session while static1 dies.
    let load = {
        let sessions = sessions.clone();
        let url = p.url("/page");
        tokio::spawn(async move {
            let mut failures = 0;
            let mut ok = 0;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
            for round in 0..400 {
                if tokio::time::Instant::now() > deadline {
                    break;
                }
                for c in &sessions {
                    match c.get(&url).header("host", "demo.res.ch").send().await {
                        Ok(r) if r.status() == 200 => ok += 1,
                        other => {
                            failures += 1;
                            eprintln!("round {round}: {:?}", other.map(|r| r.status()));
                        }
                    }
                }
            }
            (ok, failures)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    s1.kill().await;
    let (ok, failures) = load.await.unwrap();
    assert!(ok > 0);
    assert_eq!(failures, 0, "no failed GET");

    // Everyone is on a live server, with a cookie naming it.
    let mut after: HashMap<usize, String> = HashMap::new();
    for (i, c) in sessions.iter().enumerate() {
        let (s, by, _) = get(c, &p, "/").await;
        assert_eq!(s, 200);
        assert_ne!(by, "static1");
        after.insert(i, by);
    }
    let services = p.api_json("/api/http/services/static@file").await;
    assert_eq!(services["serverStatus"][s1.url()], "DOWN");

    // static1 comes back: re-pinned clients stay where they are.
    let back = Backend::start_on("static1", s1.addr).await;
    for _ in 0..100 {
        let s = p.api_json("/api/http/services/static@file").await;
        if s["serverStatus"][back.url()] == "UP" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (i, c) in sessions.iter().enumerate() {
        let (_, by, _) = get(c, &p, "/").await;
        assert_eq!(by, after[&i], "session {i} stays on its new server");
    }
}

#[tokio::test]
async fn post_to_a_dead_server_goes_elsewhere_when_it_never_arrived() {
    let mut a = Backend::start("dynamic1").await;
    let b = Backend::start("dynamic2").await;
    let site = Backend::start("static1").await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&lab_yaml(&[&site], &[&a, &b])).await;
    a.kill().await;
    let c = client();
    for _ in 0..4 {
        let r = c
            .post(p.url("/api/jokes/"))
            .header("host", "demo.res.ch")
            .body("{\"joke\":\"x\"}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-served-by"], "dynamic2");
    }
}
