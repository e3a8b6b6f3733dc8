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
