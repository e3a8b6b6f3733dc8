//! A plain `GET` to the engine's API, answered with JSON, for what bollard's generated models
//! cannot carry: its `Task` has no `NetworksAttachments` (the tasks' addresses, which are the
//! servers), so the Swarm provider reads `/services`, `/networks` and `/tasks` into its own
//! small serde structs ([`super::engine`]) through this function.
//!
//! One request per connection, over the Unix socket (`unix:///var/run/docker.sock`) or TCP
//! (`tcp://host:2375`); unversioned paths, so the engine answers with its own API version
//! (every field read here exists since API 1.25).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::provider::docker::SourceError;

/// How long one request may take before the engine counts as gone.
const TIMEOUT: Duration = Duration::from_secs(10);

/// `GET <path>` on the engine at `endpoint`, its JSON answer read as `T`.
pub async fn get_json<T: DeserializeOwned>(endpoint: &str, path: &str) -> Result<T, SourceError> {
    let unreachable = |reason: String| SourceError::Unreachable {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let request = async {
        match Address::parse(endpoint)? {
            Address::Unix(socket) => {
                let stream = tokio::net::UnixStream::connect(&socket)
                    .await
                    .map_err(|e| format!("{socket}: {e}"))?;
                send(stream, path).await
            }
            Address::Tcp(addr) => {
                let stream = tokio::net::TcpStream::connect(&addr)
                    .await
                    .map_err(|e| format!("{addr}: {e}"))?;
                send(stream, path).await
            }
        }
    };
    let (status, body) = tokio::time::timeout(TIMEOUT, request)
        .await
        .map_err(|_| unreachable(format!("no answer to GET {path} within {TIMEOUT:?}")))?
        .map_err(unreachable)?;
    if !status.is_success() {
        return Err(SourceError::Engine {
            request: format!("GET {path}"),
            reason: format!(
                "{status}: {}{}",
                String::from_utf8_lossy(&body).trim(),
                if status == http::StatusCode::SERVICE_UNAVAILABLE {
                    " (is this engine a Swarm manager? `docker swarm init`, or point \
                     --providers.swarm.endpoint at a manager)"
                } else {
                    ""
                }
            ),
        });
    }
    serde_json::from_slice(&body).map_err(|e| SourceError::Engine {
        request: format!("GET {path}"),
        reason: format!("unexpected answer: {e}"),
    })
}

enum Address {
    Unix(String),
    Tcp(String),
}

impl Address {
    fn parse(endpoint: &str) -> Result<Address, String> {
        if let Some(rest) = endpoint
            .strip_prefix("tcp://")
            .or_else(|| endpoint.strip_prefix("http://"))
        {
            return Ok(Address::Tcp(rest.trim_end_matches('/').to_owned()));
        }
        if let Some(path) = endpoint.strip_prefix("unix://") {
            return Ok(Address::Unix(path.to_owned()));
        }
        if endpoint.starts_with('/') {
            return Ok(Address::Unix(endpoint.to_owned()));
        }
        Err(format!(
            "endpoint `{endpoint}` is neither unix:///path nor tcp://host:port"
        ))
    }
}

async fn send<S>(stream: S, path: &str) -> Result<(http::StatusCode, Bytes), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(connection);
    let request = http::Request::get(path)
        .header(http::header::HOST, "docker")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }
    .await;
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_are_read_from_a_unix_socket() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("engine.sock");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            for answer in [
                "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n[{\"ID\":\"x\"}]",
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 17\r\n\r\nnot a swarm node.",
            ] {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).await.unwrap();
                assert!(String::from_utf8_lossy(&buf[..n]).starts_with("GET /tasks HTTP/1.1"));
                s.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        let endpoint = format!("unix://{}", socket.display());
        let v: serde_json::Value = get_json(&endpoint, "/tasks").await.unwrap();
        assert_eq!(v[0]["ID"], "x");
        let e = get_json::<serde_json::Value>(&endpoint, "/tasks")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("Swarm manager"), "{e}");
        let e = get_json::<serde_json::Value>("ssh://host", "/tasks")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("tcp://host:port"), "{e}");
    }
}
