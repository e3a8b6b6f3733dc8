//! Where containers come from: the engine, behind a trait, so the watch loop is tested with a
//! fake engine and the management UI (lab step 9) can extend the same client with actions
//! (add, stop, start, remove) without touching discovery.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

use super::container::{Container, ContainerEvent};

/// Why talking to the engine failed. Every variant is retried by the provider; the message
/// says what to check.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SourceError {
    /// No engine answers at the endpoint (socket missing, daemon stopped or restarting).
    #[error("cannot reach the Docker engine at {endpoint}: {reason} (is Docker running, and may this user read the socket?)")]
    Unreachable { endpoint: String, reason: String },
    /// The socket is there but this user may not open it: `explanation` says whose it is, who
    /// the proxy runs as, and the fixes (see `socket_access::permission_denied`).
    #[error("{explanation}")]
    PermissionDenied {
        endpoint: String,
        explanation: String,
    },
    /// The engine answered with an error.
    #[error("the Docker engine refused `{request}`: {reason}")]
    Engine { request: String, reason: String },
    /// The event stream ended or broke.
    #[error("the Docker event stream ended: {reason}")]
    StreamEnded { reason: String },
}

/// Read access to containers: list, inspect, follow events.
///
/// Methods take `&self` and return boxed futures so the trait works as `dyn ContainerSource`
/// (the UI holds one behind an `Arc`) and in spawned tasks.
pub trait ContainerSource: Send + Sync {
    /// Where the engine is, for messages (`unix:///var/run/docker.sock`).
    fn endpoint(&self) -> String;

    /// Ids of the containers that are running or paused.
    fn list(&self) -> BoxFuture<'_, Result<Vec<String>, SourceError>>;

    /// One container; `Ok(None)` when it no longer exists.
    fn inspect<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Container>, SourceError>>;

    /// Container events from now on. The stream ends, or yields an error, when the engine
    /// goes away; the caller then reconnects and lists again.
    fn events(&self) -> BoxStream<'static, Result<ContainerEvent, SourceError>>;

    /// How to tell whether a server accepts connections yet (a started container's process
    /// may need a moment to listen). The default connects over TCP.
    fn prober(&self) -> Prober {
        Arc::new(|addr| Box::pin(accepts_tcp(addr)))
    }
}

/// Whether a server accepts connections at an address.
pub type Prober = Arc<dyn Fn(SocketAddr) -> BoxFuture<'static, bool> + Send + Sync>;

/// Whether `addr` accepts a TCP connection within a short time.
pub async fn accepts_tcp(addr: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_millis(250),
            tokio::net::TcpStream::connect(addr)
        )
        .await,
        Ok(Ok(_))
    )
}
