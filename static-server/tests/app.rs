//! The static server driven in-process through `app()`: no sockets, no ports.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use http_body_util::BodyExt;
use lab_common::{Instance, InstanceId};
use static_server::{app, AppState, Site};
use tower::ServiceExt;

const ID: &str = "static-test-1";

fn router(site: Site) -> Router {
    let instance = Instance::new("static-server", InstanceId::detect(Some(ID)));
    app(AppState {
        instance: Arc::new(instance),
        site: Arc::new(site),
    })
}

async fn send(app: &Router, request: Request<Body>) -> Response {
    app.clone().oneshot(request).await.unwrap()
}

async fn get(app: &Router, uri: &str) -> Response {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn get_with(app: &Router, uri: &str, name: header::HeaderName, value: &str) -> Response {
    let request = Request::get(uri)
        .header(name, value)
        .body(Body::empty())
        .unwrap();
    send(app, request).await
}

async fn text(response: Response) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn served_by(response: &Response) -> &str {
    response.headers()["x-served-by"].to_str().unwrap()
}

fn header_of(response: &Response, name: header::HeaderName) -> &str {
    response.headers()[name].to_str().unwrap()
}

#[tokio::test]
async fn the_page_names_its_server() {
    let app = router(Site::Bundled);
    let response = get(&app, "/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(served_by(&response), ID);
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    let page = text(response).await;
    assert!(page.contains(&format!(r#"<code id="served-by" class="chip">{ID}</code>"#)));
    assert!(!page.contains("{{instance_id}}"), "a placeholder was left");
}

/// The same-origin URLs a page loads: `<link href>`, `<script src>`, `<img src>`, `<use href>`
/// (links to other pages, `<a href>`, are not assets).
fn assets_of(page: &str) -> Vec<String> {
    let mut assets = Vec::new();
    for (tag, attribute) in [
        ("<link ", "href=\""),
        ("<script ", "src=\""),
        ("<img ", "src=\""),
        ("<use ", "href=\""),
    ] {
        for (at, _) in page.match_indices(tag) {
            let element = &page[at..at + page[at..].find('>').unwrap()];
            let Some(start) = element.find(attribute) else {
                continue;
            };
            let value = &element[start + attribute.len()..];
            let url = &value[..value.find(['"', '#']).unwrap()];
            if url.starts_with('/') {
                assets.push(url.to_owned());
            }
        }
    }
    assets.sort();
    assets.dedup();
    assets
}

#[tokio::test]
async fn every_asset_of_the_page_is_served_and_names_the_server() {
    let app = router(Site::Bundled);
    let page = text(get(&app, "/index.html").await).await;
    let not_found_page = text(get(&app, "/missing").await).await;
    let mut assets = assets_of(&page);
    assets.extend(assets_of(&not_found_page));
    // The bundled assets are the one list of them: the pages load every one.
    for expected in static_server::site::bundled_assets() {
        assert!(assets.contains(&expected), "{expected} not in the page");
    }
    for asset in &assets {
        let response = get(&app, asset).await;
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert_eq!(served_by(&response), ID, "{asset}");
        assert!(response.headers().contains_key(header::ETAG), "{asset}");
        assert!(
            response.headers().contains_key(header::LAST_MODIFIED),
            "{asset}"
        );
    }
}

#[tokio::test]
async fn content_types() {
    let app = router(Site::Bundled);
    for (path, content_type) in [
        ("/css/site.css", "text/css; charset=utf-8"),
        ("/js/app.js", "text/javascript; charset=utf-8"),
        ("/img/logo.svg", "image/svg+xml"),
    ] {
        let response = get(&app, path).await;
        assert_eq!(header_of(&response, header::CONTENT_TYPE), content_type);
        assert_eq!(
            header_of(&response, header::X_CONTENT_TYPE_OPTIONS),
            "nosniff"
        );
    }
}

#[tokio::test]
async fn errors_name_the_server_too() {
    let app = router(Site::Bundled);

    let missing = get(&app, "/no/such/page.html").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(served_by(&missing), ID);
    assert!(
        text(missing).await.contains(ID),
        "the 404 page names its server"
    );

    let post = send(&app, Request::post("/").body(Body::empty()).unwrap()).await;
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(served_by(&post), ID);
    assert_eq!(header_of(&post, header::ALLOW), "GET, HEAD");

    let bad = get(&app, "/%2e%2e/x").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(served_by(&bad), ID);
}

#[tokio::test]
async fn whoami_shows_the_request_as_received() {
    let app = router(Site::Bundled);
    get(&app, "/").await;
    let request = Request::get("/whoami?x=1")
        .header("x-forwarded-for", "203.0.113.7")
        .body(Body::empty())
        .unwrap();
    let response = send(&app, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(served_by(&response), ID);
    assert_eq!(header_of(&response, header::CACHE_CONTROL), "no-store");
    let json: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
    assert_eq!(json["id"], ID);
    assert_eq!(json["service"], "static-server");
    assert_eq!(json["requests_served"], 2);
    assert_eq!(json["request"]["method"], "GET");
    assert_eq!(json["request"]["path"], "/whoami");
    assert_eq!(json["request"]["query"], "x=1");
    assert_eq!(
        json["request"]["headers"]["x-forwarded-for"][0],
        "203.0.113.7"
    );
    assert!(json["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(json["addresses"].is_array());
}

#[tokio::test]
async fn healthz() {
    let response = get(&router(Site::Bundled), "/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(served_by(&response), ID);
    assert_eq!(text(response).await, r#"{"status":"ok"}"#);
}

#[tokio::test]
async fn head_sends_the_headers_only() {
    let app = router(Site::Bundled);
    let get_response = get(&app, "/css/site.css").await;
    let head = send(
        &app,
        Request::head("/css/site.css").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(served_by(&head), ID);
    assert_eq!(
        head.headers()[header::ETAG],
        get_response.headers()[header::ETAG]
    );
    assert!(text(head).await.is_empty());
}

#[tokio::test]
async fn conditional_requests_get_304() {
    let app = router(Site::Bundled);
    let first = get(&app, "/js/app.js").await;
    let etag = header_of(&first, header::ETAG).to_owned();
    let date = header_of(&first, header::LAST_MODIFIED).to_owned();

    let again = get_with(&app, "/js/app.js", header::IF_NONE_MATCH, &etag).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(served_by(&again), ID);
    assert_eq!(header_of(&again, header::ETAG), etag);
    assert!(text(again).await.is_empty());

    let by_date = get_with(&app, "/js/app.js", header::IF_MODIFIED_SINCE, &date).await;
    assert_eq!(by_date.status(), StatusCode::NOT_MODIFIED);

    let changed = get_with(&app, "/js/app.js", header::IF_NONE_MATCH, "W/\"other\"").await;
    assert_eq!(changed.status(), StatusCode::OK);
}

#[tokio::test]
async fn pages_from_different_servers_have_different_etags() {
    // Sticky sessions: a page cached from one server must not be "not modified" on another.
    let one = get(&router(Site::Bundled), "/").await;
    let instance = Instance::new("static-server", InstanceId::detect(Some("other")));
    let other = app(AppState {
        instance: Arc::new(instance),
        site: Arc::new(Site::Bundled),
    });
    let etag = header_of(&one, header::ETAG);
    let response = get_with(&other, "/", header::IF_NONE_MATCH, etag).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn ranges() {
    let app = router(Site::Bundled);
    let whole = text(get(&app, "/js/app.js").await).await;

    let part = get_with(&app, "/js/app.js", header::RANGE, "bytes=0-9").await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(served_by(&part), ID);
    let content_range = format!("bytes 0-9/{}", whole.len());
    assert_eq!(header_of(&part, header::CONTENT_RANGE), content_range);
    assert_eq!(text(part).await, whole[..10]);

    let tail = get_with(&app, "/js/app.js", header::RANGE, "bytes=-5").await;
    assert_eq!(text(tail).await, whole[whole.len() - 5..]);

    let past_the_end = format!("bytes={}-", whole.len());
    let unsatisfiable = get_with(&app, "/js/app.js", header::RANGE, &past_the_end).await;
    assert_eq!(unsatisfiable.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(served_by(&unsatisfiable), ID);
    let content_range = format!("bytes */{}", whole.len());
    assert_eq!(
        header_of(&unsatisfiable, header::CONTENT_RANGE),
        content_range
    );
}

#[tokio::test]
async fn compression_when_asked_but_never_for_ranges() {
    let app = router(Site::Bundled);
    for encoding in ["gzip", "br"] {
        let response = get_with(&app, "/css/site.css", header::ACCEPT_ENCODING, encoding).await;
        assert_eq!(header_of(&response, header::CONTENT_ENCODING), encoding);
        assert_eq!(served_by(&response), ID);
    }
    let request = Request::get("/css/site.css")
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::RANGE, "bytes=0-99")
        .body(Body::empty())
        .unwrap();
    let part = send(&app, request).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert!(!part.headers().contains_key(header::CONTENT_ENCODING));
    assert_eq!(text(part).await.len(), 100);
}

#[tokio::test]
async fn traversal_attempts_never_reach_a_file_of_the_bundled_site() {
    let app = router(Site::Bundled);
    for uri in [
        "/../Cargo.toml",
        "/css/../../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/%2E%2E/%2e%2e/Cargo.toml",
        "/css%2f..%2f..%2fCargo.toml",
        "/..%5cCargo.toml",
        "/index.html%00.png",
        "/.%2e/build.rs",
    ] {
        let response = get(&app, uri).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
    }
}

/// A site on disk, with a secret *outside* it that nothing may reveal.
struct DiskSite {
    _dir: tempfile::TempDir,
    app: Router,
}

const SECRET: &str = "the secret outside the root";

fn disk_site() -> DiskSite {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("site");
    let write = |path: &Path, text: &str| std::fs::write(path, text).unwrap();
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::create_dir_all(root.join("empty")).unwrap();
    write(&dir.path().join("secret.txt"), SECRET);
    write(&root.join("index.html"), "<p>{{instance_id}}</p>");
    write(&root.join("docs/index.html"), "docs");
    write(&root.join("hello.txt"), "hello");
    write(&root.join(".env"), "PASSWORD=1");
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink(dir.path().join("secret.txt"), root.join("link-out.txt")).unwrap();
        symlink("../secret.txt", root.join("relative-link-out.txt")).unwrap();
        symlink(dir.path(), root.join("dir-out")).unwrap();
        symlink("/etc", root.join("etc")).unwrap();
        symlink("hello.txt", root.join("link-in.txt")).unwrap();
    }
    let app = router(Site::dir(&root).unwrap());
    DiskSite { _dir: dir, app }
}

#[tokio::test]
async fn a_root_on_disk_is_served() {
    let site = disk_site();
    let page = get(&site.app, "/").await;
    assert_eq!(served_by(&page), ID);
    assert_eq!(text(page).await, format!("<p>{ID}</p>"));
    assert_eq!(text(get(&site.app, "/hello.txt").await).await, "hello");
    assert_eq!(text(get(&site.app, "/docs/").await).await, "docs");

    let redirect = get(&site.app, "/docs").await;
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header_of(&redirect, header::LOCATION), "/docs/");
    assert_eq!(
        get(&site.app, "/empty").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&site.app, "/hello.txt/x").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&site.app, "/.env").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[cfg(unix)]
#[tokio::test]
async fn links_inside_the_root_work() {
    let site = disk_site();
    assert_eq!(text(get(&site.app, "/link-in.txt").await).await, "hello");
}

#[tokio::test]
async fn nothing_outside_a_root_on_disk_is_ever_served() {
    let site = disk_site();
    let mut attempts = vec![
        "/../secret.txt",
        "/docs/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%2fsecret.txt",
        "/docs%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/%2e%2e%5csecret.txt",
        "/secret.txt%00",
        "/%00/../secret.txt",
        "/%252e%252e/secret.txt",
    ];
    if cfg!(unix) {
        attempts.extend([
            "/link-out.txt",
            "/relative-link-out.txt",
            "/dir-out/secret.txt",
            "/etc/passwd",
            "/etc/hostname",
        ]);
    }
    for uri in attempts {
        let response = get(&site.app, uri).await;
        let status = response.status();
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
            "{uri} gave {status}"
        );
        assert_eq!(served_by(&response), ID);
        let body = text(response).await;
        assert!(!body.contains(SECRET), "{uri} revealed the secret");
        assert!(!body.contains("root:"), "{uri} revealed /etc/passwd");
    }
}
