//! Running a router on a listener until a shutdown future completes.
//!
//! Every lab server runs through here so they all behave alike: both ends of each connection
//! are known to handlers (`/whoami` shows them), small responses are not delayed by Nagle's
//! algorithm, and shutdown is graceful (no new connections; requests in progress finish).

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use axum::Router;
use tokio::net::{TcpListener, TcpStream};

/// Both ends of a client's connection, available to handlers as `ConnectInfo<Connection>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    /// Our address, as the client reached it (in Docker, the container's address on that network).
    pub local: SocketAddr,
    /// The client's address (behind the proxy: the proxy's).
    pub remote: SocketAddr,
}

impl Connected<IncomingStream<'_, NoDelay>> for Connection {
    fn connect_info(stream: IncomingStream<'_, NoDelay>) -> Self {
        let unknown = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        Connection {
            local: stream.io().local_addr().unwrap_or(unknown),
            remote: *stream.remote_addr(),
        }
    }
}

/// A `TcpListener` whose connections send small writes at once (`TCP_NODELAY`): a response
/// written in pieces (a compressed body) is not held back waiting for the client's ACK.
#[derive(Debug)]
pub struct NoDelay(pub TcpListener);

impl Listener for NoDelay {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        // axum's accept for TcpListener already retries after errors such as "too many files".
        let (stream, remote) = Listener::accept(&mut self.0).await;
        // Best effort: a socket that refuses TCP_NODELAY still works, only slower.
        let _ = stream.set_nodelay(true);
        (stream, remote)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then waits for the requests in
/// progress. Idle keep-alive connections are closed at once.
pub async fn serve<S>(listener: TcpListener, app: Router, shutdown: S) -> io::Result<()>
where
    S: Future + Send + 'static,
{
    axum::serve(
        NoDelay(listener),
        app.into_make_service_with_connect_info::<Connection>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    use axum::extract::ConnectInfo;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::{oneshot, Notify};

    /// Sends one request on a new connection and returns the whole raw response.
    async fn request(address: SocketAddr, path: &str) -> String {
        let mut tcp = TcpStream::connect(address).await.unwrap();
        let head = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut response = String::new();
        tcp.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn shutdown_lets_the_request_in_progress_finish() {
        let started = Arc::new(Notify::new());
        let release = Arc::new(Notify::new());
        let app = Router::new().route(
            "/slow",
            get({
                let (started, release) = (started.clone(), release.clone());
                move || async move {
                    started.notify_one();
                    release.notified().await;
                    "finished"
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, app, stopped));

        let client = tokio::spawn(request(address, "/slow"));
        started.notified().await; // the request is in progress
        stop.send(()).unwrap(); // ... when shutdown begins
        tokio::time::sleep(Duration::from_millis(50)).await; // let the server see it
        release.notify_one();

        let response = client.await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        assert!(response.ends_with("finished"), "{response}");
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn handlers_see_both_ends_of_the_connection() {
        let app = Router::new().route(
            "/",
            get(|ConnectInfo(conn): ConnectInfo<Connection>| async move {
                format!("{} {}", conn.local, conn.remote.ip())
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, app, stopped));

        let response = request(address, "/").await;
        assert!(
            response.ends_with(&format!("{address} 127.0.0.1")),
            "{response}"
        );
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }
}
