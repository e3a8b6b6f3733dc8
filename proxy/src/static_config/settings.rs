//! Settings, `(key, value, as written)` from flags, variables or a file, into a
//! [`StaticConfig`]: each key's meaning, the defaults, and the checks across keys.

use std::collections::BTreeMap;
use std::time::Duration;

use super::entrypoints;
use super::manage::ManageFlags;
use super::{parse_bool, CliError, StaticConfig, API_ENTRYPOINT};
use crate::config::duration_str;
use crate::config::rule::RuleSyntax;
use crate::provider::swarm::SwarmOptions;

/// The configuration the settings give, applied in order (a later one wins); every key is
/// one of [`super::KEYS`].
pub(super) fn build(settings: Vec<(String, String, String)>) -> Result<StaticConfig, CliError> {
    let mut cfg = StaticConfig {
        entrypoints: BTreeMap::new(),
        api: false,
        dashboard: true,
        file: None,
        docker: None,
        swarm: None,
        manage: None,
        log_level: "info".into(),
        access_log: false,
        metrics: false,
        ping: false,
        response_header_timeout: Duration::from_secs(30),
        dial_timeout: Duration::from_secs(5),
        idle_conn_timeout: Duration::from_secs(90),
        data_plane_threads: 0,
        fast_path: true,
        default_rule_syntax: RuleSyntax::default(),
        config_file: None,
        warnings: Vec::new(),
    };
    let mut api_enabled = false;
    let mut api_insecure = false;
    // v2's `--providers.docker.swarmMode` and its refresh, applied once all flags are read.
    let mut docker_swarm_mode = false;
    let mut docker_swarm_refresh = None;
    let mut manage = ManageFlags::default();
    // Raw per-entrypoint settings, applied once all are known.
    let mut eps: BTreeMap<String, BTreeMap<String, (String, String)>> = BTreeMap::new();
    for (key, value, flag) in settings {
        let bad = |reason: String| CliError::BadValue {
            flag: flag.clone(),
            value: value.clone(),
            reason,
        };
        let boolean = || parse_bool(&flag, &value);
        let duration = || duration_str::parse(&value).map_err(bad);
        if let Some(rest) = key.strip_prefix("entrypoints.") {
            let (name, tail) = rest.split_once('.').expect("checked by kind_of");
            eps.entry(name.to_string())
                .or_default()
                .insert(tail.to_string(), (value.clone(), flag.clone()));
            continue;
        }
        match key.as_str() {
            "api" => api_enabled = boolean()?,
            "api.insecure" => api_insecure = boolean()?,
            "api.dashboard" => cfg.dashboard = boolean()?,
            "api.manage" => manage.enabled = Some(boolean()?),
            "api.manage.token" => manage.token = Some(value.clone()),
            "api.manage.tokenfile" => manage.token_file = Some(value.clone()),
            "providers.file.filename" => {
                cfg.file.get_or_insert_with(Default::default).filename = Some(value.clone())
            }
            "providers.file.directory" => {
                cfg.file.get_or_insert_with(Default::default).directory = Some(value.clone())
            }
            "providers.file.watch" => {
                cfg.file.get_or_insert_with(Default::default).watch = boolean()?
            }
            "providers.docker" => {
                if boolean()? {
                    cfg.docker.get_or_insert_with(Default::default);
                } else {
                    cfg.docker = None;
                }
            }
            "providers.docker.endpoint" => {
                cfg.docker.get_or_insert_with(Default::default).endpoint = Some(value.clone())
            }
            "providers.docker.exposedbydefault" => {
                let b = boolean()?;
                cfg.docker
                    .get_or_insert_with(Default::default)
                    .exposed_by_default = b
            }
            "providers.docker.network" => {
                cfg.docker.get_or_insert_with(Default::default).network = Some(value.clone())
            }
            "providers.docker.swarmmode" => docker_swarm_mode = boolean()?,
            "providers.docker.swarmmoderefreshseconds" => {
                docker_swarm_refresh =
                    Some(crate::provider::swarm::parse_refresh(&value).map_err(bad)?)
            }
            "providers.swarm" => {
                if boolean()? {
                    cfg.swarm.get_or_insert_with(Default::default);
                } else {
                    cfg.swarm = None;
                }
            }
            "providers.swarm.exposedbydefault" => {
                let b = boolean()?;
                cfg.swarm
                    .get_or_insert_with(Default::default)
                    .exposed_by_default = b
            }
            swarm if swarm.starts_with("providers.swarm.") && swarm != "providers.swarm.watch" => {
                cfg.swarm
                    .get_or_insert_with(Default::default)
                    .set(&swarm["providers.swarm.".len()..], &value)
                    .map_err(bad)?
            }
            "core.defaultrulesyntax" => {
                cfg.default_rule_syntax = RuleSyntax::parse(&value).map_err(bad)?
            }
            "log.level" => {
                let l = value.to_ascii_lowercase();
                if !["error", "warn", "info", "debug", "trace", "fatal", "panic"]
                    .contains(&l.as_str())
                {
                    return Err(bad("use error, warn, info, debug or trace".into()));
                }
                cfg.log_level = match l.as_str() {
                    "fatal" | "panic" => "error".into(),
                    _ => l,
                };
            }
            "accesslog" => cfg.access_log = boolean()?,
            "metrics.prometheus" => cfg.metrics = boolean()?,
            "ping" => cfg.ping = boolean()?,
            "serverstransport.forwardingtimeouts.responseheadertimeout" => {
                cfg.response_header_timeout = duration()?
            }
            "serverstransport.forwardingtimeouts.dialtimeout" => cfg.dial_timeout = duration()?,
            "serverstransport.forwardingtimeouts.idleconntimeout" => {
                cfg.idle_conn_timeout = duration()?
            }
            "api.debug"
            | "providers.docker.watch"
            | "providers.swarm.watch"
            | "providers.providersthrottleduration"
            | "configfile"
            | "global.checknewversion"
            | "global.sendanonymoususage" => {}
            other => unreachable!("key `{other}` is in KEYS but not handled"),
        }
    }
    if let Some(f) = &cfg.file {
        match (&f.filename, &f.directory) {
            (Some(_), Some(_)) => return Err(CliError::BadValue {
                flag: "--providers.file.directory".into(),
                value: f.directory.clone().unwrap_or_default(),
                reason:
                    "set either --providers.file.filename or --providers.file.directory, not both"
                        .into(),
            }),
            (None, None) => {
                return Err(CliError::MissingValue {
                    flag: "--providers.file.filename".into(),
                })
            }
            _ => {}
        }
    }
    if docker_swarm_mode {
        // v2: the Docker provider in swarm mode reads services instead of containers.
        let docker = cfg.docker.take().unwrap_or_default();
        if cfg.swarm.is_some() {
            return Err(CliError::BadValue {
                flag: "--providers.docker.swarmMode".into(),
                value: "true".into(),
                reason: "--providers.swarm is set too; use one of them (--providers.swarm is \
                         Traefik v3's name)"
                    .into(),
            });
        }
        cfg.swarm = Some(SwarmOptions::from_docker(docker, docker_swarm_refresh));
    }
    // Traefik: `--api.insecure` alone turns the API on.
    cfg.api = api_insecure;
    cfg.manage = manage
        .resolve(
            cfg.api,
            cfg.docker.is_some(),
            std::env::var("LAB_MANAGE_TOKEN").ok(),
            |f| std::fs::read_to_string(f),
        )
        .map_err(|reason| CliError::BadValue {
            flag: "--api.manage".into(),
            value: "true".into(),
            reason,
        })?;
    if api_enabled && !api_insecure {
        cfg.warnings.push("--api without --api.insecure: the API is only served with --api.insecure=true (there is no secure router for it here)".into());
    }
    if (cfg.api || cfg.metrics || cfg.ping) && !eps.contains_key(API_ENTRYPOINT) {
        eps.entry(API_ENTRYPOINT.into())
            .or_default()
            .insert("address".into(), (":8080".into(), "default".into()));
    }
    if eps.keys().all(|k| k == API_ENTRYPOINT) {
        // Traefik's default entrypoint when none is configured.
        eps.entry("http".into())
            .or_default()
            .insert("address".into(), (":80".into(), "default".into()));
    }
    for (name, settings) in &eps {
        cfg.entrypoints
            .insert(name.clone(), entrypoints::entrypoint(name, settings)?);
    }
    entrypoints::check_redirections(&cfg.entrypoints)?;
    Ok(cfg)
}
