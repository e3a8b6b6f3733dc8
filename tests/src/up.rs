//! `lab up`: the local stack in the foreground, with a prompt to scale it, until Ctrl-C or
//! `quit`. Another terminal drives it with `lab scale`, `lab kill`, `lab status`, `lab down`
//! through the control socket in the run directory.

use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::sync::{mpsc, Mutex};

use crate::control::{self, Command};
use crate::local::{LocalOptions, LocalStack};
use crate::routes::API_PREFIX;

/// Runs until Ctrl-C, `quit` on stdin, or `lab down`. Every process is stopped on return.
pub async fn up(opts: LocalOptions) -> Result<()> {
    let run_dir = opts
        .run_dir
        .clone()
        .unwrap_or_else(control::default_run_dir);
    std::fs::create_dir_all(&run_dir)?;
    let listener = control::bind(&run_dir).await?;
    let opts = LocalOptions {
        run_dir: Some(run_dir.clone()),
        ..opts
    };
    let localhost = opts.routes.localhost_routes;
    eprintln!(
        "starting the lab on loopback (binaries, logs: {}) ...",
        run_dir.join("logs").display()
    );
    let mut stack = LocalStack::start(opts).await?;
    println!("{}", banner(&stack, localhost));
    println!("{}", control::format_status(&stack.state()));
    println!("type `help` for commands (scale static=6, kill static 2, status, quit)");

    let stack = Arc::new(Mutex::new(stack));
    let (quit_tx, mut quit_rx) = mpsc::channel::<()>(1);
    let server = tokio::spawn(control::serve(listener, stack.clone(), quit_tx.clone()));

    // Standard input on a plain thread: a blocked read must not keep the runtime alive.
    let (line_tx, mut line_rx) = mpsc::channel::<String>(8);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line_tx.blocking_send(line).is_err() {
                break;
            }
        }
    });

    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let reason = loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break "Ctrl-C",
            _ = quit_rx.recv() => break "`lab down`",
            Some(line) = line_rx.recv() => {
                if line.trim().is_empty() { continue; }
                match control::parse(&line) {
                    Ok(Command::Quit) => break "quit",
                    Ok(cmd) => {
                        let mut s = stack.lock().await;
                        match control::execute(&mut s, &cmd).await {
                            Ok(text) => println!("{text}"),
                            Err(e) => println!("error: {e:#}"),
                        }
                    }
                    Err(e) => println!("error: {e:#}"),
                }
            }
            _ = tick.tick() => {
                let mut s = stack.lock().await;
                if !s.is_stopped() && !s.proxy_running() {
                    eprintln!("the proxy exited; its log: {}", s.run_dir.join("logs/proxy.log").display());
                    break "the proxy exited";
                }
            }
        }
    };
    eprintln!("stopping ({reason}) ...");
    server.abort();
    let _ = server.await;
    let _ = std::fs::remove_file(control::socket_path(&run_dir));
    // `lab down` stopped the stack already; Ctrl-C and `quit` stop it here. Either way every
    // process has exited (and been reaped) before this returns.
    let pids = stack.lock().await.stop().await?;
    if !pids.is_empty() {
        eprintln!("{}", control::stopped_message(&pids));
    }
    Ok(())
}

/// What to open and what to type.
pub fn banner(stack: &LocalStack, localhost: bool) -> String {
    let port = stack.http_addr.port();
    let api = &stack.api_url;
    let host = &stack.host;
    let web = &stack.http_url;
    let mut s = String::new();
    s.push_str(
        "\nHTTP Infra Lab is up, without Docker: the proxy routes as the compose file does.\n\n",
    );
    if localhost {
        s.push_str(&format!(
            "  Site       http://localhost:{port}/            (extra routers static-localhost and\n\
             \x20 API        http://localhost:{port}{API_PREFIX}  dynamic-localhost answer Host localhost\n\
             \x20                                                and 127.0.0.1, so no hosts entry is needed)\n"
        ));
    }
    s.push_str(&format!(
        "  Dashboard  {api}/dashboard/\n\
         \x20 API JSON   {api}/api/http/services\n\n\
         \x20 As in the lab, with Host {host}:\n\
         \x20   curl -i -H 'Host: {host}' {web}/\n\
         \x20   curl -i -H 'Host: {host}' {web}{API_PREFIX}\n\
         \x20 In a browser on http://{host}:{port}/ : add `127.0.0.1 {host}` to /etc/hosts, or\n\
         \x20   chromium --host-resolver-rules='MAP {host} 127.0.0.1' http://{host}:{port}/\n\n\
         \x20 Routing file (watched by the proxy, rewritten on scale): {}\n\
         \x20 {}\n\
         \x20 From another terminal: lab status | lab scale static=6 | lab kill static 2 | lab check | lab down\n",
        stack.config_file.display(),
        match stack.routes().health_check_ms {
            Some(ms) => format!(
                "Active health check: GET /healthz every {ms} ms (not in the report's compose \
                 file; it brings a restarted server back; --health-check-ms 0 drops it)"
            ),
            None => "No active health check, as in the report's compose file".into(),
        }
    ));
    s
}
