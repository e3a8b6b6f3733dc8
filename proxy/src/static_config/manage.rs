//! `--api.manage*`: whether the management UI is on, and its token, checked against the rest
//! of the static configuration. The UI itself is `crate::api::manage`.

/// A secret that never shows in `Debug` output (the static configuration is logged).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// `--api.manage.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManageOptions {
    pub token: Secret,
}

/// Shortest token accepted: long enough that guessing over HTTP is hopeless.
pub const MIN_TOKEN_LEN: usize = 12;

/// The `--api.manage.*` settings as given, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManageFlags {
    /// `--api.manage`, when given.
    pub enabled: Option<bool>,
    /// `--api.manage.token`, when given (possibly empty: off).
    pub token: Option<String>,
    /// `--api.manage.tokenfile`.
    pub token_file: Option<String>,
}

impl ManageFlags {
    /// Validates the flags against the rest of the static configuration. `env_token` is
    /// `LAB_MANAGE_TOKEN`; `read` reads the token file. `Ok(None)`: the UI is off.
    pub fn resolve(
        self,
        api: bool,
        docker: bool,
        env_token: Option<String>,
        read: impl Fn(&str) -> std::io::Result<String>,
    ) -> Result<Option<ManageOptions>, String> {
        // An explicitly empty `--api.manage.token=` means off, whatever the environment says.
        let explicitly_empty = self.token.as_ref().is_some_and(|t| t.trim().is_empty());
        let flag_token = self.token.filter(|t| !t.trim().is_empty());
        let env_token = env_token.filter(|t| !t.trim().is_empty());
        let by_env_only = self.enabled.is_none()
            && flag_token.is_none()
            && self.token_file.is_none()
            && !explicitly_empty
            && env_token.is_some();
        let on = self
            .enabled
            .unwrap_or(flag_token.is_some() || self.token_file.is_some() || by_env_only);
        // `LAB_MANAGE_TOKEN` alone (compose passes it through) turns the UI on only where it
        // can run: a proxy without the API or the Docker provider just ignores it.
        if !on || (by_env_only && !(api && docker)) {
            return Ok(None);
        }
        let token = match (flag_token, &self.token_file) {
            (Some(t), _) => t,
            (None, Some(f)) => read(f).map_err(|e| {
                format!("cannot read the management token from `{f}`: {e}; check the path and its permissions")
            })?,
            (None, None) => env_token.unwrap_or_default(),
        };
        let token = token.trim().to_owned();
        if token.is_empty() {
            return Err("the management UI needs a token: set --api.manage.token, --api.manage.tokenfile or LAB_MANAGE_TOKEN (e.g. `openssl rand -hex 16`)".into());
        }
        if token.chars().count() < MIN_TOKEN_LEN {
            return Err(format!(
                "the management token is too short (at least {MIN_TOKEN_LEN} characters; e.g. `openssl rand -hex 16`)"
            ));
        }
        if !api {
            return Err(
                "the management UI is served on the API entrypoint: add --api.insecure=true".into(),
            );
        }
        if !docker {
            return Err(
                "the management UI acts on Docker containers: add --providers.docker".into(),
            );
        }
        Ok(Some(ManageOptions {
            token: Secret(token),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef-token";

    fn flags(enabled: Option<bool>, token: Option<&str>, file: Option<&str>) -> ManageFlags {
        ManageFlags {
            enabled,
            token: token.map(String::from),
            token_file: file.map(String::from),
        }
    }

    fn no_file(_: &str) -> std::io::Result<String> {
        Err(std::io::Error::from(std::io::ErrorKind::NotFound))
    }

    #[test]
    fn flags_resolve() {
        // Off by default, and with an empty token (compose's `${LAB_MANAGE_TOKEN:-}`).
        assert_eq!(
            flags(None, None, None).resolve(true, true, None, no_file),
            Ok(None)
        );
        assert_eq!(
            flags(None, Some(""), None).resolve(true, true, Some(TOKEN.into()), no_file),
            Ok(None)
        );
        // A token turns it on; --api.manage=false wins.
        let on = flags(None, Some(TOKEN), None).resolve(true, true, None, no_file);
        assert_eq!(on.unwrap().unwrap().token.expose(), TOKEN);
        assert_eq!(
            flags(Some(false), Some(TOKEN), None).resolve(true, true, None, no_file),
            Ok(None)
        );
        // LAB_MANAGE_TOKEN alone turns it on where it can run, and is ignored elsewhere.
        let env = flags(None, None, None).resolve(true, true, Some(TOKEN.into()), no_file);
        assert_eq!(env.unwrap().unwrap().token.expose(), TOKEN);
        assert_eq!(
            flags(None, None, None).resolve(true, false, Some(TOKEN.into()), no_file),
            Ok(None)
        );
        assert_eq!(
            flags(None, None, None).resolve(true, true, Some(String::new()), no_file),
            Ok(None)
        );
        // --api.manage takes the token from LAB_MANAGE_TOKEN, or a file.
        let env = flags(Some(true), None, None).resolve(true, true, Some(TOKEN.into()), no_file);
        assert_eq!(env.unwrap().unwrap().token.expose(), TOKEN);
        let file = flags(None, None, Some("/run/secrets/t"))
            .resolve(true, true, None, |_| Ok(format!("{TOKEN}\n")));
        assert_eq!(file.unwrap().unwrap().token.expose(), TOKEN);
        // Errors say what to do.
        let e = flags(Some(true), None, None)
            .resolve(true, true, None, no_file)
            .unwrap_err();
        assert!(e.contains("LAB_MANAGE_TOKEN"), "{e}");
        let e = flags(None, Some("short"), None)
            .resolve(true, true, None, no_file)
            .unwrap_err();
        assert!(e.contains("too short"), "{e}");
        let e = flags(None, Some(TOKEN), None)
            .resolve(false, true, None, no_file)
            .unwrap_err();
        assert!(e.contains("--api.insecure"), "{e}");
        let e = flags(None, Some(TOKEN), None)
            .resolve(true, false, None, no_file)
            .unwrap_err();
        assert!(e.contains("--providers.docker"), "{e}");
        let e = flags(None, None, Some("/nope"))
            .resolve(true, true, None, no_file)
            .unwrap_err();
        assert!(e.contains("/nope"), "{e}");
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let o = flags(None, Some(TOKEN), None)
            .resolve(true, true, None, no_file)
            .unwrap()
            .unwrap();
        assert!(!format!("{o:?}").contains(TOKEN));
    }

    #[test]
    fn the_cli_reads_the_flags() {
        let args: Vec<String> = [
            "--api.insecure=true",
            "--providers.docker",
            &format!("--api.manage.token={TOKEN}"),
        ]
        .map(String::from)
        .to_vec();
        let cfg = match crate::static_config::parse(&args, &[]).unwrap() {
            crate::static_config::Command::Run(c) => *c,
            other => panic!("{other:?}"),
        };
        assert_eq!(cfg.manage.unwrap().token.expose(), TOKEN);
        let env = [("api.manage.token".to_string(), String::new())];
        let cfg = match crate::static_config::parse(&args[..2], &env).unwrap() {
            crate::static_config::Command::Run(c) => *c,
            other => panic!("{other:?}"),
        };
        assert_eq!(cfg.manage, None);
    }
}
