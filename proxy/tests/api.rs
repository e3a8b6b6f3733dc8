//! The API in Traefik v2's shapes, the dashboard, metrics.

mod common;

use common::*;

#[tokio::test]
async fn api_has_traefiks_shapes() {
    let site = Backend::start("static1").await;
    let api = Backend::start("dynamic1").await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&lab_yaml(&[&site], &[&api])).await;
    let c = client();
    for _ in 0..3 {
        get(&c, &p, "/api/jokes/").await;
    }

    let routers = p.api_json("/api/http/routers").await;
    let names: Vec<&str> = routers
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["api@file", "site@file"]);
    let r = p.api_json("/api/http/routers/api@file").await;
    assert_eq!(r["service"], "jokes@file");
    assert_eq!(r["middlewares"][0], "strip@file");
    assert_eq!(r["status"], "enabled");
    assert_eq!(r["provider"], "file");
    assert_eq!(r["entryPoints"][0], "web");
    assert!(r["priority"].as_i64().unwrap() > 0);

    let s = p.api_json("/api/http/services/jokes@file").await;
    assert_eq!(s["type"], "loadbalancer");
    assert_eq!(s["status"], "enabled");
    assert_eq!(s["loadBalancer"]["servers"][0]["url"], api.url());
    assert_eq!(s["loadBalancer"]["passHostHeader"], true);
    assert_eq!(s["serverStatus"][api.url()], "UP");
    assert_eq!(s["serverRequests"][api.url()], 3);
    assert_eq!(s["usedBy"][0], "api@file");
    let st = p.api_json("/api/http/services/static@file").await;
    assert_eq!(st["loadBalancer"]["sticky"]["cookie"]["name"], "lab_sticky");

    let m = p.api_json("/api/http/middlewares/strip@file").await;
    assert_eq!(m["type"], "stripprefix");
    assert_eq!(m["stripPrefix"]["prefixes"][0], "/api/jokes");
    assert_eq!(m["usedBy"][0], "api@file");

    let o = p.api_json("/api/overview").await;
    assert_eq!(o["http"]["routers"]["total"], 2);
    assert_eq!(o["http"]["services"]["total"], 2);
    assert_eq!(o["features"]["metrics"], "Prometheus");
    let raw = p.api_json("/api/rawdata").await;
    assert!(raw["routers"]["site@file"].is_object());
    assert!(raw["services"]["jokes@file"]["serverStatus"].is_object());
    let v = p.api_json("/api/version").await;
    assert!(v["Version"].is_string());
    let eps = p.api_json("/api/entrypoints").await;
    let web = eps
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "web")
        .unwrap();
    assert_eq!(web["boundAddress"], p.web.to_string());

    let nf = c
        .get(format!(
            "http://{}/api/http/routers/nope@file",
            p.api.unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(nf.status(), 404);
}

#[tokio::test]
async fn dashboard_metrics_and_ping() {
    let site = Backend::start("static1").await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&lab_yaml(&[&site], &[])).await;
    let c = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{}", p.api.unwrap());
    let r = c.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/dashboard/");
    let html = c
        .get(format!("{base}/dashboard/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "id=\"routers\"",
        "id=\"services\"",
        "server-status",
        "setInterval",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    // No external assets (the SVG namespace name is a name, not something fetched).
    for fetched in [
        "src=\"http",
        "href=\"http",
        "url(http",
        "@import",
        "fetch(\"http",
    ] {
        assert!(!html.contains(fetched), "no external assets: {fetched}");
    }
    assert!(html.contains("svg"), "the request charts are inline SVG");

    get(&client(), &p, "/").await;
    let m = c
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("proxy_requests_total{"), "{m}");
    assert!(m.contains("router=\"site@file\""), "{m}");
    assert!(m.contains("code=\"200\""), "{m}");
    assert!(
        m.contains("traefik_router_request_duration_seconds_bucket"),
        "{m}"
    );
    assert!(m.contains("traefik_service_server_up{"), "{m}");
    assert_eq!(
        c.get(format!("{base}/ping"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "OK"
    );
    // The API is not on the data entrypoint.
    let r = c
        .get(p.url("/api/overview"))
        .header("host", "elsewhere")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn api_is_off_unless_asked_for() {
    let args: Vec<String> = vec!["--entrypoints.web.address=127.0.0.1:0".into()];
    let cfg = match proxy::static_config::parse(&args, &[]).unwrap() {
        proxy::static_config::Command::Run(c) => *c,
        _ => unreachable!(),
    };
    assert!(!cfg.api);
    assert!(!cfg.entrypoints.contains_key("traefik"));
}
