//! Where the lab's binaries are: next to `lab` itself (`target/debug` or `target/release`), or
//! in the directory given with `--bin-dir` / `LAB_BIN_DIR`.
//!
//! `lab` never builds anything itself: a missing binary is an error that says to run
//! `cargo build --workspace`, because a silent build inside `lab up` would hide minutes of work
//! behind a prompt that looks stuck.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The three programs a local stack runs.
pub const PROXY: &str = "proxy";
pub const STATIC_SERVER: &str = "static-server";
pub const JOKES_API: &str = "jokes-api";

/// A directory that holds the proxy, static-server and jokes-api executables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinDir(PathBuf);

impl BinDir {
    /// `explicit` if given, else `LAB_BIN_DIR`, else the directory of the running executable
    /// (and its parent, for test executables that live in `target/<profile>/deps`).
    pub fn locate(explicit: Option<&Path>) -> Result<Self> {
        if let Some(dir) = explicit {
            return Self::check(dir.to_path_buf());
        }
        if let Some(dir) = std::env::var_os("LAB_BIN_DIR") {
            return Self::check(PathBuf::from(dir));
        }
        let exe = std::env::current_exe().context("cannot find the path of the running program")?;
        let mut candidates = Vec::new();
        if let Some(dir) = exe.parent() {
            candidates.push(dir.to_path_buf());
            if dir.file_name().is_some_and(|n| n == "deps") {
                if let Some(up) = dir.parent() {
                    candidates.push(up.to_path_buf());
                }
            }
        }
        for dir in &candidates {
            if Self::missing(dir).is_empty() {
                return Ok(Self(dir.clone()));
            }
        }
        let dir = candidates.last().cloned().unwrap_or_default();
        Self::check(dir)
    }

    fn missing(dir: &Path) -> Vec<&'static str> {
        [PROXY, STATIC_SERVER, JOKES_API]
            .into_iter()
            .filter(|name| !dir.join(name).is_file())
            .collect()
    }

    fn check(dir: PathBuf) -> Result<Self> {
        let missing = Self::missing(&dir);
        if !missing.is_empty() {
            bail!(
                "{} not found in {}: run `cargo build --workspace` first \
                 (or `cargo build --workspace --release` for the release profile), \
                 or point --bin-dir / LAB_BIN_DIR at the directory that holds them",
                missing.join(", "),
                dir.display()
            );
        }
        Ok(Self(dir))
    }

    /// The full path of one of the programs.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn dir(&self) -> &Path {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binaries_name_the_build_command() {
        let dir = tempfile::tempdir().unwrap();
        let err = BinDir::locate(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("cargo build --workspace"), "{err}");
        assert!(err.contains("proxy, static-server, jokes-api"), "{err}");
    }

    #[test]
    fn a_directory_with_all_three_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        for name in [PROXY, STATIC_SERVER, JOKES_API] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let bins = BinDir::locate(Some(dir.path())).unwrap();
        assert_eq!(bins.path(PROXY), dir.path().join("proxy"));
    }
}
