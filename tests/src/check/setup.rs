//! The student's set-up, described once: `lab.toml` in their repository, overridden by
//! `lab check`'s flags. Which host the routers match, the API's prefix, the compose project and
//! service names, and which service is sticky (the 2021 lab: the static site; the 2023-24
//! edition: the API, with round robin on the site).
//!
//! Parsing is pure and unit-tested: [`LabFile::parse`] reads the file, [`Setup::resolve`]
//! applies the precedence (flag > file > edition's default) and validates the result.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::local::Kind;

/// Which statement of the lab the stack answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Edition {
    /// The reference report's lab: the static site is sticky, the API round robin.
    #[default]
    E2021,
    /// The 2023-24 edition: the API is sticky (its state lives in each instance), the static
    /// site round robin.
    E2023,
}

impl Edition {
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim() {
            "2021" | "2021-22" | "2022" => Ok(Edition::E2021),
            "2023" | "2023-24" | "2024" => Ok(Edition::E2023),
            other => {
                bail!("unknown edition `{other}`: use 2021 (sticky site) or 2023 (sticky API)")
            }
        }
    }

    pub fn year(self) -> u16 {
        match self {
            Edition::E2021 => 2021,
            Edition::E2023 => 2023,
        }
    }

    /// The host the edition's statement routes: `demo.res.ch` in 2021, `localhost` in 2023.
    pub fn host(self) -> &'static str {
        match self {
            Edition::E2021 => crate::docker::HOST,
            Edition::E2023 => "localhost",
        }
    }

    /// The API router's prefix: the report's `/api/jokes/`, the 2023 statement's `/api`.
    pub fn api_prefix(self) -> &'static str {
        match self {
            Edition::E2021 => crate::routes::API_PREFIX,
            Edition::E2023 => "/api/",
        }
    }

    /// The API's compose service: the report's `dynamic`, the 2023 stack's `api`.
    pub fn api_service(self) -> &'static str {
        match self {
            Edition::E2021 => "dynamic",
            Edition::E2023 => "api",
        }
    }

    /// The service the edition makes sticky; the other one is round robin.
    pub fn sticky(self) -> Kind {
        match self {
            Edition::E2021 => Kind::Static,
            Edition::E2023 => Kind::Dynamic,
        }
    }
}

impl<'de> Deserialize<'de> for Edition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            S(String),
        }
        let s = match Raw::deserialize(d)? {
            Raw::N(n) => n.to_string(),
            Raw::S(s) => s,
        };
        Edition::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// `lab.toml` as written; every key optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabFile {
    pub edition: Option<Edition>,
    pub host: Option<String>,
    pub api_prefix: Option<String>,
    /// The proxy's web entrypoint as published (`http://127.0.0.1:80`).
    pub url: Option<String>,
    /// The proxy's API (ours or Traefik's), if published.
    pub api_url: Option<String>,
    /// The plain HTTP entrypoint that redirects to HTTPS (2023), when `url` is the HTTPS one.
    pub http_url: Option<String>,
    /// The CA certificate (PEM) that signed the proxy's HTTPS certificate; relative to lab.toml.
    pub cacert: Option<PathBuf>,
    #[serde(default)]
    pub compose: ComposeSection,
    #[serde(default)]
    pub sticky: StickySection,
    #[serde(default)]
    pub crud: CrudSection,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeSection {
    pub project: Option<String>,
    /// Relative to the `lab.toml` it is written in.
    pub file: Option<PathBuf>,
    pub static_service: Option<String>,
    pub api_service: Option<String>,
    pub proxy_service: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StickySection {
    /// `static` or `api` (the roles), or one of the two compose service names.
    pub service: Option<String>,
    /// The cookie's name; otherwise the first `Set-Cookie` of the sticky service.
    pub cookie: Option<String>,
    /// The assignment asks for a cookie scoped to its router's path: a cookie sent to the
    /// other service is then a failure, not an observation.
    pub scoped: Option<bool>,
}

/// The 2023 edition's CRUD API, for the `crud-api` check: where its collection is, and what to
/// send to create and to update one item. Default: the kit's jokes API.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrudSection {
    /// The collection through the proxy: `/api/jokes` (POST creates, GET lists).
    pub path: Option<String>,
    /// A JSON object that creates one item: `{"setup": "...", "punchline": "..."}`. Each
    /// `{unique}` in it becomes a value unique to the request, to tell the item apart.
    pub create: Option<String>,
    /// A JSON object that replaces it (PUT).
    pub update: Option<String>,
}

/// The CRUD check's requests, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Crud {
    pub path: String,
    pub create: String,
    pub update: String,
    /// Whether lab.toml described the API (else these are the kit's jokes API defaults).
    pub configured: bool,
}

impl Crud {
    fn resolve(section: &CrudSection, api_prefix: &str) -> Result<Self> {
        let path = section
            .path
            .clone()
            .unwrap_or_else(|| format!("{api_prefix}jokes"));
        let create = section.create.clone().unwrap_or_else(|| {
            r#"{"setup": "Why did lab check write joke {unique}?", "punchline": "To see where it goes."}"#
                .into()
        });
        let update = section.update.clone().unwrap_or_else(|| {
            r#"{"setup": "Why did lab check write joke {unique}?", "punchline": "To see it stay."}"#.into()
        });
        for (key, body) in [("create", &create), ("update", &update)] {
            let parsed: serde_json::Value = serde_json::from_str(body)
                .map_err(|e| anyhow::anyhow!("[crud] {key} is not JSON ({e}): {body}"))?;
            if !parsed.is_object() {
                bail!("[crud] {key} must be a JSON object, like {{\"name\": \"x\"}}: {body}");
            }
        }
        if !path.starts_with('/') {
            bail!("[crud] path `{path}` must start with /, like /api/jokes");
        }
        Ok(Crud {
            path: path.trim_end_matches('/').to_string(),
            create,
            update,
            configured: section != &CrudSection::default(),
        })
    }
}

impl LabFile {
    pub fn parse(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))
    }

    /// Reads `path`; relative paths in it are made relative to its directory.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut file = Self::parse(&text).with_context(|| {
            format!(
                "{} is not a valid lab.toml (keys: edition, host, api_prefix, url, api_url, \
                 http_url, cacert, [compose] project/file/static_service/api_service/\
                 proxy_service, [sticky] service/cookie/scoped, [crud] path/create/update)",
                path.display()
            )
        })?;
        if let Some(dir) = path.parent() {
            for f in [&mut file.compose.file, &mut file.cacert]
                .into_iter()
                .flatten()
            {
                if f.is_relative() {
                    *f = dir.join(&*f);
                }
            }
        }
        Ok(file)
    }
}

/// What the flags say; `None`: not given.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub edition: Option<Edition>,
    pub host: Option<String>,
    pub api_prefix: Option<String>,
    pub url: Option<String>,
    pub api_url: Option<String>,
    pub project: Option<String>,
    pub compose_file: Option<PathBuf>,
    pub http_url: Option<String>,
    pub cacert: Option<PathBuf>,
}

/// The resolved set-up every check reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub edition: Edition,
    pub host: String,
    /// Starts and ends with `/`: `/api/jokes/`.
    pub api_prefix: String,
    pub url: Option<String>,
    pub api_url: Option<String>,
    /// The plain HTTP entrypoint that must redirect to HTTPS (the 2023 edition).
    pub http_url: Option<String>,
    /// The CA that signed the proxy's certificate: HTTPS is verified against it.
    pub cacert: Option<PathBuf>,
    pub project: Option<String>,
    pub compose_file: Option<PathBuf>,
    pub static_service: String,
    pub api_service: String,
    pub proxy_service: String,
    /// Which role is sticky; the other is round robin.
    pub sticky: Kind,
    pub cookie: Option<String>,
    pub scoped_cookie: bool,
    pub crud: Crud,
}

impl Default for Setup {
    /// The kit's own stack: the report's compose file.
    fn default() -> Self {
        Setup::resolve(&LabFile::default(), &Flags::default()).expect("the defaults are valid")
    }
}

impl Setup {
    /// Flags over the file over the edition's defaults; then validated.
    pub fn resolve(file: &LabFile, flags: &Flags) -> Result<Self> {
        let edition = flags.edition.or(file.edition).unwrap_or_default();
        let static_service = file
            .compose
            .static_service
            .clone()
            .unwrap_or_else(|| "static".into());
        let api_service = file
            .compose
            .api_service
            .clone()
            .unwrap_or_else(|| edition.api_service().into());
        let sticky = match file.sticky.service.as_deref() {
            None => edition.sticky(),
            Some(s) if s == static_service => Kind::Static,
            Some(s) if s == api_service => Kind::Dynamic,
            Some(s) => Kind::parse(s).map_err(|_| {
                anyhow::anyhow!(
                    "[sticky] service = \"{s}\": use \"static\" or \"api\", or a compose service \
                     name (`{static_service}` or `{api_service}`)"
                )
            })?,
        };
        let mut api_prefix = flags
            .api_prefix
            .clone()
            .or_else(|| file.api_prefix.clone())
            .unwrap_or_else(|| edition.api_prefix().into());
        if !api_prefix.ends_with('/') {
            api_prefix.push('/');
        }
        let setup = Setup {
            edition,
            host: flags
                .host
                .clone()
                .or_else(|| file.host.clone())
                .unwrap_or_else(|| edition.host().into()),
            crud: Crud::resolve(&file.crud, &api_prefix)?,
            api_prefix,
            url: flags.url.clone().or_else(|| file.url.clone()),
            api_url: flags.api_url.clone().or_else(|| file.api_url.clone()),
            http_url: flags.http_url.clone().or_else(|| file.http_url.clone()),
            cacert: flags.cacert.clone().or_else(|| file.cacert.clone()),
            project: flags
                .project
                .clone()
                .or_else(|| file.compose.project.clone()),
            compose_file: flags
                .compose_file
                .clone()
                .or_else(|| file.compose.file.clone()),
            static_service,
            api_service,
            proxy_service: file
                .compose
                .proxy_service
                .clone()
                .unwrap_or_else(|| "proxy".into()),
            sticky,
            cookie: file.sticky.cookie.clone().filter(|c| !c.is_empty()),
            scoped_cookie: file.sticky.scoped.unwrap_or(false),
        };
        setup.validate()
    }

    fn validate(self) -> Result<Self> {
        if self.host.is_empty() || self.host.contains(['/', ' ']) {
            bail!(
                "host `{}` is not a host name: give the name the routers match, like demo.res.ch",
                self.host
            );
        }
        if !self.api_prefix.starts_with('/') || self.api_prefix == "/" {
            bail!(
                "api_prefix `{}` must be a path below `/`, like /api/jokes/ (the API router's \
                 PathPrefix)",
                self.api_prefix
            );
        }
        if self.static_service == self.api_service {
            bail!(
                "[compose] static_service and api_service are both `{}`: the site and the API \
                 are two services",
                self.static_service
            );
        }
        for u in [&self.url, &self.api_url, &self.http_url]
            .into_iter()
            .flatten()
        {
            crate::check::client::ensure_loopback(u)?;
        }
        Ok(self)
    }

    /// The compose service that plays `kind`.
    pub fn service(&self, kind: Kind) -> &str {
        match kind {
            Kind::Static => &self.static_service,
            Kind::Dynamic => &self.api_service,
        }
    }

    /// The path a new client requests on `kind`: `/` or the API prefix.
    pub fn path(&self, kind: Kind) -> &str {
        match kind {
            Kind::Static => "/",
            Kind::Dynamic => &self.api_prefix,
        }
    }

    /// The role that is round robin.
    pub fn round_robin(&self) -> Kind {
        match self.sticky {
            Kind::Static => Kind::Dynamic,
            Kind::Dynamic => Kind::Static,
        }
    }

    /// `static (static)` / `api (dynamic)`: the role and its compose service, for evidence.
    pub fn describe(&self, kind: Kind) -> String {
        let role = match kind {
            Kind::Static => "static site",
            Kind::Dynamic => "API",
        };
        format!("{role} (service `{}`)", self.service(kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_report_stack() {
        let s = Setup::default();
        assert_eq!(s.edition, Edition::E2021);
        assert_eq!(s.host, "demo.res.ch");
        assert_eq!(s.api_prefix, "/api/jokes/");
        assert_eq!(
            (s.static_service.as_str(), s.api_service.as_str()),
            ("static", "dynamic")
        );
        assert_eq!(s.sticky, Kind::Static);
        assert_eq!(s.round_robin(), Kind::Dynamic);
        assert_eq!(s.cookie, None);
    }

    #[test]
    fn a_full_file_parses() {
        let f = LabFile::parse(
            r#"
            edition = 2023
            host = "localhost"
            api_prefix = "/api"
            url = "http://127.0.0.1:80"
            api_url = "http://127.0.0.1:8080"
            [compose]
            project = "dai"
            file = "compose.yaml"
            static_service = "web"
            api_service = "api"
            proxy_service = "traefik"
            [sticky]
            cookie = "api_cookie"
            "#,
        )
        .unwrap();
        let s = Setup::resolve(&f, &Flags::default()).unwrap();
        assert_eq!(s.edition, Edition::E2023);
        assert_eq!(s.sticky, Kind::Dynamic, "2023: the API is sticky");
        assert_eq!(s.round_robin(), Kind::Static);
        assert_eq!(s.api_prefix, "/api/", "a trailing slash is added");
        assert_eq!(s.service(Kind::Static), "web");
        assert_eq!(s.path(Kind::Dynamic), "/api/");
        assert_eq!(s.cookie.as_deref(), Some("api_cookie"));
        assert_eq!(s.project.as_deref(), Some("dai"));
    }

    #[test]
    fn the_2023_defaults_are_the_statement_s() {
        let f = LabFile::parse("edition = 2023").unwrap();
        let s = Setup::resolve(&f, &Flags::default()).unwrap();
        assert_eq!(s.host, "localhost");
        assert_eq!(s.api_prefix, "/api/");
        assert_eq!(s.api_service, "api");
        assert_eq!(s.sticky, Kind::Dynamic);
        assert_eq!(s.crud.path, "/api/jokes");
        assert!(!s.crud.configured);
    }

    #[test]
    fn https_keys_and_crud_section() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.toml");
        std::fs::write(
            &path,
            r#"
            edition = 2023
            url = "https://127.0.0.1:443"
            http_url = "http://127.0.0.1:80"
            cacert = "certs/ca.crt"
            [crud]
            path = "/api/books/"
            create = '{"title": "Dune"}'
            update = '{"title": "Dune Messiah"}'
            "#,
        )
        .unwrap();
        let f = LabFile::read(&path).unwrap();
        assert_eq!(f.cacert, Some(dir.path().join("certs/ca.crt")));
        let s = Setup::resolve(&f, &Flags::default()).unwrap();
        assert_eq!(s.http_url.as_deref(), Some("http://127.0.0.1:80"));
        assert_eq!(s.crud.path, "/api/books");
        assert!(s.crud.configured);

        let bad = LabFile::parse("[crud]\ncreate = '[1]'").unwrap();
        let e = Setup::resolve(&bad, &Flags::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("JSON object"), "{e}");
        let bad = LabFile::parse("http_url = \"http://192.0.2.1/\"").unwrap();
        assert!(
            Setup::resolve(&bad, &Flags::default()).is_err(),
            "loopback only"
        );
    }

    #[test]
    fn flags_override_the_file() {
        let f = LabFile::parse("edition = 2023\nhost = \"a.test\"\n[compose]\nproject = \"p\"")
            .unwrap();
        let flags = Flags {
            edition: Some(Edition::E2021),
            host: Some("b.test".into()),
            project: Some("q".into()),
            ..Default::default()
        };
        let s = Setup::resolve(&f, &flags).unwrap();
        assert_eq!((s.edition, s.host.as_str()), (Edition::E2021, "b.test"));
        assert_eq!(s.project.as_deref(), Some("q"));
        assert_eq!(s.sticky, Kind::Static);
    }

    #[test]
    fn sticky_service_by_role_or_by_compose_name() {
        let by_name =
            LabFile::parse("[compose]\napi_service = \"express\"\n[sticky]\nservice = \"express\"")
                .unwrap();
        assert_eq!(
            Setup::resolve(&by_name, &Flags::default()).unwrap().sticky,
            Kind::Dynamic
        );
        let by_role = LabFile::parse("edition = 2023\n[sticky]\nservice = \"static\"").unwrap();
        assert_eq!(
            Setup::resolve(&by_role, &Flags::default()).unwrap().sticky,
            Kind::Static
        );
        let bad = LabFile::parse("[sticky]\nservice = \"nginx\"").unwrap();
        let e = Setup::resolve(&bad, &Flags::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("use \"static\" or \"api\""), "{e}");
    }

    #[test]
    fn mistakes_are_named() {
        let e = LabFile::parse("hots = \"x\"").unwrap_err().to_string();
        assert!(e.contains("hots"), "{e}");
        let e = LabFile::parse("edition = 2019").unwrap_err().to_string();
        assert!(e.contains("2019"), "{e}");
        assert!(LabFile::parse("edition = \"2023-24\"").is_ok());
        let f = LabFile::parse("url = \"http://192.0.2.1/\"").unwrap();
        assert!(
            Setup::resolve(&f, &Flags::default()).is_err(),
            "loopback only"
        );
        let f = LabFile::parse("[compose]\nstatic_service = \"x\"\napi_service = \"x\"").unwrap();
        assert!(Setup::resolve(&f, &Flags::default()).is_err());
        let f = LabFile::parse("api_prefix = \"/\"").unwrap();
        assert!(Setup::resolve(&f, &Flags::default()).is_err());
    }

    #[test]
    fn compose_file_is_relative_to_lab_toml() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.toml");
        std::fs::write(&path, "[compose]\nfile = \"compose.yaml\"\n").unwrap();
        let f = LabFile::read(&path).unwrap();
        assert_eq!(f.compose.file, Some(dir.path().join("compose.yaml")));
    }
}
