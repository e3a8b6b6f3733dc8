//! What can be wrong with the static configuration; each message says which setting and what
//! to do.

use super::keys::did_you_mean;

/// A flag or environment variable that cannot be used; the message says which and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    #[error("unknown flag `{0}`{hint}; run with --help to see the supported flags", hint = did_you_mean(.0))]
    Unknown(String),
    /// A key of the configuration file that no flag has.
    #[error("unknown key `{0}`{hint}; the file takes the flags' keys (run with --help), in any case", hint = did_you_mean(.0))]
    UnknownKey(String),
    /// The configuration file cannot be found or read.
    #[error("{0}")]
    ConfigFile(String),
    /// A problem with a setting from the configuration file.
    #[error("{file}{}: {error}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    InFile {
        file: String,
        line: Option<usize>,
        error: Box<CliError>,
    },
    #[error("flag `{flag}` needs a value, like `{flag}=VALUE`")]
    MissingValue { flag: String },
    #[error("bad value `{value}` for `{flag}`: {reason}")]
    BadValue {
        flag: String,
        value: String,
        reason: String,
    },
    #[error("unexpected argument `{0}`; flags look like `--entrypoints.web.address=:80`")]
    Stray(String),
}
