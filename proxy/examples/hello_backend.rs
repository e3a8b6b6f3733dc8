//! A minimal backend for measuring the proxy's overhead: answers every request with a
//! ~100-byte body and `X-Served-By`. Prints `backend NAME listening on http://ADDR`.
//!
//! `cargo run --release -p proxy --example hello_backend -- NAME [ADDR]` (ADDR default
//! `127.0.0.1:0`). One thread: the proxy and the load generator need the other cores.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::TokioIo;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "backend".into());
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let body = Bytes::from(format!(
        "{{\"server\":\"{name}\",\"joke\":\"There are 10 kinds of people: those who get binary and those who do not.\"}}\n"
    ));
    let served_by = http::HeaderValue::from_str(&name).expect("a header-safe name");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(&addr).await?;
            println!(
                "backend {name} listening on http://{}",
                listener.local_addr()?
            );
            loop {
                let (stream, _) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                let body = body.clone();
                let served_by = served_by.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |_req| {
                        let mut r = Response::new(Full::new(body.clone()));
                        r.headers_mut().insert("x-served-by", served_by.clone());
                        async move { Ok::<_, Infallible>(r) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        })
}
