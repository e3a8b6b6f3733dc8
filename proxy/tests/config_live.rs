//! Live reconfiguration: servers added and removed without a restart; a bad element reported
//! while the rest keeps routing; balancer state kept across reloads.

mod common;

use std::collections::HashSet;

use common::*;
use proxy::config::{ConfigIssue, DynamicConfig, Element, ProviderConfig};

#[tokio::test]
async fn servers_added_and_removed_live() {
    let a = Backend::start("dynamic1").await;
    let b = Backend::start("dynamic2").await;
    let site = Backend::start("static1").await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&lab_yaml(&[&site], &[&a])).await;
    let c = client();
    for _ in 0..3 {
        assert_eq!(get(&c, &p, "/api/jokes/").await.1, "dynamic1");
    }
    p.publish_yaml(&lab_yaml(&[&site], &[&a, &b])).await;
    let seen: HashSet<String> = {
        let mut s = HashSet::new();
        for _ in 0..4 {
            s.insert(get(&c, &p, "/api/jokes/").await.1);
        }
        s
    };
    assert_eq!(seen.len(), 2);
    p.publish_yaml(&lab_yaml(&[&site], &[&b])).await;
    for _ in 0..3 {
        assert_eq!(get(&c, &p, "/api/jokes/").await.1, "dynamic2");
    }
}

#[tokio::test]
async fn round_robin_continues_across_a_reload_that_keeps_the_servers() {
    let a = Backend::start("dynamic1").await;
    let b = Backend::start("dynamic2").await;
    let site = Backend::start("static1").await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&lab_yaml(&[&site], &[&a, &b])).await;
    let c = client();
    let first = get(&c, &p, "/api/jokes/").await.1;
    // A reload that changes only the site's servers.
    let site2 = Backend::start("static2").await;
    p.publish_yaml(&lab_yaml(&[&site, &site2], &[&a, &b])).await;
    let second = get(&c, &p, "/api/jokes/").await.1;
    assert_ne!(first, second, "the position was kept");
}

#[tokio::test]
async fn bad_config_is_reported_and_the_rest_routes() {
    let site = Backend::start("static1").await;
    let api = Backend::start("dynamic1").await;
    let p = Proxy::start(&[]).await;
    let mut yaml = lab_yaml(&[&site], &[&api]);
    yaml = yaml.replace(
        "routers:\n",
        "routers:\n  bad-rule:\n    rule: \"Host(`x\"\n    service: static\n  no-mw:\n    rule: \"Path(`/nomw`)\"\n    service: static\n    middlewares: [ghost]\n",
    );
    let mut config: DynamicConfig = serde_norway::from_str(&yaml).unwrap();
    // A provider-reported problem, as Docker reports a container without a port.
    config.routers.remove("no-such");
    let pc = ProviderConfig {
        config,
        issues: vec![ConfigIssue {
            element: Element::Source("container lab-web-1".into()),
            message: "no port: set traefik.http.services.<s>.loadbalancer.server.port".into(),
        }],
    };
    p.publish(pc).await;
    let c = client();
    assert_eq!(get(&c, &p, "/").await.1, "static1");
    assert_eq!(get(&c, &p, "/api/jokes/").await.1, "dynamic1");
    let r = c
        .get(p.url("/nomw"))
        .header("host", "demo.res.ch")
        .send()
        .await
        .unwrap();
    // The router with a missing middleware is not routed; the site's router answers instead.
    assert_eq!(r.headers()["x-served-by"], "static1");

    let bad = p.api_json("/api/http/routers/bad-rule@file").await;
    assert_eq!(bad["status"], "disabled");
    assert!(
        bad["error"][0].as_str().unwrap().contains("position"),
        "{bad}"
    );
    let nomw = p.api_json("/api/http/routers/no-mw@file").await;
    assert_eq!(nomw["status"], "disabled");
    assert!(nomw["error"].to_string().contains("ghost"));
    let issues = p.api_json("/api/issues").await;
    let text = issues.to_string();
    assert!(text.contains("no port"), "{text}");
    assert!(text.contains("ghost"), "{text}");
    let overview = p.api_json("/api/overview").await;
    assert_eq!(overview["http"]["routers"]["errors"], 2);
}
