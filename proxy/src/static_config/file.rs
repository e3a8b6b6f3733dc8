//! The static configuration file: Traefik's `traefik.yaml` (or `.yml`, `.toml`), read as flags.
//!
//! The file holds what the flags hold, in Traefik's camelCase tree. Each value is flattened to
//! the dotted key of its flag (`entryPoints: {web: {address: ":80"}}` is
//! `--entrypoints.web.address=:80`) and goes through the flags' own parser ([`super::flags`]), so
//! a key means the same in both places and an unknown key gets the same error, naming the file,
//! the key as written and its line.
//!
//! Flattening:
//! - a list of plain values becomes the comma list the flag takes (`trustedIPs: [a, b]` is
//!   `a,b`); a list of mappings gets indexed keys (`domains[0].main`), as Traefik's flags do;
//! - a section that is itself a switch (`api`, `ping`, `accessLog`, `providers.docker`,
//!   `metrics.prometheus`...) is turned on by being there, even empty (`ping: {}`), as in Traefik.
//!
//! Where the file comes from is [`locate`]: `--configFile`, else Traefik's default places.

use std::path::{Path, PathBuf};

use super::{keys, CliError};

/// One value read from the file, under its flag's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSetting {
    /// The key as written, dotted (`entryPoints.web.address`); errors name it so.
    pub written: String,
    pub value: String,
    /// The line the key is on (1-based), when it could be found in the text.
    pub line: Option<usize>,
}

/// What a dotted key (lower case) is in the flags' table, as flattening needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyShape {
    /// An on/off flag that a section turns on by being there (`ping`, `providers.docker`).
    Switch,
    /// A prefix of known keys (`log`, `entryPoints.web`): an empty one sets nothing.
    Section,
    /// A value, or no key at all.
    Other,
}

/// The parsed file, before its keys are checked.
#[derive(Debug)]
enum Tree {
    Map(Vec<(String, Tree)>),
    List(Vec<Tree>),
    Scalar(String),
    /// `ping:` with nothing after it (YAML's null).
    Empty,
}

/// A configuration file read for the flags' parser: its settings, and where each key is, to
/// place the parser's errors.
pub(crate) struct Loaded {
    shown: String,
    settings: Vec<FileSetting>,
}

impl Loaded {
    /// Reads `path`; every key must be a flag's ([`keys::KEYS`]).
    pub(crate) fn read(path: &Path) -> Result<Loaded, CliError> {
        let settings = load(path, key_shape).map_err(CliError::ConfigFile)?;
        let file = Loaded {
            shown: path.display().to_string(),
            settings,
        };
        for s in &file.settings {
            let key = s.written.to_ascii_lowercase();
            if key == "configfile" {
                return Err(file.place(CliError::BadValue {
                    flag: s.written.clone(),
                    value: s.value.clone(),
                    reason: "a configuration file cannot name another; pass --configFile on the command line".into(),
                }));
            }
            if !keys::is_key(&key) {
                return Err(file.place(CliError::UnknownKey(s.written.clone())));
            }
        }
        Ok(file)
    }

    /// `(key, value, key as written)`, as the flags' parser takes them.
    pub(crate) fn settings(&self) -> Vec<(String, String, String)> {
        self.settings
            .iter()
            .map(|s| {
                let key = s.written.to_ascii_lowercase();
                (key, s.value.clone(), s.written.clone())
            })
            .collect()
    }

    /// `error`, about a setting of this file, with the file's name and the key's line.
    pub(crate) fn place(&self, error: CliError) -> CliError {
        let written = match &error {
            CliError::BadValue { flag, .. } | CliError::MissingValue { flag } => Some(flag),
            CliError::UnknownKey(k) => Some(k),
            _ => None,
        };
        let line = written
            .and_then(|w| self.settings.iter().find(|s| &s.written == w))
            .and_then(|s| s.line);
        CliError::InFile {
            file: self.shown.clone(),
            line,
            error: Box::new(error),
        }
    }
}

/// What `key` (lower case) is in the flags' table: an on/off switch like `ping`, a section like
/// `log` (a prefix of keys), or else a value or nothing known.
fn key_shape(key: &str) -> KeyShape {
    if keys::is_switch(key) {
        return KeyShape::Switch;
    }
    let pattern = match key.strip_prefix("entrypoints.") {
        Some(rest) => match rest.split_once('.') {
            Some((_, tail)) => format!("entrypoints.*.{tail}"),
            None => "entrypoints.*".into(),
        },
        None => key.to_string(),
    };
    let section = format!("{pattern}.");
    if keys::KEYS.iter().any(|(k, _)| k.starts_with(&section)) {
        KeyShape::Section
    } else {
        KeyShape::Other
    }
}

/// Where Traefik looks for `traefik.{toml,yaml,yml}` when no `--configFile` is given, in order:
/// `/etc/traefik/`, `$XDG_CONFIG_HOME/`, `$HOME/.config/`, the working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub dirs: Vec<PathBuf>,
}

impl Search {
    /// Traefik's places, from this process's environment (an unset variable is skipped).
    pub fn traefik() -> Search {
        let mut dirs = vec![PathBuf::from("/etc/traefik")];
        if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
            dirs.push(PathBuf::from(x));
        }
        if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            dirs.push(PathBuf::from(h).join(".config"));
        }
        dirs.push(PathBuf::from("."));
        Search { dirs }
    }

    /// Nowhere: only `--configFile` names a file (tests).
    pub fn nowhere() -> Search {
        Search { dirs: Vec::new() }
    }
}

/// The file to read: `explicit` (`--configFile`), which must exist, else the first of
/// `traefik.toml`, `traefik.yaml`, `traefik.yml` in the [`Search`] places, else none.
pub fn locate(explicit: Option<&str>, search: &Search) -> Result<Option<PathBuf>, String> {
    if let Some(name) = explicit.filter(|n| !n.trim().is_empty()) {
        let path = PathBuf::from(name);
        return if path.is_file() {
            Ok(Some(path))
        } else {
            Err(format!(
                "configuration file `{name}` not found (a relative path starts from the working directory, {})",
                std::env::current_dir().map_or_else(|_| "unknown".into(), |d| d.display().to_string())
            ))
        };
    }
    for dir in &search.dirs {
        for ext in ["toml", "yaml", "yml"] {
            let path = dir.join(format!("traefik.{ext}"));
            if path.is_file() {
                return Ok(Some(path));
            }
        }
    }
    Ok(None)
}

/// Reads and flattens the file at `path`; `shape` tells what each key is.
/// The error names the file.
pub fn load(path: &Path, shape: impl Fn(&str) -> KeyShape) -> Result<Vec<FileSetting>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    let toml = match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("toml") => true,
        Some(e) if e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml") => false,
        _ => {
            return Err(format!(
                "{shown}: name the file .yaml, .yml or .toml, so its format is known"
            ))
        }
    };
    flatten(&text, toml, shape).map_err(|e| format!("{shown}: {e}"))
}

/// The settings in `text` (TOML when `toml`, else YAML), in the file's order.
pub fn flatten(
    text: &str,
    toml: bool,
    shape: impl Fn(&str) -> KeyShape,
) -> Result<Vec<FileSetting>, String> {
    let tree = if toml {
        let t: toml::Table = toml::from_str(text)
            .map_err(|e| format!("TOML error: {}", e.to_string().trim_end()))?;
        from_toml(toml::Value::Table(t))
    } else {
        let y: serde_norway::Value =
            serde_norway::from_str(text).map_err(|e| format!("YAML error: {e}"))?;
        from_yaml(y)?
    };
    let top = match tree {
        Tree::Map(m) => m,
        Tree::Empty => Vec::new(),
        _ => return Err("the file must be a mapping, like `entryPoints:` and `providers:`".into()),
    };
    let mut out = Vec::new();
    for (k, v) in top {
        walk(k, v, &shape, &mut out);
    }
    for s in &mut out {
        s.line = line_of(text, &s.written);
    }
    Ok(out)
}

fn walk(path: String, tree: Tree, shape: &impl Fn(&str) -> KeyShape, out: &mut Vec<FileSetting>) {
    let kind = shape(&path.to_ascii_lowercase());
    let mut push = |written: String, value: String| {
        out.push(FileSetting {
            written,
            value,
            line: None,
        })
    };
    match tree {
        Tree::Scalar(s) => push(path, s),
        // `ping:` or `ping: {}`: on. `log: {}`: nothing. Anything else empty is looked at as a
        // value (an unknown key is then refused, a value key told it has none).
        Tree::Empty => match kind {
            KeyShape::Switch => push(path, "true".into()),
            KeyShape::Section => {}
            KeyShape::Other => push(path, String::new()),
        },
        Tree::Map(children) if children.is_empty() => walk(path, Tree::Empty, shape, out),
        Tree::List(items) if items.iter().all(|i| matches!(i, Tree::Scalar(_))) => {
            let values: Vec<String> = items
                .into_iter()
                .filter_map(|i| match i {
                    Tree::Scalar(s) => Some(s),
                    _ => None,
                })
                .collect();
            push(path, values.join(","))
        }
        Tree::List(items) => {
            for (i, item) in items.into_iter().enumerate() {
                walk(format!("{path}[{i}]"), item, shape, out);
            }
        }
        Tree::Map(children) => {
            if kind == KeyShape::Switch {
                push(path.clone(), "true".into());
            }
            for (k, v) in children {
                walk(format!("{path}.{k}"), v, shape, out);
            }
        }
    }
}

fn from_yaml(v: serde_norway::Value) -> Result<Tree, String> {
    use serde_norway::Value as Y;
    Ok(match v {
        Y::Null => Tree::Empty,
        Y::Bool(b) => Tree::Scalar(b.to_string()),
        Y::Number(n) => Tree::Scalar(n.to_string()),
        Y::String(s) => Tree::Scalar(s),
        Y::Sequence(s) => Tree::List(s.into_iter().map(from_yaml).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut out = Vec::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("a key must be a name, found {other:?}")),
                };
                out.push((key, from_yaml(v)?));
            }
            Tree::Map(out)
        }
        Y::Tagged(t) => from_yaml(t.value)?,
    })
}

fn from_toml(v: toml::Value) -> Tree {
    use toml::Value as T;
    match v {
        T::String(s) => Tree::Scalar(s),
        T::Integer(i) => Tree::Scalar(i.to_string()),
        T::Float(f) => Tree::Scalar(f.to_string()),
        T::Boolean(b) => Tree::Scalar(b.to_string()),
        T::Datetime(d) => Tree::Scalar(d.to_string()),
        T::Array(a) => Tree::List(a.into_iter().map(from_toml).collect()),
        T::Table(t) => Tree::Map(t.into_iter().map(|(k, v)| (k, from_toml(v))).collect()),
    }
}

/// The line of the key `written` (`entryPoints.web.address`): each segment is looked for, as a
/// whole word outside comments, after the previous one. Good for both formats' usual layouts
/// (YAML blocks or flow mappings, TOML tables or dotted keys); `None` when a segment is not found.
fn line_of(text: &str, written: &str) -> Option<usize> {
    let mut from = 0;
    let mut at = None;
    for segment in written.split('.') {
        let segment = segment.split('[').next().unwrap_or(segment);
        let found = text[from..]
            .match_indices(segment)
            .map(|(i, _)| from + i)
            .find(|&i| {
                let word =
                    |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
                let line_start = text[..i].rfind('\n').map_or(0, |n| n + 1);
                !word(i.checked_sub(1).and_then(|p| text.as_bytes().get(p)))
                    && !word(text.as_bytes().get(i + segment.len()))
                    && !text[line_start..i].contains('#')
            })?;
        from = found + segment.len();
        at = Some(found);
    }
    at.map(|i| text[..i].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch(key: &str) -> KeyShape {
        let switches = [
            "api",
            "ping",
            "accesslog",
            "providers.docker",
            "metrics.prometheus",
        ];
        if switches.contains(&key) {
            KeyShape::Switch
        } else if ["log", "metrics", "entrypoints.web"].contains(&key) {
            KeyShape::Section
        } else {
            KeyShape::Other
        }
    }

    fn pairs(text: &str, toml: bool) -> Vec<(String, String)> {
        flatten(text, toml, switch)
            .unwrap()
            .into_iter()
            .map(|s| (s.written, s.value))
            .collect()
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    /// The 2023 edition's file: nested mappings, switches turned on by their section, and keys
    /// under `entryPoints.X.http` flattened like any other.
    #[test]
    fn flattens_the_2023_labs_file() {
        let text = r#"
providers:
  docker:
    exposedByDefault: false
  file:
    filename: /etc/traefik/dynamic.yaml
entryPoints:
  http:
    address: ":80"
    http:
      redirections:
        entryPoint:
          to: https
          scheme: https
  https:
    address: ":443"
api:
  dashboard: true
  insecure: true
ping: {}
accessLog:
log: {}
metrics:
unknown: {}
"#;
        assert_eq!(
            pairs(text, false),
            vec![
                p("providers.docker", "true"),
                p("providers.docker.exposedByDefault", "false"),
                p("providers.file.filename", "/etc/traefik/dynamic.yaml"),
                p("entryPoints.http.address", ":80"),
                p("entryPoints.http.http.redirections.entryPoint.to", "https"),
                p(
                    "entryPoints.http.http.redirections.entryPoint.scheme",
                    "https"
                ),
                p("entryPoints.https.address", ":443"),
                p("api", "true"),
                p("api.dashboard", "true"),
                p("api.insecure", "true"),
                p("ping", "true"),
                p("accessLog", "true"),
                p("unknown", ""),
            ]
        );
    }

    #[test]
    fn lists_become_the_flags_comma_lists() {
        let text = "entryPoints:\n  web:\n    forwardedHeaders:\n      trustedIPs: [\"10.0.0.0/8\", 127.0.0.1]\n    http:\n      tls:\n        domains:\n          - main: a.ch\n";
        assert_eq!(
            pairs(text, false),
            vec![
                p(
                    "entryPoints.web.forwardedHeaders.trustedIPs",
                    "10.0.0.0/8,127.0.0.1"
                ),
                p("entryPoints.web.http.tls.domains[0].main", "a.ch"),
            ]
        );
    }

    #[test]
    fn toml_reads_the_same() {
        let text = "[entryPoints.web]\naddress = \":80\"\n\n[entryPoints.web.forwardedHeaders]\ntrustedIPs = [\"10.0.0.0/8\"]\n\n[api]\ninsecure = true\n\n[metrics.prometheus]\n\n[log]\nlevel = \"DEBUG\"\n";
        let mut got = pairs(text, true);
        got.sort();
        assert_eq!(
            got,
            vec![
                p("api", "true"),
                p("api.insecure", "true"),
                p("entryPoints.web.address", ":80"),
                p("entryPoints.web.forwardedHeaders.trustedIPs", "10.0.0.0/8"),
                p("log.level", "DEBUG"),
                p("metrics.prometheus", "true"),
            ]
        );
    }

    #[test]
    fn lines_are_found_in_both_layouts() {
        let yaml = "# entryPoints: a comment\nentryPoints:\n  web:\n    address: \":80\"\n  websecure: {address: \":443\"}\n";
        let s = flatten(yaml, false, switch).unwrap();
        assert_eq!(s[0].written, "entryPoints.web.address");
        assert_eq!(s[0].line, Some(4));
        assert_eq!(s[1].line, Some(5));
        let toml = "[log]\nlevel = \"info\"\n\n[entryPoints.web]\naddress = \":80\"\n";
        let s = flatten(toml, true, switch).unwrap();
        let addr = s
            .iter()
            .find(|s| s.written == "entryPoints.web.address")
            .unwrap();
        assert_eq!(addr.line, Some(5));
    }

    #[test]
    fn syntax_errors_and_odd_shapes_are_refused() {
        assert!(flatten("a: [", false, switch)
            .unwrap_err()
            .contains("YAML error"));
        assert!(flatten("a = ", true, switch)
            .unwrap_err()
            .contains("TOML error"));
        assert!(flatten("- a\n- b\n", false, switch)
            .unwrap_err()
            .contains("must be a mapping"));
        assert!(flatten("", false, switch).unwrap().is_empty());
    }

    #[test]
    fn locate_follows_traefiks_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let search = Search {
            dirs: vec![a.clone(), b.clone()],
        };
        assert_eq!(locate(None, &search).unwrap(), None);
        std::fs::write(b.join("traefik.yml"), "").unwrap();
        assert_eq!(locate(None, &search).unwrap(), Some(b.join("traefik.yml")));
        std::fs::write(b.join("traefik.toml"), "").unwrap();
        assert_eq!(locate(None, &search).unwrap(), Some(b.join("traefik.toml")));
        std::fs::write(a.join("traefik.yaml"), "").unwrap();
        assert_eq!(locate(None, &search).unwrap(), Some(a.join("traefik.yaml")));
        // An explicit file wins, and must exist.
        let own = dir.path().join("own.yaml");
        std::fs::write(&own, "").unwrap();
        let own_s = own.to_str().unwrap();
        assert_eq!(locate(Some(own_s), &search).unwrap(), Some(own.clone()));
        let e = locate(Some("/nonexistent/traefik.yaml"), &search).unwrap_err();
        assert!(e.contains("not found"), "{e}");
        assert!(load(&dir.path().join("a/traefik.yaml"), switch)
            .unwrap()
            .is_empty());
        std::fs::write(dir.path().join("x.json"), "{}").unwrap();
        assert!(load(&dir.path().join("x.json"), switch)
            .unwrap_err()
            .contains(".yaml, .yml or .toml"));
    }
}
