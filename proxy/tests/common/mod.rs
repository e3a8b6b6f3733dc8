//! Test harness: tiny backends on port 0 that say who they are, and the proxy run in-process
//! on port 0, fed by a provider channel the test publishes on.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use proxy::config::{DynamicConfig, ProviderConfig};
use proxy::static_config::{self, Command};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

/// A backend: answers every request with `X-Served-By: <name>` and a JSON body describing the
/// request it saw (`server`, `path`, `headers`). `/sleep/<ms>` waits first.
pub struct Backend {
    pub name: String,
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    /// What `/health` answers: 200 when true, 503 when false.
    pub healthy: Arc<AtomicBool>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Backend {
    pub async fn start(name: &str) -> Backend {
        Self::start_on(name, "127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts on a given address (to bring a killed backend back on its port).
    pub async fn start_on(name: &str, addr: SocketAddr) -> Backend {
        let listener = bind_retry(addr).await;
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let healthy = Arc::new(AtomicBool::new(true));
        let hl = healthy.clone();
        let (stop, mut stopped) = oneshot::channel::<()>();
        let n = name.to_string();
        let h = hits.clone();
        let task = tokio::spawn(async move {
            // Connections live in the set: dropping it on kill closes them all at once.
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    r = listener.accept() => {
                        let Ok((stream, _)) = r else { continue };
                        let n = n.clone();
                        let h = h.clone();
                        let hl = hl.clone();
                        conns.spawn(async move {
                            let svc = service_fn(move |req| respond(n.clone(), h.clone(), hl.clone(), req));
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), svc)
                                .with_upgrades()
                                .await;
                        });
                    }
                    _ = &mut stopped => break,
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
            conns.abort_all();
        });
        Backend {
            name: name.to_string(),
            addr,
            hits,
            healthy,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills the backend: the listener and every open connection close at once.
    pub async fn kill(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

async fn bind_retry(addr: SocketAddr) -> TcpListener {
    for _ in 0..50 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        if socket.bind(addr).is_ok() {
            if let Ok(l) = socket.listen(1024) {
                return l;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("cannot bind {addr}");
}

async fn respond(
    name: String,
    hits: Arc<AtomicUsize>,
    healthy: Arc<AtomicBool>,
    mut req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/health" {
        let mut r = Response::new(Full::new(Bytes::from_static(b"health")));
        if !healthy.load(Ordering::SeqCst) {
            *r.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
        }
        return Ok(r);
    }
    hits.fetch_add(1, Ordering::SeqCst);
    if req.uri().path() == "/echo" && req.headers().contains_key("upgrade") {
        // A protocol upgrade: after 101, echo every byte back, prefixed by the server's name.
        let on = hyper::upgrade::on(&mut req);
        let n = name.clone();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            if let Ok(up) = on.await {
                let mut io = TokioIo::new(up);
                let _ = io.write_all(format!("{n}:").as_bytes()).await;
                let mut buf = [0u8; 1024];
                while let Ok(k) = io.read(&mut buf).await {
                    if k == 0 || io.write_all(&buf[..k]).await.is_err() {
                        break;
                    }
                }
            }
        });
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = hyper::StatusCode::SWITCHING_PROTOCOLS;
        r.headers_mut().insert("upgrade", "echo".parse().unwrap());
        r.headers_mut()
            .insert("connection", "upgrade".parse().unwrap());
        return Ok(r);
    }
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    if let Some(ms) = path.strip_prefix("/sleep/") {
        let ms: u64 = ms.parse().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let headers: serde_json::Map<String, serde_json::Value> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                serde_json::Value::String(v.to_str().unwrap_or("").to_string()),
            )
        })
        .collect();
    let method = req.method().to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let json = serde_json::json!({
        "server": name,
        "path": path,
        "method": method,
        "headers": headers,
        "bodyLen": body.len(),
    });
    let mut resp = Response::new(Full::new(Bytes::from(json.to_string())));
    resp.headers_mut()
        .insert("x-served-by", name.parse().unwrap());
    resp.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    Ok(resp)
}

/// The proxy, in-process, on port 0.
pub struct Proxy {
    pub web: SocketAddr,
    pub api: Option<SocketAddr>,
    pub provider: watch::Sender<ProviderConfig>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Proxy {
    /// Starts with the API and metrics on, plus `extra` flags.
    pub async fn start(extra: &[&str]) -> Proxy {
        let mut args: Vec<String> = vec![
            "--entrypoints.web.address=127.0.0.1:0".into(),
            "--entrypoints.traefik.address=127.0.0.1:0".into(),
            "--api.insecure=true".into(),
            "--metrics.prometheus=true".into(),
            "--ping".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let cfg = match static_config::parse(&args, &[]).expect("flags parse") {
            Command::Run(c) => *c,
            _ => unreachable!(),
        };
        let listeners = proxy::bind(&cfg).expect("bind");
        let web = listeners
            .iter()
            .find(|l| l.name == "web")
            .unwrap()
            .local_addr();
        let api = listeners
            .iter()
            .find(|l| l.name == "traefik")
            .map(|l| l.local_addr());
        let (tx, rx) = watch::channel(ProviderConfig::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(proxy::run(
            cfg,
            listeners,
            vec![("file".into(), rx)],
            async move {
                let _ = stopped.await;
            },
        ));
        Proxy {
            web,
            api,
            provider: tx,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Publishes a configuration in Traefik's file format (YAML, `http:` contents) and waits
    /// until the proxy serves it (the API shows every router of it).
    pub async fn publish_yaml(&self, yaml: &str) {
        let config: DynamicConfig = serde_norway::from_str(yaml).expect("test YAML parses");
        self.publish(ProviderConfig {
            config,
            issues: Vec::new(),
        })
        .await;
    }

    pub async fn publish(&self, pc: ProviderConfig) {
        let wanted: Vec<String> = pc
            .config
            .routers
            .keys()
            .map(|r| format!("{r}@file"))
            .collect();
        let servers: Vec<String> = pc
            .config
            .services
            .values()
            .flat_map(|s| s.load_balancer.servers.iter().map(|s| s.url.to_string()))
            .collect();
        self.provider.send_replace(pc);
        // Bounded wait for the swap (it happens within milliseconds).
        for _ in 0..200 {
            let raw = self.api_json("/api/rawdata").await;
            let text = raw.to_string();
            if wanted.iter().all(|r| raw["routers"].get(r).is_some())
                && servers.iter().all(|s| text.contains(s.as_str()))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the proxy did not apply the configuration");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.web, path)
    }

    pub async fn api_json(&self, path: &str) -> serde_json::Value {
        let url = format!("http://{}{}", self.api.expect("API on"), path);
        client()
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// A client with no cookie jar, no system proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A client with its own cookie jar (one browser session).
pub fn session() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// `GET path` with `Host: demo.res.ch`; returns (status, X-Served-By, body JSON or Null).
pub async fn get(c: &reqwest::Client, p: &Proxy, path: &str) -> (u16, String, serde_json::Value) {
    let r = c
        .get(p.url(path))
        .header("host", "demo.res.ch")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let by = r
        .headers()
        .get("x-served-by")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = r.json().await.unwrap_or(serde_json::Value::Null);
    (status, by, body)
}

/// The lab's configuration: the site sticky, the API round robin with its prefix stripped.
pub fn lab_yaml(statics: &[&Backend], apis: &[&Backend]) -> String {
    let servers = |bs: &[&Backend]| {
        if bs.is_empty() {
            return "      servers: []\n".to_string();
        }
        let mut s = "      servers:\n".to_string();
        for b in bs {
            s.push_str(&format!(
                "        - url: \"{}\"\n          name: {}\n",
                b.url(),
                b.name
            ));
        }
        s
    };
    let static_servers = servers(statics);
    let api_servers = servers(apis);
    format!(
        r#"
routers:
  site:
    rule: "Host(`demo.res.ch`)"
    service: static
  api:
    rule: "Host(`demo.res.ch`) && PathPrefix(`/api/jokes/`)"
    service: jokes
    middlewares: [strip]
services:
  static:
    loadBalancer:
      sticky:
        cookie:
          name: lab_sticky
          httpOnly: true
{static_servers}
  jokes:
    loadBalancer:
{api_servers}
middlewares:
  strip:
    stripPrefix:
      prefixes: ["/api/jokes"]
"#
    )
}
