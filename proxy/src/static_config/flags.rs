//! The command line and the `TRAEFIK_*` environment, and the precedence between them and a
//! configuration file.

use super::file::{self, Search};
use super::keys::{kind_of, pattern_of, Kind};
use super::{parse_bool, settings, CliError, Command, StaticConfig};

/// Reads `TRAEFIK_*` variables as `(flag, value)` pairs.
pub fn env_settings(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    vars.filter_map(|(k, v)| {
        let rest = k.strip_prefix("TRAEFIK_")?;
        Some((rest.to_ascii_lowercase().replace('_', "."), v))
    })
    .collect()
}

/// Parses the arguments (without the program name) and `TRAEFIK_*` environment settings,
/// looking for a configuration file where Traefik does ([`Search::traefik`]).
pub fn parse(args: &[String], env: &[(String, String)]) -> Result<Command, CliError> {
    parse_with(args, env, &Search::traefik())
}

/// [`parse`], looking for a configuration file in `search` when no `--configFile` names one.
pub fn parse_with(
    args: &[String],
    env: &[(String, String)],
    search: &Search,
) -> Result<Command, CliError> {
    let mut flags: Vec<(String, String, String)> = Vec::new(); // (key, value, as written)
    let mut config_file = None;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        match arg.as_str() {
            "-h" | "--help" | "help" => return Ok(Command::Help),
            "-V" | "--version" | "version" => return Ok(Command::Version),
            _ => {}
        }
        let Some(body) = arg.strip_prefix("--") else {
            return Err(CliError::Stray(arg.clone()));
        };
        let (key, inline) = match body.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_string())),
            None => (body.to_ascii_lowercase(), None),
        };
        let flag = format!("--{key}");
        let kind = kind_of(&key).ok_or_else(|| CliError::Unknown(flag.clone()))?;
        let value = match (inline, kind) {
            (Some(v), _) => v,
            (None, Kind::Bool) => match args.get(i) {
                Some(next) if parse_bool(&flag, next).is_ok() => {
                    i += 1;
                    next.clone()
                }
                _ => "true".to_string(),
            },
            (None, Kind::Value) => match args.get(i) {
                Some(next) if !next.starts_with("--") => {
                    i += 1;
                    next.clone()
                }
                _ => return Err(CliError::MissingValue { flag }),
            },
        };
        if key == "configfile" {
            config_file = Some(value);
        } else {
            flags.push((key, value, flag));
        }
    }
    let found = file::locate(config_file.as_deref(), search).map_err(CliError::ConfigFile)?;
    let cfg = match found {
        Some(path) => from_file(&path, config_file.is_some(), &flags, env)?,
        None => {
            let mut settings = env_checked(env)?;
            settings.extend(flags);
            settings::build(settings)?
        }
    };
    Ok(Command::Run(Box::new(cfg)))
}

/// The environment's settings, each checked against [`super::KEYS`].
fn env_checked(env: &[(String, String)]) -> Result<Vec<(String, String, String)>, CliError> {
    let mut settings = Vec::new();
    for (k, v) in env {
        let var = format!("TRAEFIK_{}", k.replace('.', "_").to_ascii_uppercase());
        if k == "configfile" {
            return Err(CliError::BadValue {
                flag: var,
                value: v.clone(),
                reason:
                    "name the file with --configFile (Traefik reads it only from the command line)"
                        .into(),
            });
        }
        if pattern_of(k).is_none() {
            return Err(CliError::Unknown(format!("{var} (environment)")));
        }
        settings.push((k.clone(), v.clone(), var));
    }
    Ok(settings)
}

/// The configuration from the file at `path` (named by `--configFile` when `named`); `flags`
/// and `env` are ignored, and named in a warning.
fn from_file(
    path: &std::path::Path,
    named: bool,
    flags: &[(String, String, String)],
    env: &[(String, String)],
) -> Result<StaticConfig, CliError> {
    let shown = path.display();
    let file = file::Loaded::read(path)?;
    let mut cfg = settings::build(file.settings()).map_err(|e| file.place(e))?;
    let found = if named {
        String::new()
    } else {
        " (found without --configFile, in one of Traefik's default places)".into()
    };
    let why = format!(
        "the static configuration comes from {shown}{found}, and Traefik reads one source only \
         (a file, else flags, else TRAEFIK_* variables); move them into the file"
    );
    if !flags.is_empty() {
        let names: Vec<&str> = flags.iter().map(|(_, _, f)| f.as_str()).collect();
        cfg.warnings
            .push(format!("flags ignored: {}: {why}", names.join(", ")));
    }
    if !env.is_empty() {
        let names: Vec<String> = env
            .iter()
            .map(|(k, _)| format!("TRAEFIK_{}", k.replace('.', "_").to_ascii_uppercase()))
            .collect();
        cfg.warnings.push(format!(
            "environment variables ignored: {}: {why}",
            names.join(", ")
        ));
    }
    cfg.config_file = Some(path.to_path_buf());
    Ok(cfg)
}
