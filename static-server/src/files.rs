//! The file handler: every path that is not `/whoami` or `/healthz`.
//!
//! request path -> [`SafePath`] (400 if it tries to escape) -> [`Site::find`](crate::Site::find) -> the file,
//! with its validators (`ETag`, `Last-Modified`), a 304 if the client's copy is current, or
//! the part a `Range` asks for. HTML pages get the instance id written in (see [`PLACEHOLDER`]),
//! so the page itself names its server, even with JavaScript off.
//!
//! Every answer says `Cache-Control: no-cache`: the browser may keep a copy but must ask the
//! server before using it (cheaply: a 304 has no body). So every page load reaches a server
//! for every asset, and the sticky-session test sees which server each asset came from.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};

use crate::conditional;
use crate::range::{self, RangeAnswer};
use crate::safe_path::{PathError, SafePath};
use crate::site::{File, Found};
use crate::{content_type, AppState};

/// Written into HTML files in place of the instance id (the page's `#served-by`).
pub const PLACEHOLDER: &str = "{{instance_id}}";

/// The page served (with status 404) for a missing file, if the site has one.
const NOT_FOUND_PAGE: &str = "404.html";

/// Handler for every file path: `GET` and `HEAD` only.
pub async fn serve_file(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    request: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let allow = [(header::ALLOW, HeaderValue::from_static("GET, HEAD"))];
        let message = format!("{method} is not allowed here: this server only reads files");
        return (allow, plain(StatusCode::METHOD_NOT_ALLOWED, message)).into_response();
    }
    let path = match SafePath::parse(uri.path()) {
        Ok(path) => path,
        Err(PathError::Refused(why)) => return plain(StatusCode::BAD_REQUEST, why.to_owned()),
        Err(PathError::Hidden) => return not_found(&state, &uri).await,
    };
    let file = path.file();
    match state.site.find(&file).await {
        Ok(Found::File(found)) => file_response(&request, &file, found, state.instance.id()),
        Ok(Found::Directory) => match path.as_directory() {
            // `/docs` -> `/docs/`, if there is a `docs/index.html` to show.
            Some((url, dir)) if has_file(&state, &dir.file()).await => {
                Redirect::permanent(&url).into_response()
            }
            _ => not_found(&state, &uri).await,
        },
        Ok(Found::Missing) => not_found(&state, &uri).await,
        Ok(Found::Forbidden) => plain(
            StatusCode::FORBIDDEN,
            format!("{} exists but this server may not read it", uri.path()),
        ),
        Err(e) => {
            tracing::error!("reading {file}: {e}");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not read the file; the server's log says why".to_owned(),
            )
        }
    }
}

/// The response for `file` (named `name` under the root), honouring the request's
/// conditional and range headers.
fn file_response(request: &HeaderMap, name: &str, file: File, instance_id: &str) -> Response {
    let content_type = content_type::for_path(name);
    let bytes = if content_type.starts_with("text/html") {
        fill_in(&file.bytes, instance_id)
    } else {
        file.bytes
    };
    let etag = conditional::etag(&bytes);
    let modified = file.modified.map(conditional::to_seconds);

    let mut headers = HeaderMap::new();
    set(&mut headers, header::ETAG, &etag);
    if let Some(modified) = modified {
        set(
            &mut headers,
            header::LAST_MODIFIED,
            &httpdate::fmt_http_date(modified),
        );
    }
    set(&mut headers, header::CACHE_CONTROL, "no-cache");

    if conditional::not_modified(request, &etag, modified) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }

    set(&mut headers, header::CONTENT_TYPE, content_type);
    set(&mut headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(&mut headers, header::ACCEPT_RANGES, "bytes");
    let len = bytes.len() as u64;
    let range = request
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| conditional::range_applies(request, modified))
        .map_or(RangeAnswer::Whole, |r| range::answer(r, len));
    match range {
        RangeAnswer::Whole => (StatusCode::OK, headers, bytes).into_response(),
        RangeAnswer::Part(part) => {
            let content_range = format!("bytes {}-{}/{len}", part.start(), part.end());
            set(&mut headers, header::CONTENT_RANGE, &content_range);
            let body = bytes.slice(*part.start() as usize..=*part.end() as usize);
            (StatusCode::PARTIAL_CONTENT, headers, body).into_response()
        }
        RangeAnswer::Unsatisfiable => {
            set(
                &mut headers,
                header::CONTENT_RANGE,
                &format!("bytes */{len}"),
            );
            headers.remove(header::CONTENT_TYPE);
            (StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response()
        }
    }
}

async fn has_file(state: &AppState, file: &str) -> bool {
    matches!(state.site.find(file).await, Ok(Found::File(_)))
}

/// 404, with the site's `404.html` if it has one (it names its server too).
async fn not_found(state: &AppState, uri: &Uri) -> Response {
    if let Ok(Found::File(page)) = state.site.find(NOT_FOUND_PAGE).await {
        let body = fill_in(&page.bytes, state.instance.id());
        let headers = [
            (header::CONTENT_TYPE, content_type::for_path(NOT_FOUND_PAGE)),
            (header::CACHE_CONTROL, "no-store"),
        ];
        return (StatusCode::NOT_FOUND, headers, body).into_response();
    }
    plain(
        StatusCode::NOT_FOUND,
        format!("{} was not found here", uri.path()),
    )
}

/// A short plain-text error: `404 Not Found: /nope was not found here`.
fn plain(status: StatusCode, message: String) -> Response {
    let text = format!("{status}: {message}\n");
    let headers = [
        (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    (status, headers, text).into_response()
}

/// `html` with every [`PLACEHOLDER`] replaced by the (HTML-escaped) instance id.
fn fill_in(html: &Bytes, instance_id: &str) -> Bytes {
    let Ok(text) = std::str::from_utf8(html) else {
        return html.clone(); // not UTF-8: leave it alone
    };
    if !text.contains(PLACEHOLDER) {
        return html.clone();
    }
    let escaped = instance_id
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    Bytes::from(text.replace(PLACEHOLDER, &escaped))
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    // Our values are ASCII we built ourselves; a failure would be a bug, so skip the header.
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_in_escapes_and_replaces_every_placeholder() {
        let html = Bytes::from_static(b"<b>{{instance_id}}</b> and {{instance_id}}");
        assert_eq!(fill_in(&html, "a<b"), "<b>a&lt;b</b> and a&lt;b");
        let plain = Bytes::from_static(b"no placeholder");
        assert_eq!(fill_in(&plain, "x"), "no placeholder");
    }
}
