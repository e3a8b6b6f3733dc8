//! Active health checks, sticky cookie path, protocol upgrades, graceful shutdown.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn wait_status(p: &Proxy, svc: &str, url: &str, want: &str) {
    for _ in 0..200 {
        let s = p.api_json(&format!("/api/http/services/{svc}")).await;
        if s["serverStatus"][url] == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{url} never became {want}");
}

#[tokio::test]
async fn active_health_checks_take_servers_out_and_back() {
    let a = Backend::start("dynamic1").await;
    let b = Backend::start("dynamic2").await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&format!(
        r#"
routers:
  api: {{ rule: "PathPrefix(`/`)", service: jokes }}
services:
  jokes:
    loadBalancer:
      healthCheck: {{ path: /health, interval: 50ms, timeout: 1s }}
      servers: [ {{ url: "{}" }}, {{ url: "{}" }} ]
"#,
        a.url(),
        b.url()
    ))
    .await;
    a.healthy.store(false, Ordering::SeqCst);
    wait_status(&p, "jokes@file", &a.url(), "DOWN").await;
    let c = client();
    for _ in 0..4 {
        assert_eq!(get(&c, &p, "/").await.1, "dynamic2");
    }
    a.healthy.store(true, Ordering::SeqCst);
    wait_status(&p, "jokes@file", &a.url(), "UP").await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..4 {
        seen.insert(get(&c, &p, "/").await.1);
    }
    assert_eq!(seen.len(), 2);
}

#[tokio::test]
async fn sticky_cookie_path_follows_the_router_prefix() {
    let a = Backend::start("app1").await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&format!(
        r#"
routers:
  app: {{ rule: "Host(`demo.res.ch`) && PathPrefix(`/app/`)", service: app }}
services:
  app:
    loadBalancer:
      sticky: {{ cookie: {{ name: app_sticky, secure: true, sameSite: strict }} }}
      servers: [ {{ url: "{}" }} ]
"#,
        a.url()
    ))
    .await;
    let r = client()
        .get(p.url("/app/index.html"))
        .header("host", "demo.res.ch")
        .send()
        .await
        .unwrap();
    let set = r.headers()["set-cookie"].to_str().unwrap();
    assert!(set.contains("Path=/app/"), "{set}");
    assert!(
        set.contains("Secure") && set.contains("SameSite=Strict"),
        "{set}"
    );
}

#[tokio::test]
async fn upgrades_pass_through() {
    let a = Backend::start("ws1").await;
    let p = Proxy::start(&[]).await;
    p.publish_yaml(&format!(
        "routers: {{ ws: {{ rule: \"PathPrefix(`/`)\", service: ws }} }}\nservices: {{ ws: {{ loadBalancer: {{ servers: [ {{ url: \"{}\" }} ] }} }} }}\n",
        a.url()
    ))
    .await;
    let mut s = tokio::net::TcpStream::connect(p.web).await.unwrap();
    s.write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let mut got = String::new();
    while !got.contains("ws1:") {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(got.starts_with("HTTP/1.1 101"), "{got}");
    s.write_all(b"ping").await.unwrap();
    let mut echo = String::new();
    while !echo.contains("ping") {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        echo.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests() {
    let a = Backend::start("slow1").await;
    let mut p = Proxy::start(&[]).await;
    p.publish_yaml(&format!(
        "routers: {{ r: {{ rule: \"PathPrefix(`/`)\", service: s }} }}\nservices: {{ s: {{ loadBalancer: {{ servers: [ {{ url: \"{}\" }} ] }} }} }}\n",
        a.url()
    ))
    .await;
    let url = p.url("/sleep/400");
    let in_flight = tokio::spawn(async move { client().get(url).send().await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let web = p.web;
    p.stop().await;
    assert_eq!(in_flight.await.unwrap().unwrap(), 200);
    assert!(
        tokio::net::TcpStream::connect(web).await.is_err(),
        "no new connections"
    );
}
