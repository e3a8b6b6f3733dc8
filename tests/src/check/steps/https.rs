//! The 2023 edition's HTTPS step: the site and the API answer over HTTPS (verified against the
//! lab CA when one is given, and refused by a client that does not trust it: the browser's
//! warning), and the plain HTTP entrypoint redirects to HTTPS.

use anyhow::{anyhow, ensure, Result};

use super::common::ok;
use super::{Ctx, Outcome};
use crate::check::client::Client;
use crate::check::trust::{self, Trust};
use crate::local::Kind;

pub async fn https(ctx: &mut Ctx) -> Result<Outcome> {
    let web = ctx.web().clone();
    ensure!(
        web.is_https(),
        "the checks reach the proxy at {} over plain HTTP: the 2023 edition serves the site and \
         the API over HTTPS. Add an entrypoint on :443 with routers `tls=true` and publish it \
         (with --docker, lab check uses the published port 443; else give url = \
         \"https://127.0.0.1:443\" in lab.toml)",
        web.base()
    );
    let mut seen = Vec::new();
    for kind in Kind::ALL {
        let path = ctx.setup().path(kind).to_string();
        let s = match ctx.probe.get(&path, None).await {
            Ok(s) => s,
            Err(e) => {
                let why = trust::explain(&e).unwrap_or("");
                return Err(e.context(format!(
                    "HTTPS to the {}: {why}",
                    ctx.setup().describe(kind)
                )));
            }
        };
        ok(ctx, &s).await?;
        seen.push(format!("{path} 200 ({})", s.by()));
    }
    let trust = web.trust();
    let mut notes = vec![format!(
        "{} over HTTPS: {}; {}",
        web.base(),
        seen.join(", "),
        trust.describe()
    )];
    if trust.verifies() {
        // The same request from a client that trusts no CA: what a browser says before the
        // lab CA is imported.
        let stranger = Client::with_trust(web.base(), web.host(), Trust::Nothing)?;
        match stranger.get("/", None).await {
            Ok(a) => notes.push(format!(
                "a client that trusts no CA got {} (the certificate is from a public CA?)",
                a.status
            )),
            Err(e) => notes.push(format!(
                "a client without the lab CA refuses the connection: {}",
                trust::explain(&e).unwrap_or("certificate not trusted")
            )),
        }
    }
    Ok(Outcome::Pass(notes.join("; ")))
}

pub async fn redirect(ctx: &mut Ctx) -> Result<Outcome> {
    let Some(http_url) = ctx.setup().http_url.clone() else {
        return Ok(Outcome::Skip(
            "no plain HTTP entrypoint to check: with --docker it is the published port 80 when \
             the web entrypoint is HTTPS; else give http_url = \"http://127.0.0.1:80\" in \
             lab.toml or --http-url"
                .into(),
        ));
    };
    let host = ctx.setup().host.clone();
    let plain = Client::new(&http_url, &host)?;
    let mut seen = Vec::new();
    for kind in Kind::ALL {
        let path = ctx.setup().path(kind).to_string();
        let a = plain.get(&path, None).await?;
        let location = a
            .headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        check_redirect(&host, &path, a.status, &location)
            .map_err(|e| anyhow!("GET {http_url}{path} (Host: {host}): {e}"))?;
        seen.push(format!("{path} → {} {location}", a.status));
    }
    Ok(Outcome::Pass(format!(
        "{http_url} redirects to HTTPS: {}",
        seen.join(", ")
    )))
}

/// A redirect to the same host and path over HTTPS (any port: the published one may differ
/// from what the proxy knows).
fn check_redirect(host: &str, path: &str, status: u16, location: &str) -> Result<()> {
    ensure!(
        matches!(status, 301 | 302 | 307 | 308),
        "answered {status}, not a redirect: redirect the HTTP entrypoint to HTTPS \
         (entryPoints.web.http.redirections.entryPoint.to=websecure, scheme=https)"
    );
    let rest = location
        .strip_prefix("https://")
        .ok_or_else(|| anyhow!("redirects ({status}) to `{location}`, not to an https:// URL"))?;
    let (authority, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let named = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    ensure!(
        named.eq_ignore_ascii_case(host),
        "redirects to `{location}`: another host than {host}"
    );
    let target = if target.is_empty() { "/" } else { target };
    ensure!(
        target == path,
        "redirects to `{location}`: another path than {path}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_must_keep_host_and_path_and_go_to_https() {
        assert!(check_redirect("localhost", "/", 308, "https://localhost/").is_ok());
        assert!(check_redirect("localhost", "/", 301, "https://localhost").is_ok());
        assert!(check_redirect("localhost", "/api/", 302, "https://localhost:8443/api/").is_ok());
        let e = |status, location| {
            check_redirect("localhost", "/api/", status, location)
                .unwrap_err()
                .to_string()
        };
        assert!(e(200, "").contains("not a redirect"));
        assert!(e(308, "http://localhost/api/").contains("not to an https:// URL"));
        assert!(e(308, "https://evil.example/api/").contains("another host"));
        assert!(e(308, "https://localhost/").contains("another path"));
    }
}
