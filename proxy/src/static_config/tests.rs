//! The static configuration's tests: flags, environment and file, through [`parse_with`].

use super::file::Search;
use super::*;

fn run(args: &[&str]) -> Result<StaticConfig, CliError> {
    run_env(args, &[])
}

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Result<StaticConfig, CliError> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env = env_settings(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    match parse_with(&args, &env, &Search::nowhere())? {
        Command::Run(c) => Ok(*c),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn reads_the_lab_compose_flags() {
    let c = run(&[
        "--api.insecure=true",
        "--providers.docker",
        "--entrypoints.web.address=:80",
        "--providers.docker.exposedbydefault=false",
    ])
    .unwrap();
    assert!(c.api);
    assert_eq!(c.entrypoints["web"].socket, "0.0.0.0:80".parse().unwrap());
    assert_eq!(
        c.entrypoints["traefik"].socket,
        "0.0.0.0:8080".parse().unwrap()
    );
    let d = c.docker.unwrap();
    assert!(!d.exposed_by_default);
}

#[test]
fn values_may_follow_as_separate_arguments() {
    let c = run(&[
        "--entrypoints.web.address",
        "127.0.0.1:0",
        "--api.insecure",
        "--accesslog",
        "false",
        "--providers.file.filename",
        "/tmp/x.yml",
        "--providers.file.watch",
    ])
    .unwrap();
    assert_eq!(c.entrypoints["web"].socket, "127.0.0.1:0".parse().unwrap());
    assert!(c.api && !c.access_log);
    let f = c.file.unwrap();
    assert_eq!(f.filename.as_deref(), Some("/tmp/x.yml"));
    assert!(f.watch);
}

#[test]
fn unknown_flags_are_named() {
    let e = run(&["--entrypoints.web.address=:80", "--api.insecur=true"]).unwrap_err();
    assert_eq!(e, CliError::Unknown("--api.insecur".into()));
    assert!(e.to_string().contains("--api.insecur"));
    assert!(matches!(
        run(&["--entrypoints.web.port=1"]),
        Err(CliError::Unknown(_))
    ));
    assert!(matches!(run(&["stray"]), Err(CliError::Stray(_))));
    assert!(matches!(
        run(&["--log.level"]),
        Err(CliError::MissingValue { .. })
    ));
    assert!(matches!(
        run(&["--entrypoints.web.address=nope"]),
        Err(CliError::BadValue { .. })
    ));
    assert!(matches!(
        run(&["--api.insecure=maybe"]),
        Err(CliError::BadValue { .. })
    ));
    assert!(matches!(
        run(&["--providers.file.watch"]),
        Err(CliError::MissingValue { .. })
    ));
    assert!(matches!(
        run(&[
            "--providers.file.filename=a",
            "--providers.file.directory=b"
        ]),
        Err(CliError::BadValue { .. })
    ));
}

#[test]
fn environment_applies_and_flags_win() {
    let c = run_env(
        &["--log.level=debug"],
        &[
            ("TRAEFIK_API_INSECURE", "true"),
            ("TRAEFIK_LOG_LEVEL", "warn"),
            ("TRAEFIK_ENTRYPOINTS_WEB_ADDRESS", ":8000"),
            ("PATH", "/bin"),
        ],
    )
    .unwrap();
    assert!(c.api);
    assert_eq!(c.log_level, "debug");
    assert_eq!(c.entrypoints["web"].socket.port(), 8000);
    assert!(matches!(
        run_env(&[], &[("TRAEFIK_NOPE", "1")]),
        Err(CliError::Unknown(_))
    ));
}

#[test]
fn defaults_follow_traefik() {
    let c = run(&[]).unwrap();
    assert!(!c.api);
    assert_eq!(c.entrypoints.len(), 1);
    assert_eq!(c.entrypoints["http"].socket.port(), 80);
    let c = run(&[
        "--API.Insecure",
        "--entrypoints.traefik.address=127.0.0.1:0",
    ])
    .unwrap();
    assert!(c.api);
    assert_eq!(c.entrypoints["traefik"].socket.port(), 0);
}

#[test]
fn trusted_ips_and_timeouts() {
    let c = run(&[
        "--entrypoints.web.address=:80",
        "--entrypoints.web.forwardedheaders.trustedips=10.0.0.0/8,127.0.0.1",
        "--entrypoints.web.transport.lifecycle.gracetimeout=2s",
        "--serverstransport.forwardingtimeouts.responseheadertimeout=250ms",
    ])
    .unwrap();
    let ep = &c.entrypoints["web"];
    assert!(ep.trusted_ips[0].contains("10.1.2.3".parse().unwrap()));
    assert!(!ep.trusted_ips[0].contains("11.1.2.3".parse().unwrap()));
    assert!(ep.trusted_ips[1].contains("::ffff:127.0.0.1".parse().unwrap()));
    assert_eq!(ep.grace_timeout, Duration::from_secs(2));
    assert_eq!(c.response_header_timeout, Duration::from_millis(250));
}

#[test]
fn swarm_flags_of_traefik_v3_and_v2() {
    let c = run(&[
        "--providers.swarm",
        "--providers.swarm.endpoint=tcp://127.0.0.1:2375",
        "--providers.swarm.network=servers1_default",
        "--providers.swarm.exposedByDefault=false",
        "--providers.swarm.refreshSeconds=5",
        "--providers.swarm.defaultRule=Host(`{{ normalize .Name }}.lab`)",
    ])
    .unwrap();
    let s = c.swarm.unwrap();
    assert_eq!(s.endpoint.as_deref(), Some("tcp://127.0.0.1:2375"));
    assert_eq!(s.network.as_deref(), Some("servers1_default"));
    assert!(!s.exposed_by_default);
    assert_eq!(s.refresh, Duration::from_secs(5));
    assert_eq!(s.provider_name, "swarm");
    assert!(c.docker.is_none());

    // v2: the Docker provider's flags, in swarm mode; elements stay `@docker`.
    let c = run(&[
        "--providers.docker",
        "--providers.docker.swarmMode=true",
        "--providers.docker.network=net",
        "--providers.docker.swarmModeRefreshSeconds=2s",
    ])
    .unwrap();
    assert!(c.docker.is_none(), "no container provider in swarm mode");
    let s = c.swarm.unwrap();
    assert_eq!(s.provider_name, "docker");
    assert_eq!(s.network.as_deref(), Some("net"));
    assert_eq!(s.refresh, Duration::from_secs(2));

    assert!(matches!(
        run(&["--providers.swarm.defaultRule=Host(`{{ .Labels }}`)"]),
        Err(CliError::BadValue { .. })
    ));
    assert!(matches!(
        run(&["--providers.swarm", "--providers.docker.swarmMode"]),
        Err(CliError::BadValue { .. })
    ));
}

/// Writes `text` as `name` in a new directory and parses `args` (and `env`) with only
/// that directory searched (as Traefik searches its default places).
fn with_file(
    name: &str,
    text: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (tempfile::TempDir, Result<StaticConfig, CliError>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), text).unwrap();
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace("{dir}", dir.path().to_str().unwrap()))
        .collect();
    let env = env_settings(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let search = Search {
        dirs: vec![dir.path().to_path_buf()],
    };
    let r = parse_with(&args, &env, &search).map(|c| match c {
        Command::Run(c) => *c,
        other => panic!("unexpected {other:?}"),
    });
    (dir, r)
}

const LAB_2023: &str = r#"
providers:
  docker:
    exposedByDefault: false
  file:
    filename: /etc/traefik/dynamic.yaml
entryPoints:
  http:
    address: ":80"
  https:
    address: ":443"
    forwardedHeaders:
      trustedIPs: ["10.0.0.0/8", "127.0.0.1"]
api:
  dashboard: true
  insecure: true
log:
  level: DEBUG
accessLog: {}
metrics:
  prometheus: {}
"#;

#[test]
fn the_file_holds_what_the_flags_hold() {
    let (dir, c) = with_file(
        "traefik.yaml",
        LAB_2023,
        &["--configFile={dir}/traefik.yaml"],
        &[],
    );
    let c = c.unwrap();
    assert_eq!(c.config_file, Some(dir.path().join("traefik.yaml")));
    let d = c.docker.as_ref().unwrap();
    assert!(!d.exposed_by_default);
    assert_eq!(
        c.file.as_ref().unwrap().filename.as_deref(),
        Some("/etc/traefik/dynamic.yaml")
    );
    assert_eq!(c.entrypoints["http"].socket.port(), 80);
    assert_eq!(c.entrypoints["https"].socket.port(), 443);
    assert_eq!(c.entrypoints["https"].trusted_ips.len(), 2);
    assert_eq!(c.entrypoints["traefik"].socket.port(), 8080);
    assert!(c.api && c.dashboard && c.access_log && c.metrics && !c.ping);
    assert_eq!(c.log_level, "debug");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);

    // The same settings as flags give the same configuration.
    let flags = run(&[
        "--providers.docker.exposedByDefault=false",
        "--providers.file.filename=/etc/traefik/dynamic.yaml",
        "--entrypoints.http.address=:80",
        "--entrypoints.https.address=:443",
        "--entrypoints.https.forwardedHeaders.trustedIPs=10.0.0.0/8,127.0.0.1",
        "--api.dashboard=true",
        "--api.insecure=true",
        "--log.level=DEBUG",
        "--accesslog",
        "--metrics.prometheus",
    ])
    .unwrap();
    assert_eq!(
        StaticConfig {
            config_file: None,
            ..c
        },
        flags
    );
}

#[test]
fn toml_and_our_own_keys_work_in_the_file() {
    let text = "[entryPoints.web]\naddress = \"127.0.0.1:0\"\n[api]\ninsecure = true\n[api.manage]\ntoken = \"0123456789abcdef\"\n[providers.docker]\n[ping]\n";
    let (_dir, c) = with_file("traefik.toml", text, &[], &[]);
    let c = c.unwrap();
    assert!(c.api && c.ping && c.docker.is_some());
    assert!(c.manage.is_some());
    assert_eq!(c.entrypoints["web"].socket.port(), 0);
}

/// Traefik's precedence: a file found is the whole configuration; we name what it ignores.
#[test]
fn a_file_wins_over_flags_and_environment_and_says_so() {
    let text = "entryPoints:\n  web:\n    address: \":81\"\n";
    // Named by --configFile.
    let (_d, c) = with_file(
        "mine.yml",
        text,
        &[
            "--configFile",
            "{dir}/mine.yml",
            "--log.level=debug",
            "--ping",
        ],
        &[("TRAEFIK_API_INSECURE", "true")],
    );
    let c = c.unwrap();
    assert_eq!(c.entrypoints["web"].socket.port(), 81);
    assert_eq!(c.log_level, "info");
    assert!(!c.ping && !c.api);
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert!(
        c.warnings[0].contains("flags ignored: --log.level, --ping"),
        "{}",
        c.warnings[0]
    );
    assert!(!c.warnings[0].contains("default places"));
    assert!(
        c.warnings[1].contains("TRAEFIK_API_INSECURE"),
        "{}",
        c.warnings[1]
    );
    // Found in a default place, without --configFile: it still wins, and the warning says
    // where it came from.
    let (_d, c) = with_file("traefik.yml", text, &["--entrypoints.web.address=:82"], &[]);
    let c = c.unwrap();
    assert_eq!(c.entrypoints["web"].socket.port(), 81);
    assert!(
        c.warnings[0].contains("default places"),
        "{}",
        c.warnings[0]
    );
    // No file: flags, then environment, as before.
    let (_d, c) = with_file(
        "other.yaml",
        text,
        &["--entrypoints.web.address=:82"],
        &[("TRAEFIK_LOG_LEVEL", "warn")],
    );
    let c = c.unwrap();
    assert_eq!(
        (c.entrypoints["web"].socket.port(), c.log_level.as_str()),
        (82, "warn")
    );
    assert!(c.config_file.is_none() && c.warnings.is_empty());
}

#[test]
fn file_errors_name_the_file_the_key_and_the_line() {
    // A key no flag has, under entryPoints.X.http (the TLS keys live there): the error
    // names the file, the key as written and its line.
    let text = "entryPoints:\n  web:\n    address: \":80\"\n    http:\n      nonsense: true\n";
    let (d, e) = with_file("traefik.yaml", text, &[], &[]);
    let e = e.unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(&e, CliError::InFile { line: Some(5), error, .. } if matches!(**error, CliError::UnknownKey(_))),
        "{e:?}"
    );
    assert!(
        msg.starts_with(&format!(
            "{}, line 5: unknown key `entryPoints.web.http.nonsense`",
            d.path().join("traefik.yaml").display()
        )),
        "{msg}"
    );
    // A misspelt key gets a suggestion.
    let (_d, e) = with_file(
        "traefik.yaml",
        "entryPoints:\n  web:\n    adress: \":80\"\n",
        &[],
        &[],
    );
    let msg = e.unwrap_err().to_string();
    assert!(msg.contains("line 3: unknown key `entryPoints.web.adress` (did you mean `entrypoints.web.address`?)"), "{msg}");
    // A bad value.
    let (_d, e) = with_file("traefik.yaml", "api:\n  insecure: maybe\n", &[], &[]);
    let msg = e.unwrap_err().to_string();
    assert!(
        msg.contains("line 2: bad value `maybe` for `api.insecure`"),
        "{msg}"
    );
    // A syntax error, a missing file.
    let (_d, e) = with_file("traefik.yaml", "api: [\n", &[], &[]);
    assert!(matches!(e, Err(CliError::ConfigFile(m)) if m.contains("YAML error")));
    let (_d, e) = with_file("traefik.yaml", "", &["--configFile=/nonexistent.yaml"], &[]);
    assert!(matches!(e, Err(CliError::ConfigFile(m)) if m.contains("not found")));
    let (_d, e) = with_file("traefik.yaml", "configFile: x.yaml\n", &[], &[]);
    assert!(e.unwrap_err().to_string().contains("cannot name another"));
}

#[test]
fn unknown_flags_get_a_suggestion() {
    let e = run(&["--api.insecur=true"]).unwrap_err();
    assert!(
        e.to_string().contains("(did you mean `--api.insecure`?)"),
        "{e}"
    );
    let e = run(&["--entrypoints.web.adress=:80"]).unwrap_err();
    assert!(e.to_string().contains("`--entrypoints.web.address`"), "{e}");
    let e = run_env(&[], &[("TRAEFIK_LOG_LEVL", "info")]).unwrap_err();
    assert!(e.to_string().contains("`TRAEFIK_LOG_LEVEL`"), "{e}");
    let e = run(&["--completely.different=1"]).unwrap_err();
    assert!(!e.to_string().contains("did you mean"), "{e}");
}

#[test]
fn default_rule_syntax() {
    assert_eq!(run(&[]).unwrap().default_rule_syntax, RuleSyntax::V3);
    let c = run(&["--core.defaultRuleSyntax=v2"]).unwrap();
    assert_eq!(c.default_rule_syntax, RuleSyntax::V2);
    let (_d, c) = with_file("traefik.yaml", "core:\n  defaultRuleSyntax: v2\n", &[], &[]);
    assert_eq!(c.unwrap().default_rule_syntax, RuleSyntax::V2);
    let e = run(&["--core.defaultRuleSyntax=v9"]).unwrap_err();
    assert!(e.to_string().contains("v3 (the default) or v2"), "{e}");
}

#[test]
fn entrypoint_tls_and_redirection() {
    let c = run(&[
        "--entrypoints.web.address=:80",
        "--entrypoints.websecure.address=:443",
        "--entrypoints.websecure.http.tls",
        "--entrypoints.web.http.redirections.entrypoint.to=websecure",
        "--entrypoints.web.http.redirections.entrypoint.scheme=https",
    ])
    .unwrap();
    assert!(c.entrypoints["websecure"].http.tls);
    let r = c.entrypoints["web"].http.redirect.as_ref().unwrap();
    assert_eq!((r.to.as_str(), r.permanent), ("websecure", true));
    let e = run(&[
        "--entrypoints.web.address=:80",
        "--entrypoints.web.http.redirections.entrypoint.to=webseucre",
    ])
    .unwrap_err();
    assert!(e.to_string().contains("not an entrypoint"), "{e}");
}

#[test]
fn acme_domains_are_accepted_and_imply_tls() {
    // Flags, and the keys a static file's `tls: {domains: [{main, sans}]}` flattens to.
    let c = run(&[
        "--entrypoints.websecure.address=:443",
        "--entrypoints.websecure.http.tls.domains[0].main=a.lab",
        "--entrypoints.websecure.http.tls.domains[0].sans=www.a.lab,*.a.lab",
        "--entrypoints.websecure.http.tls.domains[1].main=b.lab",
    ])
    .unwrap();
    assert!(c.entrypoints["websecure"].http.tls);
    // The environment's spelling: TRAEFIK_ENTRYPOINTS_<NAME>_HTTP_TLS_DOMAINS_0_MAIN.
    let c = run_env(
        &["--entrypoints.websecure.address=:443"],
        &[(
            "TRAEFIK_ENTRYPOINTS_WEBSECURE_HTTP_TLS_DOMAINS_0_MAIN",
            "a.lab",
        )],
    )
    .unwrap();
    assert!(c.entrypoints["websecure"].http.tls);
    for bad in [
        "--entrypoints.websecure.http.tls.domains[0].other=x",
        "--entrypoints.websecure.http.tls.domains[x].main=a.lab",
        "--entrypoints.websecure.http.tls.domains.main=a.lab",
    ] {
        assert!(
            matches!(run(&[bad]), Err(CliError::Unknown(_))),
            "{bad} is refused"
        );
    }
    assert!(help().contains("--entrypoints.<name>.http.tls.domains[n].main"));

    // A static file's `tls: {certResolver, domains: [{main, sans}]}`, in YAML and TOML.
    let yaml = r#"
entryPoints:
  websecure:
    address: ":443"
    http:
      tls:
        certResolver: le
        domains:
          - main: a.lab
            sans: ["www.a.lab", "*.a.lab"]
          - main: b.lab
"#;
    let toml = r#"
[entryPoints.websecure]
address = ":443"
[[entryPoints.websecure.http.tls.domains]]
main = "a.lab"
sans = ["www.a.lab"]
"#;
    for (name, text) in [("traefik.yaml", yaml), ("traefik.toml", toml)] {
        let (_d, c) = with_file(name, text, &[], &[]);
        let c = c.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(c.entrypoints["websecure"].http.tls, "{name}");
    }
}

#[test]
fn help_and_version() {
    let args = vec!["--help".to_string()];
    assert_eq!(parse(&args, &[]).unwrap(), Command::Help);
    assert!(help().contains("--entrypoints.<name>.address"));
}
