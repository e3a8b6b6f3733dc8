//! The `Content-Type` of a file, from its extension. A short table of what a web site holds
//! (a crate such as `mime_guess` knows hundreds; we need a dozen, and say so here).

/// The media type for `path`; `application/octet-stream` when unknown (the browser downloads
/// it rather than guessing, helped by `X-Content-Type-Options: nosniff`).
pub fn for_path(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn common_types() {
        assert_eq!(super::for_path("index.html"), "text/html; charset=utf-8");
        assert_eq!(super::for_path("img/LOGO.SVG"), "image/svg+xml");
        assert_eq!(
            super::for_path("js/app.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(super::for_path("README"), "application/octet-stream");
    }
}
