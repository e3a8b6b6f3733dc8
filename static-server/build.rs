//! Compiles the site (`site/`) into the binary, so `static-server` serves it with no files
//! beside it: `cargo run` works from anywhere, and the container image is the binary alone.
//!
//! Writes `$OUT_DIR/bundled_site.rs`: a list of `(path, bytes, modified)`, one entry per file,
//! with `include_bytes!` doing the embedding. Hidden files are left out (they are never served).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

fn main() {
    // Read at run time, not with `env!`: a build script compiled in another checkout (a copied
    // `target/`) would otherwise embed that checkout's site.
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let site = Path::new(&manifest_dir).join("site");
    // A directory here makes cargo re-run this script when anything inside it changes.
    println!("cargo:rerun-if-changed={}", site.display());

    let mut files = Vec::new();
    collect(&site, &mut files);
    files.sort();

    let mut code = String::from("&[\n");
    for file in &files {
        let relative = file
            .strip_prefix(&site)
            .unwrap()
            .to_str()
            .expect("UTF-8 file names");
        let relative = relative.replace('\\', "/");
        let modified = std::fs::metadata(file)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        writeln!(
            code,
            "    ({relative:?}, include_bytes!({:?}), {modified}),",
            file.display().to_string()
        )
        .unwrap();
    }
    code.push_str("]\n");

    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("bundled_site.rs");
    std::fs::write(out, code).unwrap();
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}
