//! Stopping promptly: the future a server passes to [`crate::serve()`] to stop on SIGTERM/SIGINT.
//!
//! In a container our server is PID 1, and the kernel gives PID 1 no default signal actions: a
//! program that does not handle SIGTERM ignores it, and `docker stop` waits 10 s before SIGKILL.
//! So we handle SIGTERM and SIGINT, stop accepting connections at once, and let the requests in
//! progress finish.

use std::future::Future;
use std::io;

/// Installs the SIGTERM and SIGINT handlers *now* and returns a future that completes on the
/// first of them, with the signal's name.
///
/// The handlers are installed before the caller reports that it is listening: a supervisor (or a
/// test) that sends SIGTERM right after reading that line must not hit the default action.
#[cfg(unix)]
pub fn signal() -> io::Result<impl Future<Output = &'static str> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!("{name} received: finishing the requests in progress, then stopping");
        name
    })
}

/// Installs the Ctrl-C handler now and returns a future that completes on Ctrl-C.
#[cfg(not(unix))]
pub fn signal() -> io::Result<impl Future<Output = &'static str> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("Ctrl-C received: finishing the requests in progress, then stopping");
        "Ctrl-C"
    })
}
