//! Turning a request path into a file path that cannot leave the site's root.
//!
//! This is the classic hole of file servers ("path traversal"): `GET /../../etc/passwd`, or the
//! same hidden behind percent-encoding (`/%2e%2e/%2e%2e/etc/passwd`), an encoded slash
//! (`/..%2fetc`), a Windows backslash (`/..\..\`), or a NUL byte that ends a C string early.
//! We decode each segment of the path *once*, then refuse any segment that is `.` or `..` or
//! still contains `/`, `\` or NUL. What is left can only name something under the root.
//! (Symbolic links pointing out of the root are the other half: see `site.rs`.)
//!
//! Hidden names (`.git`, `.env`) are never served either: they are answered 404, as if absent.

use std::fmt;

/// A request path, checked: its segments are plain names, safe to join under a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafePath {
    segments: Vec<String>,
    /// The path ended in `/` (or was `/`): it names a directory, served by its `index.html`.
    directory: bool,
}

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The path tries to escape or smuggle a separator: 400 Bad Request.
    Refused(&'static str),
    /// The path names a hidden file: 404 Not Found, as if it were not there.
    Hidden,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Refused(why) => f.write_str(why),
            PathError::Hidden => f.write_str("hidden files are not served"),
        }
    }
}

impl SafePath {
    /// Checks the raw (still percent-encoded) path of a request, such as `/css/site.css`.
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        let mut segments = Vec::new();
        for raw_segment in raw.split('/') {
            if raw_segment.is_empty() {
                continue; // the leading '/', or '//'
            }
            let segment = percent_decode(raw_segment)?;
            if segment == "." || segment == ".." {
                return Err(PathError::Refused("'.' and '..' are not allowed in paths"));
            }
            if segment.contains(['/', '\\']) {
                return Err(PathError::Refused(
                    "encoded slashes (%2F) and backslashes are not allowed",
                ));
            }
            if segment.contains('\0') {
                return Err(PathError::Refused("NUL bytes are not allowed in paths"));
            }
            if segment.starts_with('.') {
                return Err(PathError::Hidden);
            }
            segments.push(segment);
        }
        let directory = segments.is_empty() || raw.ends_with('/');
        Ok(SafePath {
            segments,
            directory,
        })
    }

    /// The file to serve, relative to the root, with `/` separators: `css/site.css`, or
    /// `docs/index.html` for `/docs/`.
    pub fn file(&self) -> String {
        let mut path = self.segments.join("/");
        if self.directory {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str("index.html");
        }
        path
    }

    /// For a path without a trailing `/` that turns out to be a directory: the same path
    /// with the `/`, to redirect to (so the page's relative links work).
    pub fn as_directory(&self) -> Option<(String, SafePath)> {
        if self.directory {
            return None;
        }
        let dir = SafePath {
            segments: self.segments.clone(),
            directory: true,
        };
        let url = format!(
            "/{}/",
            self.segments
                .iter()
                .map(|s| encode(s))
                .collect::<Vec<_>>()
                .join("/")
        );
        Some((url, dir))
    }
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits, or a result that is not UTF-8,
/// is refused.
fn percent_decode(segment: &str) -> Result<String, PathError> {
    const BAD_ESCAPE: PathError = PathError::Refused("bad percent-encoding in path");
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(BAD_ESCAPE)?;
            let hex = std::str::from_utf8(hex).map_err(|_| BAD_ESCAPE)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| BAD_ESCAPE)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| PathError::Refused("paths must be UTF-8"))
}

/// Percent-encodes what cannot stand in a URL path segment as is.
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(raw: &str) -> Result<String, PathError> {
        SafePath::parse(raw).map(|p| p.file())
    }

    #[test]
    fn ordinary_paths() {
        assert_eq!(file("/").unwrap(), "index.html");
        assert_eq!(file("").unwrap(), "index.html");
        assert_eq!(file("/css/site.css").unwrap(), "css/site.css");
        assert_eq!(file("/docs/").unwrap(), "docs/index.html");
        assert_eq!(file("//img//logo.svg").unwrap(), "img/logo.svg");
        assert_eq!(file("/a%20b.txt").unwrap(), "a b.txt");
        assert_eq!(file("/caf%C3%A9.html").unwrap(), "café.html");
        // A dot inside a name is fine; only whole "." and ".." segments are special.
        assert_eq!(file("/a..b/c.d").unwrap(), "a..b/c.d");
    }

    #[test]
    fn traversal_attempts_are_refused() {
        for raw in [
            "/..",
            "/../etc/passwd",
            "/css/../../etc/passwd",
            "/./index.html",
            "/%2e%2e/etc/passwd",
            "/%2E%2E/etc/passwd",
            "/.%2e/etc/passwd",
            "/%2e./etc/passwd",
            "/..%2fetc%2fpasswd",
            "/css%2f..%2f..%2fetc/passwd",
            "/..%5c..%5cetc/passwd",
            "/..\\..\\etc\\passwd",
            "/index.html%00.png",
            "/%252e%252e/x", // decoded once: "%2e%2e" is a harmless odd name, checked below
        ] {
            let result = SafePath::parse(raw);
            if raw == "/%252e%252e/x" {
                assert_eq!(result.unwrap().file(), "%2e%2e/x", "decoded twice?");
            } else {
                assert!(
                    matches!(result, Err(PathError::Refused(_))),
                    "{raw} gave {result:?}"
                );
            }
        }
    }

    #[test]
    fn bad_encoding_is_refused() {
        for raw in ["/%", "/%4", "/%zz", "/%C3%28"] {
            assert!(
                matches!(SafePath::parse(raw), Err(PathError::Refused(_))),
                "{raw}"
            );
        }
    }

    #[test]
    fn hidden_files_are_not_found() {
        for raw in ["/.git/config", "/.env", "/css/.secret", "/%2egit/HEAD"] {
            assert_eq!(SafePath::parse(raw), Err(PathError::Hidden), "{raw}");
        }
    }

    #[test]
    fn directory_redirects_keep_the_path_encoded() {
        let path = SafePath::parse("/my%20docs").unwrap();
        let (url, dir) = path.as_directory().unwrap();
        assert_eq!(url, "/my%20docs/");
        assert_eq!(dir.file(), "my docs/index.html");
        assert!(SafePath::parse("/docs/").unwrap().as_directory().is_none());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::path::{Component, Path};

    /// Paths made of the pieces traversal attacks are built from.
    fn tricky_path() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "/", "..", ".", "%2e", "%2E", "%2f", "%2F", "%5c", "%00", "%25", "\\", "a", "b.txt",
            "%", "2e", "%c3%a9", "%ff",
        ]);
        prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        /// Whatever is accepted names something under the root, and only that.
        #[test]
        fn accepted_paths_stay_under_the_root(raw in tricky_path()) {
            if let Ok(path) = SafePath::parse(&raw) {
                let file = path.file();
                prop_assert!(!file.contains(['\\', '\0']), "{raw:?} -> {file:?}");
                let joined = Path::new("/srv/site").join(&file);
                prop_assert!(joined.starts_with("/srv/site"), "{raw:?} -> {file:?}");
                for component in Path::new(&file).components() {
                    prop_assert!(
                        matches!(component, Component::Normal(_)),
                        "{raw:?} -> {file:?}"
                    );
                }
            }
        }

        /// Any string at all: an answer, never a panic.
        #[test]
        fn never_panics(raw in ".*") {
            let _ = SafePath::parse(&raw).map(|p| p.file());
        }
    }
}
