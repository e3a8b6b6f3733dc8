//! Driving a running `lab up` stack: the same little command language typed on `lab up`'s
//! standard input or sent from another terminal (`lab scale static=6`) over a Unix socket in
//! the run directory (`<run dir>/control.sock`).
//!
//! A socket rather than a command file: the sender gets the answer (or the error) back at once,
//! and a stale socket from a crashed run is detected by a failed connect.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, Mutex};

use crate::local::{Kind, LocalStack, StackState};

pub const SOCKET: &str = "control.sock";

/// One command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `scale static=6 dynamic=3`
    Scale(Vec<(Kind, usize)>),
    /// `kill static 2` or `kill static2`: SIGKILL, left in the routing (a crash).
    Kill(String),
    /// `restart static 2`: start a killed server again, same address, same id.
    Restart(String),
    Status,
    Quit,
    Help,
}

pub const HELP: &str = "\
commands:
  scale static=N [dynamic=M]   start or stop servers; the proxy follows without a restart
  kill static 2                kill static2 (SIGKILL, left in the routing: a crash)
  restart static 2             start static2 again, on the same address
  status                       list the servers
  quit                         stop everything";

/// Parses one command line.
pub fn parse(line: &str) -> Result<Command> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&verb, args)) = words.split_first() else {
        bail!("empty command; {HELP}");
    };
    match verb.to_ascii_lowercase().as_str() {
        "scale" => {
            let mut out = Vec::new();
            let mut i = 0;
            while i < args.len() {
                let (kind, n) = match args[i].split_once('=') {
                    Some((k, n)) => (k, n),
                    None => {
                        let n = args
                            .get(i + 1)
                            .ok_or_else(|| anyhow!("`scale` wants `static=N` or `dynamic=N`"))?;
                        i += 1;
                        (args[i - 1], *n)
                    }
                };
                let n: usize = n
                    .parse()
                    .map_err(|_| anyhow!("`{n}` is not a number of servers"))?;
                if n > 32 {
                    bail!("{n} servers is more than this machine wants; at most 32");
                }
                out.push((Kind::parse(kind)?, n));
                i += 1;
            }
            if out.is_empty() {
                bail!("`scale` wants `static=N` and/or `dynamic=N`");
            }
            Ok(Command::Scale(out))
        }
        "kill" | "stop" => Ok(Command::Kill(server_id(args)?)),
        "restart" | "start" => Ok(Command::Restart(server_id(args)?)),
        "status" | "ps" => Ok(Command::Status),
        "quit" | "exit" | "down" => Ok(Command::Quit),
        "help" | "?" => Ok(Command::Help),
        other => bail!("unknown command `{other}`\n{HELP}"),
    }
}

/// `static 2` or `static2` -> `static2`.
fn server_id(args: &[&str]) -> Result<String> {
    match args {
        [id] => Ok(id.to_string()),
        [kind, n] => {
            let kind = Kind::parse(kind)?;
            let n: usize = n
                .parse()
                .map_err(|_| anyhow!("`{n}` is not a server number"))?;
            Ok(format!("{}{n}", kind.name()))
        }
        _ => bail!("name a server: `static 2` or `static2`"),
    }
}

/// Runs a command on the stack and returns what to print. `Quit` is the caller's business.
pub async fn execute(stack: &mut LocalStack, cmd: &Command) -> Result<String> {
    match cmd {
        Command::Scale(targets) => {
            for (kind, n) in targets {
                stack.scale(*kind, *n).await?;
            }
            Ok(format_status(&stack.state()))
        }
        Command::Kill(id) => {
            stack.kill_server(id).await?;
            Ok(format!(
                "killed {id} (still in the routing: the proxy must notice)"
            ))
        }
        Command::Restart(id) => {
            stack.restart_server(id).await?;
            Ok(format!("{id} runs again"))
        }
        Command::Status => Ok(format_status(&stack.state())),
        Command::Help => Ok(HELP.to_string()),
        Command::Quit => Ok("stopping".into()),
    }
}

/// The servers as a small table.
pub fn format_status(state: &StackState) -> String {
    let mut out = format!(
        "proxy: {} (web), {} (API); {} static, {} dynamic\n",
        state.http_url,
        state.api_url,
        state.count(Kind::Static),
        state.count(Kind::Dynamic)
    );
    for s in &state.servers {
        out.push_str(&format!(
            "  {:<10} {:<24} {}\n",
            s.id,
            s.url,
            match (s.running, s.pid) {
                (true, Some(pid)) => format!("running (pid {pid})"),
                _ => "killed".into(),
            }
        ));
    }
    out.trim_end().to_string()
}

pub fn socket_path(run_dir: &Path) -> PathBuf {
    run_dir.join(SOCKET)
}

/// Binds the control socket; refuses if another `lab up` answers on it.
pub async fn bind(run_dir: &Path) -> Result<UnixListener> {
    let path = socket_path(run_dir);
    if UnixStream::connect(&path).await.is_ok() {
        bail!(
            "another `lab up` already runs with run directory {}: stop it (`lab down`) or pass \
             another --run-dir",
            run_dir.display()
        );
    }
    let _ = std::fs::remove_file(&path);
    UnixListener::bind(&path).with_context(|| format!("cannot listen on {}", path.display()))
}

/// Answers commands on the socket until the task is dropped.
///
/// `quit` stops every process of the stack and answers only once they have all exited, then
/// tells the caller on `quit`: so `lab down` returns when the ports are free, not before.
pub async fn serve(listener: UnixListener, stack: Arc<Mutex<LocalStack>>, quit: mpsc::Sender<()>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let stack = stack.clone();
        let quit = quit.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            let mut quitting = false;
            let reply = match BufReader::new(read).read_line(&mut line).await {
                Ok(_) => match parse(&line) {
                    Ok(Command::Quit) => {
                        quitting = true;
                        let mut stack = stack.lock().await;
                        stack.stop().await.map(|pids| stopped_message(&pids))
                    }
                    Ok(cmd) => {
                        let mut stack = stack.lock().await;
                        execute(&mut stack, &cmd).await
                    }
                    Err(e) => Err(e),
                },
                Err(e) => Err(e.into()),
            };
            let text = match reply {
                Ok(text) => format!("OK\n{text}\n"),
                Err(e) => format!("ERR\n{e:#}\n"),
            };
            let _ = write.write_all(text.as_bytes()).await;
            // Answer before telling `lab up` to exit: its exit ends this task, and `lab down`
            // must not see the socket close with no answer.
            if quitting {
                let _ = write.shutdown().await;
                let _ = quit.send(()).await;
            }
        });
    }
}

/// What `lab down` prints once the stack is gone.
pub fn stopped_message(pids: &[u32]) -> String {
    let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    format!(
        "stopped: every process of the lab has exited (pids {})",
        pids.join(", ")
    )
}

/// Sends one command to the `lab up` running in `run_dir` and returns its answer.
pub async fn send(run_dir: &Path, line: &str) -> Result<String> {
    let path = socket_path(run_dir);
    let mut stream = UnixStream::connect(&path).await.with_context(|| {
        format!(
            "no `lab up` answers on {}: start one with `lab up`, or pass its --run-dir",
            path.display()
        )
    })?;
    stream
        .write_all(format!("{}\n", line.trim()).as_bytes())
        .await?;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_string(&mut answer))
        .await
        .map_err(|_| anyhow!("`lab up` did not answer `{line}` within 60 s"))??;
    match answer.split_once('\n') {
        Some(("OK", rest)) => Ok(rest.trim_end().to_string()),
        Some(("ERR", rest)) => bail!("{}", rest.trim_end()),
        _ => bail!("unexpected answer from `lab up`: {answer:?}"),
    }
}

/// The default run directory: `$LAB_RUN_DIR`, else `<tmp>/http-infra-lab`.
pub fn default_run_dir() -> PathBuf {
    std::env::var_os("LAB_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("http-infra-lab"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(
            parse("scale static=6 dynamic=3").unwrap(),
            Command::Scale(vec![(Kind::Static, 6), (Kind::Dynamic, 3)])
        );
        assert_eq!(
            parse("scale dynamic 1").unwrap(),
            Command::Scale(vec![(Kind::Dynamic, 1)])
        );
        assert_eq!(
            parse("kill static 2").unwrap(),
            Command::Kill("static2".into())
        );
        assert_eq!(
            parse("kill dynamic3").unwrap(),
            Command::Kill("dynamic3".into())
        );
        assert_eq!(
            parse("restart static 2").unwrap(),
            Command::Restart("static2".into())
        );
        assert_eq!(parse("  status ").unwrap(), Command::Status);
        assert_eq!(parse("quit").unwrap(), Command::Quit);
    }

    #[test]
    fn bad_commands_say_what_to_type() {
        assert!(parse("scale web=x")
            .unwrap_err()
            .to_string()
            .contains("not a number"));
        assert!(parse("scale db=2")
            .unwrap_err()
            .to_string()
            .contains("static"));
        assert!(parse("scale static=1000").is_err());
        assert!(parse("dance")
            .unwrap_err()
            .to_string()
            .contains("scale static=N"));
        assert!(parse("kill").is_err());
    }
}
