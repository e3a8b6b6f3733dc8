//! Watching the files: reading them, keeping each one's last good configuration, debouncing
//! the OS's events (or polling), and publishing when the result changed.

use super::cert_watch::CertWatch;
use super::*;

/// What the provider remembers about one file.
#[derive(Debug, Default)]
pub(super) struct FileState {
    /// The last version that parsed.
    last_good: Option<FileConfig>,
    /// When the file was first seen empty after having content.
    empty_since: Option<Instant>,
}

/// The file provider. [`load`](Self::load) reads once; [`run`](Self::run) reads, publishes,
/// and with `watch` keeps doing so as the files change.
#[derive(Debug)]
pub struct FileProvider {
    source: FileSource,
    watch: bool,
    files: BTreeMap<PathBuf, FileState>,
    /// Set by `load` when a file is inside its empty grace period: load again at that time.
    pub(super) recheck_at: Option<Instant>,
}

impl FileProvider {
    pub fn new(source: FileSource, watch: bool) -> Self {
        FileProvider {
            source,
            watch,
            files: BTreeMap::new(),
            recheck_at: None,
        }
    }

    /// The files to read, in order.
    fn list(&self) -> Result<Vec<PathBuf>, String> {
        match &self.source {
            FileSource::File(p) => Ok(vec![p.clone()]),
            FileSource::Dir(d) => {
                let mut out = Vec::new();
                walk(d, 0, &mut out).map_err(|e| {
                    format!(
                        "cannot read the directory {}: {e}; check --providers.file.directory",
                        d.display()
                    )
                })?;
                out.sort();
                Ok(out)
            }
        }
    }

    fn display_name(&self, path: &Path) -> String {
        match &self.source {
            FileSource::Dir(d) => path.strip_prefix(d).unwrap_or(path).display().to_string(),
            FileSource::File(_) => path.display().to_string(),
        }
    }

    /// Reads every file and returns the provider's configuration, validated. A file that does
    /// not parse contributes its last good configuration, with an issue saying so.
    pub fn load(&mut self) -> ProviderConfig {
        let now = Instant::now();
        self.recheck_at = None;
        let mut issues = Vec::new();
        let mut merged = DynamicConfig::default();
        // Which file defined each element, to report duplicates.
        let mut origin: BTreeMap<Element, String> = BTreeMap::new();

        let paths = match self.list() {
            Ok(p) => p,
            Err(message) => {
                issues.push(ConfigIssue {
                    element: Element::Source(source_name(&self.source)),
                    message,
                });
                Vec::new()
            }
        };
        self.files.retain(|p, _| paths.contains(p));

        for path in paths {
            let name = self.display_name(&path);
            let state = self.files.entry(path.clone()).or_default();
            let fresh = match std::fs::read(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && matches!(self.source, FileSource::File(_)) => {
                    Err(format!(
                        "{name}: the file does not exist; create it or fix --providers.file.filename"
                    ))
                }
                Err(e) => Err(format!("{name}: cannot read the file: {e}")),
                Ok(bytes) => match String::from_utf8(bytes) {
                    Err(_) => Err(format!("{name}: the file is not UTF-8 text")),
                    Ok(text) => {
                        let had_content = state
                            .last_good
                            .as_ref()
                            .is_some_and(|g| *g != FileConfig::default());
                        if text.trim().is_empty() && had_content {
                            let since = *state.empty_since.get_or_insert(now);
                            if now.duration_since(since) < EMPTY_GRACE {
                                let at = since + EMPTY_GRACE;
                                self.recheck_at = Some(self.recheck_at.map_or(at, |r| r.min(at)));
                                Err(format!("{name}: the file is empty (being rewritten?)"))
                            } else {
                                Ok(FileConfig::default())
                            }
                        } else {
                            state.empty_since = None;
                            parse_str(&text, Format::of(&path), &name)
                        }
                    }
                },
            };
            let file_cfg = match fresh {
                Ok(cfg) => {
                    state.last_good = Some(cfg.clone());
                    cfg
                }
                Err(message) => {
                    let kept = state.last_good.clone();
                    let message = if kept.is_some() {
                        format!("{message}; keeping the file's last good configuration until it is fixed")
                    } else {
                        format!("{message}; nothing from this file is routed until it is fixed")
                    };
                    issues.push(ConfigIssue {
                        element: Element::Source(name.clone()),
                        message,
                    });
                    kept.unwrap_or_default()
                }
            };
            issues.extend(file_cfg.issues);
            let cfg = file_cfg.config;
            let mut dup = |e: Element, issues: &mut Vec<ConfigIssue>| -> bool {
                if let Some(first) = origin.get(&e) {
                    issues.push(ConfigIssue {
                        element: Element::Source(name.clone()),
                        message: format!(
                            "{name}: {} is already defined in {first}; this definition is ignored (rename one of them)",
                            describe(&e)
                        ),
                    });
                    true
                } else {
                    origin.insert(e, name.clone());
                    false
                }
            };
            for (n, r) in cfg.routers {
                if !dup(Element::Router(n.clone()), &mut issues) {
                    merged.routers.insert(n, r);
                }
            }
            for (n, s) in cfg.services {
                if !dup(Element::Service(n.clone()), &mut issues) {
                    merged.services.insert(n, s);
                }
            }
            for (n, m) in cfg.middlewares {
                if !dup(Element::Middleware(n.clone()), &mut issues) {
                    merged.middlewares.insert(n, m);
                }
            }
            merged.tls.extend(cfg.tls);
        }
        // Read on every load, so that a change of the configuration re-reads the certificates.
        merged.tls.read_files();
        for message in crate::tls::certs::problems(&merged.tls) {
            issues.push(ConfigIssue {
                element: Element::Source(source_name(&self.source)),
                message: format!("TLS certificate: {message}"),
            });
        }
        let mut pc = validate::validate(PROVIDER, merged);
        issues.append(&mut pc.issues);
        pc.issues = issues;
        pc
    }

    /// Loads, publishes, and with `watch` reloads on every change until `shutdown` completes.
    /// Never fails: problems are issues in what it publishes (and in the log).
    pub async fn run(mut self, publisher: Publisher, shutdown: impl Future<Output = ()> + Send) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        // The configuration's watcher must exist before the first load, so no write between
        // them is missed. The certificates' one follows each load (it needs their names).
        let _watcher = if self.watch {
            match self.watcher(tx.clone()) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "file provider: cannot watch, polling every {POLL:?} instead");
                    None
                }
            }
        } else {
            None
        };
        let mut certs = self.watch.then(|| CertWatch::new(tx.clone()));
        drop(tx);
        tokio::pin!(shutdown);
        loop {
            let pc = self.load();
            if let Some(c) = &mut certs {
                if c.follow(&pc.config.tls) {
                    // Files newly watched: load once more, for a write before their watch.
                    self.recheck_at = Some(Instant::now());
                }
            }
            publish(&publisher, pc);
            let polling =
                self.watch && (_watcher.is_none() || certs.as_ref().is_some_and(|c| c.incomplete));
            let recheck = self.recheck_at.map(tokio::time::Instant::from_std);
            tokio::select! {
                () = &mut shutdown => break,
                ev = rx.recv(), if self.watch => {
                    if ev.is_none() {
                        break;
                    }
                    debounce(&mut rx).await;
                }
                () = tokio::time::sleep(POLL), if polling => {}
                () = async { tokio::time::sleep_until(recheck.expect("guarded")).await }, if recheck.is_some() => {}
            }
        }
        tracing::debug!("file provider: stopped");
    }

    fn watcher(
        &self,
        tx: tokio::sync::mpsc::UnboundedSender<()>,
    ) -> notify::Result<notify::RecommendedWatcher> {
        use notify::{RecursiveMode, Watcher};
        let (dir, only, mode) = match &self.source {
            FileSource::Dir(d) => (d.clone(), None, RecursiveMode::Recursive),
            FileSource::File(f) => {
                let parent = f
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
                (
                    parent,
                    f.file_name().map(|n| n.to_os_string()),
                    RecursiveMode::NonRecursive,
                )
            }
        };
        let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let relevant = match (&res, &only) {
                (Ok(ev), _) if !is_change(ev) => false,
                (Ok(ev), Some(name)) => {
                    ev.need_rescan()
                        || ev
                            .paths
                            .iter()
                            .any(|p| p.file_name() == Some(name.as_os_str()))
                }
                _ => true,
            };
            if relevant {
                let _ = tx.send(());
            }
        })?;
        w.watch(&dir, mode)?;
        Ok(w)
    }
}

/// Whether `ev` may mean a file changed. Not an access: the provider's own reads (`open`,
/// then close without writing) are events too on Linux, and taking them for changes would
/// make every load trigger the next one.
pub(super) fn is_change(ev: &notify::Event) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind};
    match ev.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Waits until events stop for [`QUIET`], at most [`MAX_DEBOUNCE`].
async fn debounce(rx: &mut tokio::sync::mpsc::UnboundedReceiver<()>) {
    let deadline = tokio::time::Instant::now() + MAX_DEBOUNCE;
    loop {
        let wait = QUIET.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        if wait.is_zero() {
            return;
        }
        match tokio::time::timeout(wait, rx.recv()).await {
            Ok(Some(())) => continue,
            _ => return,
        }
    }
}

/// Publishes `pc` if it differs from what was published last, and logs its issues then.
pub(super) fn publish(publisher: &Publisher, pc: ProviderConfig) {
    publisher.send_if_modified(|current| {
        if *current == pc {
            return false;
        }
        for i in &pc.issues {
            tracing::warn!(element = ?i.element, "file provider: {}", i.message);
        }
        tracing::info!(
            routers = pc.config.routers.len(),
            services = pc.config.services.len(),
            middlewares = pc.config.middlewares.len(),
            "file provider: configuration changed"
        );
        *current = pc;
        true
    });
}

pub(super) fn describe(e: &Element) -> String {
    match e {
        Element::Router(n) => format!("router `{n}`"),
        Element::Service(n) => format!("service `{n}`"),
        Element::Middleware(n) => format!("middleware `{n}`"),
        Element::Source(n) => format!("`{n}`"),
    }
}

pub(super) fn source_name(s: &FileSource) -> String {
    match s {
        FileSource::File(p) | FileSource::Dir(p) => p.display().to_string(),
    }
}

pub(super) fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let ft = std::fs::metadata(&path).map(|m| m.file_type());
        match ft {
            Ok(ft) if ft.is_dir() && depth < MAX_DEPTH => walk(&path, depth + 1, out)?,
            Ok(ft) if ft.is_file() && Format::is_config(&path) => out.push(path),
            _ => {}
        }
    }
    Ok(())
}
