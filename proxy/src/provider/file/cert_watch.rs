//! Watching the certificate and key files that the `tls` section names, so a renewed
//! certificate (`cp new.pem cert.pem`, an editor's save, certbot's rename) is served without
//! touching the configuration file.
//!
//! The files' directories are watched, not the files: a file replaced by a rename is a new
//! file, which a watch on the old one never hears about. Only events about the named files
//! count. An event asks the provider to load again (after the same debounce as the
//! configuration's own events); the load re-reads the files, and the runtime swaps the
//! certificates for the next handshakes while open connections keep theirs.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedSender;

use super::watch::is_change;
use crate::config::tls::TlsConfig;

/// The watch on the directories of the certificate files in use.
pub(super) struct CertWatch {
    tx: UnboundedSender<()>,
    /// The file names watched, by directory.
    files: BTreeMap<PathBuf, BTreeSet<OsString>>,
    /// Dropping it ends the watch.
    watcher: Option<notify::RecommendedWatcher>,
    /// Some directory cannot be watched (it does not exist, say): the provider polls.
    pub(super) incomplete: bool,
}

impl CertWatch {
    /// Sends `()` on `tx` when a watched file changes.
    pub(super) fn new(tx: UnboundedSender<()>) -> Self {
        CertWatch {
            tx,
            files: BTreeMap::new(),
            watcher: None,
            incomplete: false,
        }
    }

    /// Watches the files `tls` names (and only those). Returns whether they differ from the
    /// ones watched before; the caller then loads again, since a file written between its load
    /// and this new watch would otherwise go unnoticed.
    pub(super) fn follow(&mut self, tls: &TlsConfig) -> bool {
        let wanted = by_directory(tls);
        if wanted == self.files {
            return false;
        }
        self.watcher = None;
        self.incomplete = false;
        if !wanted.is_empty() {
            match self.watch(&wanted) {
                Ok(w) => self.watcher = Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "file provider: cannot watch the certificate files; polling them instead");
                    self.incomplete = true;
                }
            }
        }
        self.files = wanted;
        true
    }

    fn watch(
        &mut self,
        wanted: &BTreeMap<PathBuf, BTreeSet<OsString>>,
    ) -> notify::Result<notify::RecommendedWatcher> {
        let names: BTreeSet<OsString> = wanted.values().flatten().cloned().collect();
        let tx = self.tx.clone();
        let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let relevant = match &res {
                Ok(ev) => {
                    ev.need_rescan()
                        || (is_change(ev)
                            && ev
                                .paths
                                .iter()
                                .any(|p| p.file_name().is_some_and(|n| names.contains(n))))
                }
                Err(_) => true,
            };
            if relevant {
                let _ = tx.send(());
            }
        })?;
        for dir in wanted.keys() {
            if let Err(e) = w.watch(dir, RecursiveMode::NonRecursive) {
                tracing::warn!(error = %e, dir = %dir.display(), "file provider: cannot watch a certificate directory (does it exist?); polling it instead");
                self.incomplete = true;
            }
        }
        Ok(w)
    }
}

/// The certificate and key files `tls` names, as file names by directory.
fn by_directory(tls: &TlsConfig) -> BTreeMap<PathBuf, BTreeSet<OsString>> {
    let stores = tls
        .stores
        .values()
        .filter_map(|s| s.default_certificate.as_ref());
    let mut out: BTreeMap<PathBuf, BTreeSet<OsString>> = BTreeMap::new();
    for files in tls.certificates.iter().chain(stores) {
        for path in [&files.cert_file, &files.key_file] {
            let path = Path::new(path);
            let Some(name) = path.file_name() else {
                continue;
            };
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            out.entry(dir).or_default().insert(name.to_os_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::tls::{CertificateFiles, Store};

    fn files(cert: &str, key: &str) -> CertificateFiles {
        CertificateFiles {
            cert_file: cert.into(),
            key_file: key.into(),
            ..Default::default()
        }
    }

    #[test]
    fn files_are_grouped_by_directory() {
        let tls = TlsConfig {
            certificates: vec![
                files("/certs/a.pem", "/certs/a-key.pem"),
                files("b.pem", "keys/b.pem"),
            ],
            stores: BTreeMap::from([(
                "default".into(),
                Store {
                    default_certificate: Some(files("/certs/d.pem", "/certs/d-key.pem")),
                },
            )]),
            options: None,
        };
        let by = by_directory(&tls);
        let names = |d: &str| -> Vec<String> {
            by[Path::new(d)]
                .iter()
                .map(|n| n.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(by.len(), 3, "{by:?}");
        assert_eq!(
            names("/certs"),
            ["a-key.pem", "a.pem", "d-key.pem", "d.pem"]
        );
        assert_eq!(names("."), ["b.pem"]);
        assert_eq!(names("keys"), ["b.pem"]);
    }

    /// Waits for a signal on `rx`, at most `within`.
    async fn signalled(
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<()>,
        within: Duration,
    ) -> bool {
        tokio::time::timeout(within, rx.recv()).await.is_ok()
    }

    #[tokio::test]
    async fn a_replaced_certificate_signals_and_other_files_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, "old").unwrap();
        std::fs::write(&key, "old").unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut w = CertWatch::new(tx);
        let tls = TlsConfig {
            certificates: vec![files(
                &cert.display().to_string(),
                &key.display().to_string(),
            )],
            ..Default::default()
        };
        assert!(w.follow(&tls), "a new set of files");
        assert!(!w.follow(&tls), "the same files");
        assert!(!w.incomplete);

        std::fs::write(dir.path().join("unrelated.txt"), "x").unwrap();
        assert!(
            !signalled(&mut rx, Duration::from_millis(200)).await,
            "another file"
        );
        std::fs::read(&cert).unwrap();
        assert!(
            !signalled(&mut rx, Duration::from_millis(200)).await,
            "a read (each load reads the files) is no change"
        );

        // As an editor or certbot saves: a new file renamed over the old one.
        let tmp = dir.path().join("cert.pem.new");
        std::fs::write(&tmp, "new").unwrap();
        std::fs::rename(&tmp, &cert).unwrap();
        assert!(
            signalled(&mut rx, Duration::from_secs(5)).await,
            "the certificate was replaced"
        );

        assert!(w.follow(&TlsConfig::default()), "no files any more");
        // Dropping the watcher does not wait for notify's thread: an event of the rename above
        // can still come after the drop (it did, once, on a loaded machine). Take them all
        // before the write whose silence is checked.
        while signalled(&mut rx, Duration::from_millis(200)).await {}
        std::fs::write(&key, "new").unwrap();
        assert!(
            !signalled(&mut rx, Duration::from_millis(200)).await,
            "no longer watched"
        );
    }

    #[test]
    fn accesses_are_not_changes() {
        use notify::event::{AccessKind, AccessMode, CreateKind, EventKind, ModifyKind};
        let is = |kind| is_change(&notify::Event::new(kind));
        assert!(!is(EventKind::Access(AccessKind::Open(AccessMode::Any))));
        assert!(!is(EventKind::Access(AccessKind::Close(AccessMode::Read))));
        assert!(is(EventKind::Access(AccessKind::Close(AccessMode::Write))));
        assert!(is(EventKind::Modify(ModifyKind::Any)));
        assert!(is(EventKind::Create(CreateKind::File)));
    }

    #[test]
    fn a_missing_directory_makes_it_poll() {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let mut w = CertWatch::new(tx);
        let tls = TlsConfig {
            certificates: vec![files(
                "/nonexistent-lab-dir/c.pem",
                "/nonexistent-lab-dir/k.pem",
            )],
            ..Default::default()
        };
        assert!(w.follow(&tls));
        assert!(w.incomplete);
    }
}
