//! The table of known keys ([`KEYS`]), what kind each is, and the `--help` text drawn from it.

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Bool,
    Value,
}

/// The known keys, `*` standing for an entrypoint name, with a one-line help.
pub const KEYS: &[(&str, &str)] = &[
    (
        "configfile",
        "a static configuration file, YAML or TOML (traefik.yaml); flags and TRAEFIK_* variables are then ignored",
    ),
    (
        "entrypoints.*.address",
        "address to listen on, e.g. `:80` or `127.0.0.1:0`",
    ),
    (
        "entrypoints.*.forwardedheaders.insecure",
        "trust X-Forwarded-* from every client",
    ),
    (
        "entrypoints.*.forwardedheaders.trustedips",
        "comma-separated IPs/CIDRs whose X-Forwarded-* are kept",
    ),
    (
        "entrypoints.*.transport.respondingtimeouts.readtimeout",
        "time a client has to send its headers (10s)",
    ),
    (
        "entrypoints.*.transport.lifecycle.gracetimeout",
        "time in-flight requests get at shutdown (10s)",
    ),
    (
        "entrypoints.*.http.tls",
        "every router on this entrypoint serves TLS, as with tls=true",
    ),
    (
        "entrypoints.*.http.tls.certresolver",
        "accepted for compatibility (no ACME; certificates come from files); implies http.tls",
    ),
    (
        "entrypoints.*.http.tls.options",
        "accepted for compatibility; implies http.tls",
    ),
    (
        "entrypoints.*.http.tls.domains[n].main",
        "accepted for compatibility (ACME's certificate names; certificates come from files); implies http.tls",
    ),
    (
        "entrypoints.*.http.tls.domains[n].sans",
        "accepted for compatibility (ACME's other names, comma-separated); implies http.tls",
    ),
    (
        "entrypoints.*.http.redirections.entrypoint.to",
        "redirect every request to this entrypoint (e.g. websecure) or port (:443)",
    ),
    (
        "entrypoints.*.http.redirections.entrypoint.scheme",
        "the redirect's scheme (https)",
    ),
    (
        "entrypoints.*.http.redirections.entrypoint.permanent",
        "301/308 when true (the default), 302/307 when false",
    ),
    (
        "entrypoints.*.http.redirections.entrypoint.priority",
        "accepted for compatibility; the redirect comes before every router",
    ),
    (
        "api",
        "enable the API (with --api.insecure, on the `traefik` entrypoint, :8080)",
    ),
    (
        "api.insecure",
        "serve the API and dashboard on the `traefik` entrypoint",
    ),
    ("api.dashboard", "serve the dashboard with the API (true)"),
    ("api.debug", "accepted for compatibility; no effect"),
    (
        "api.manage",
        "serve the management UI at /manage/ (needs a token, --api.insecure, --providers.docker)",
    ),
    (
        "api.manage.token",
        "the management UI's token (non-empty: UI on); or the LAB_MANAGE_TOKEN environment variable",
    ),
    (
        "api.manage.tokenfile",
        "read the management UI's token from a file",
    ),
    (
        "providers.file.filename",
        "a YAML or TOML file of dynamic configuration",
    ),
    ("providers.file.directory", "a directory of such files"),
    (
        "providers.file.watch",
        "reload the file(s) when they change",
    ),
    ("providers.docker", "enable the Docker provider"),
    (
        "providers.docker.endpoint",
        "Docker engine endpoint (unix:///var/run/docker.sock)",
    ),
    (
        "providers.docker.exposedbydefault",
        "route containers without traefik.enable=true (true)",
    ),
    (
        "providers.docker.network",
        "network used to reach containers",
    ),
    (
        "providers.docker.watch",
        "accepted for compatibility; always watching",
    ),
    (
        "providers.docker.swarmmode",
        "Traefik v2's swarm mode: the Docker flags read Swarm services (as --providers.swarm)",
    ),
    (
        "providers.docker.swarmmoderefreshseconds",
        "with swarmMode: poll at least this often (15s)",
    ),
    ("providers.swarm", "enable the Swarm provider (services' deploy.labels)"),
    (
        "providers.swarm.endpoint",
        "a Swarm manager's engine (unix:///var/run/docker.sock)",
    ),
    (
        "providers.swarm.exposedbydefault",
        "route services without traefik.enable=true (true)",
    ),
    ("providers.swarm.network", "network used to reach the tasks"),
    (
        "providers.swarm.refreshseconds",
        "poll at least this often (15s; changes are followed from events anyway)",
    ),
    (
        "providers.swarm.defaultrule",
        "rule of routers without one (Host(`{{ normalize .Name }}`))",
    ),
    (
        "providers.swarm.watch",
        "accepted for compatibility; always watching",
    ),
    (
        "providers.providersthrottleduration",
        "accepted for compatibility; changes apply at once",
    ),
    (
        "core.defaultrulesyntax",
        "the rule syntax of routers without ruleSyntax: v3 (the default) or v2",
    ),
    ("log.level", "error, warn, info, debug or trace (info)"),
    ("accesslog", "one line per request on stdout"),
    ("metrics.prometheus", "serve /metrics on the API entrypoint"),
    ("ping", "serve /ping on the API entrypoint"),
    (
        "serverstransport.forwardingtimeouts.responseheadertimeout",
        "504 when a server sends no response headers within this time (30s)",
    ),
    (
        "serverstransport.forwardingtimeouts.dialtimeout",
        "502 when a server does not accept a connection within this time (5s)",
    ),
    (
        "serverstransport.forwardingtimeouts.idleconntimeout",
        "how long idle connections to servers are kept (90s)",
    ),
    (
        "global.checknewversion",
        "accepted for compatibility; no effect",
    ),
    (
        "global.sendanonymoususage",
        "accepted for compatibility; no effect",
    ),
];

pub(super) fn kind_of(key: &str) -> Option<Kind> {
    const BOOLS: &[&str] = &[
        "entrypoints.*.forwardedheaders.insecure",
        "entrypoints.*.http.tls",
        "entrypoints.*.http.redirections.entrypoint.permanent",
        "api",
        "api.insecure",
        "api.dashboard",
        "api.debug",
        "api.manage",
        "providers.file.watch",
        "providers.docker",
        "providers.docker.exposedbydefault",
        "providers.docker.watch",
        "providers.docker.swarmmode",
        "providers.swarm",
        "providers.swarm.exposedbydefault",
        "providers.swarm.watch",
        "accesslog",
        "metrics.prometheus",
        "ping",
        "global.checknewversion",
        "global.sendanonymoususage",
    ];
    let pattern = pattern_of(key)?;
    Some(if BOOLS.contains(&pattern.as_str()) {
        Kind::Bool
    } else {
        Kind::Value
    })
}

/// Whether `key` (lower case) is an on/off switch, like `--ping` or `--providers.docker`.
pub(crate) fn is_switch(key: &str) -> bool {
    kind_of(key) == Some(Kind::Bool)
}

/// Whether `key` (lower case) is one of [`KEYS`].
pub(crate) fn is_key(key: &str) -> bool {
    pattern_of(key).is_some()
}

/// ` (did you mean `--api.insecure`?)` for a flag, variable or file key close to a known key,
/// written the same way; else nothing.
pub(super) fn did_you_mean(written: &str) -> String {
    let (prefix, key) = if let Some(k) = written.strip_prefix("--") {
        ("--", k.to_ascii_lowercase())
    } else if let Some(v) = written.strip_prefix("TRAEFIK_") {
        let v = v.split(' ').next().unwrap_or(v);
        ("TRAEFIK_", v.to_ascii_lowercase().replace('_', "."))
    } else {
        ("", written.to_ascii_lowercase())
    };
    let name = key
        .strip_prefix("entrypoints.")
        .and_then(|r| r.split_once('.'))
        .map(|(n, _)| n);
    let known = KEYS
        .iter()
        .map(|(k, _)| k.replace('*', name.unwrap_or("*")));
    match crate::parse::closest(&key, known) {
        Some(k) if prefix == "TRAEFIK_" => format!(
            " (did you mean `TRAEFIK_{}`?)",
            k.replace('.', "_").to_ascii_uppercase()
        ),
        Some(k) => format!(" (did you mean `{prefix}{k}`?)"),
        None => String::new(),
    }
}

/// The table pattern a key matches (`entrypoints.web.address` -> `entrypoints.*.address`; an
/// index, `domains[0]` or the environment's `domains.0`, -> `domains[n]`).
pub(super) fn pattern_of(key: &str) -> Option<String> {
    let pattern = match key.strip_prefix("entrypoints.") {
        Some(rest) => {
            let (name, tail) = rest.split_once('.')?;
            if name.is_empty() {
                return None;
            }
            format!("entrypoints.*.{}", indexes_as_n(tail))
        }
        None => key.to_string(),
    };
    KEYS.iter().any(|(k, _)| *k == pattern).then_some(pattern)
}

/// `tls.domains[0].main` and `tls.domains.0.main` -> `tls.domains[n].main`.
fn indexes_as_n(tail: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for segment in tail.split('.') {
        let index = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match segment.split_once('[') {
            Some((word, rest)) if rest.strip_suffix(']').is_some_and(index) => {
                out.push(format!("{word}[n]"))
            }
            _ if index(segment) && !out.is_empty() => {
                let last = out.last_mut().expect("checked");
                last.push_str("[n]");
            }
            _ => out.push(segment.to_string()),
        }
    }
    out.join(".")
}

/// The `--help` text.
pub fn help() -> String {
    let mut s = String::from(
        "proxy: a reverse proxy that reads Traefik v2's labels and file format\n\n\
         Usage: proxy [--key=value | --key value | --flag]...\n\
         Every flag can also be set as TRAEFIK_<KEY> with `_` for `.` (TRAEFIK_API_INSECURE=true),\n\
         or in a static configuration file (--configFile=traefik.yaml, or traefik.yml/.toml in\n\
         /etc/traefik/, $XDG_CONFIG_HOME/, $HOME/.config/ or the working directory), where\n\
         `entryPoints: {web: {address: \":80\"}}` is --entrypoints.web.address=:80. A file, when\n\
         found, is the whole configuration: flags and TRAEFIK_* variables are then ignored.\n\
         On start, each entrypoint prints `entrypoint NAME listening on http://ADDR` on stdout\n\
         (https:// for one with http.tls).\n\nFlags:\n",
    );
    for (k, h) in KEYS {
        s.push_str(&format!("  --{:<60} {h}\n", k.replace('*', "<name>")));
    }
    s
}
