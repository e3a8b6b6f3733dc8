//! Where the files come from: the site compiled into the binary (the default), or a directory
//! on disk (`--root`), behind one small interface so the handler does not care which.
//!
//! On disk, a checked [`crate::safe_path::SafePath`] cannot climb out of the root by itself,
//! but a symbolic link inside the root can point anywhere (`site/secrets -> /etc`). So we
//! resolve the full path (`canonicalize` follows every link) and serve it only if it is still
//! under the (canonical) root. (A narrow race remains if someone can write into the root: a
//! link swapped in between the check and the read. Servers facing that open files relative to
//! the root's directory handle, refusing links as they go: Linux's `openat2` with
//! `RESOLVE_BENEATH`.)
//!
//! Files are read whole into memory: right for a web site's pages and assets (kilobytes), and
//! it lets HTML pages be filled in and fingerprinted (ETag) simply. A server for large
//! downloads would stream them instead (tower-http's `ServeDir` does).

use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;

/// The files compiled in by `build.rs`: (path under `site/`, contents, modified, in Unix seconds).
static BUNDLED: &[(&str, &[u8], u64)] = include!(concat!(env!("OUT_DIR"), "/bundled_site.rs"));

/// The site's files.
#[derive(Debug, Clone)]
pub enum Site {
    /// `static-server/site/`, as it was when the binary was built.
    Bundled,
    /// A directory, by its canonical path.
    Dir(PathBuf),
}

/// A file's contents and date.
#[derive(Debug, Clone)]
pub struct File {
    pub bytes: Bytes,
    pub modified: Option<SystemTime>,
}

/// What a path names.
#[derive(Debug)]
pub enum Found {
    File(File),
    /// A directory: the caller may redirect to `path/`.
    Directory,
    /// Nothing (or something we will not serve, such as a link out of the root).
    Missing,
    /// A file the server may not read (its permissions).
    Forbidden,
}

impl Site {
    /// A site served from `root`, which must be a readable directory.
    pub fn dir(root: &Path) -> io::Result<Site> {
        let root = root
            .canonicalize()
            .map_err(|e| io::Error::new(e.kind(), format!("site root {}: {e}", root.display())))?;
        if !root.is_dir() {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!("site root {} is not a directory", root.display()),
            ));
        }
        Ok(Site::Dir(root))
    }

    /// Looks up `file`, a `/`-separated path relative to the root, from
    /// [`crate::safe_path::SafePath::file`].
    pub async fn find(&self, file: &str) -> io::Result<Found> {
        match self {
            Site::Bundled => Ok(find_bundled(file)),
            Site::Dir(root) => find_on_disk(root, file).await,
        }
    }

    /// How to describe the site in a log line.
    pub fn describe(&self) -> String {
        match self {
            Site::Bundled => format!("the bundled site ({} files)", BUNDLED.len()),
            Site::Dir(root) => root.display().to_string(),
        }
    }
}

/// The bundled site's assets (every file but its HTML pages) as URL paths: `/css/site.css`,
/// `/img/logo.svg`, ... Read from the files compiled in, so it is the one list of them: the
/// tests check that the page loads each one and that each one is served.
pub fn bundled_assets() -> impl Iterator<Item = String> {
    BUNDLED
        .iter()
        .map(|(path, _, _)| *path)
        .filter(|path| !path.ends_with(".html"))
        .map(|path| format!("/{path}"))
}

fn find_bundled(file: &str) -> Found {
    if let Some((_, bytes, modified)) = BUNDLED.iter().find(|(path, _, _)| *path == file) {
        return Found::File(File {
            bytes: Bytes::from_static(bytes),
            modified: Some(UNIX_EPOCH + Duration::from_secs(*modified)),
        });
    }
    let inside = format!("{file}/");
    if BUNDLED.iter().any(|(path, _, _)| path.starts_with(&inside)) {
        Found::Directory
    } else {
        Found::Missing
    }
}

/// The disk lookup is a few blocking system calls (resolve links, stat, read): done in one
/// trip to tokio's blocking thread pool rather than one trip each.
async fn find_on_disk(root: &Path, file: &str) -> io::Result<Found> {
    let (root, file) = (root.to_owned(), file.to_owned());
    tokio::task::spawn_blocking(move || find_on_disk_now(&root, &file))
        .await
        .map_err(io::Error::other)?
}

fn find_on_disk_now(root: &Path, file: &str) -> io::Result<Found> {
    let real = match std::fs::canonicalize(root.join(file)) {
        Ok(real) => real,
        Err(e) if is_absent(&e) => return Ok(Found::Missing),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => return Ok(Found::Forbidden),
        Err(e) => return Err(e),
    };
    if !real.starts_with(root) {
        tracing::warn!(
            "refused /{file}: it is a link to {}, outside the site root",
            real.display()
        );
        return Ok(Found::Missing);
    }
    let metadata = std::fs::metadata(&real)?;
    if metadata.is_dir() {
        return Ok(Found::Directory);
    }
    if !metadata.is_file() {
        return Ok(Found::Missing); // a socket, a FIFO, a device: not web content
    }
    match std::fs::read(&real) {
        Ok(bytes) => Ok(Found::File(File {
            bytes: bytes.into(),
            modified: metadata.modified().ok(),
        })),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Ok(Found::Forbidden),
        Err(e) if is_absent(&e) => Ok(Found::Missing), // deleted meanwhile
        Err(e) => Err(e),
    }
}

/// "No such file", or a file name used as a directory (`/index.html/x`).
fn is_absent(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_site_has_its_pages_and_assets() {
        for file in ["index.html", "404.html"] {
            assert!(
                matches!(find_bundled(file), Found::File(_)),
                "{file} is not bundled"
            );
        }
        for asset in bundled_assets() {
            let file = asset.strip_prefix('/').unwrap();
            assert!(
                matches!(find_bundled(file), Found::File(_)),
                "{file} is not bundled"
            );
        }
        assert!(matches!(find_bundled("css"), Found::Directory));
        assert!(matches!(find_bundled("nope.html"), Found::Missing));
        assert!(matches!(find_bundled("css/site.css/x"), Found::Missing));
    }
}
