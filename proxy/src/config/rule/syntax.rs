//! Traefik's two rule syntaxes, and the checks that refuse a form of the other one with the fix.
//!
//! Traefik v3 changed the language (its v2-to-v3 migration guide): `Headers` became `Header`,
//! `HostHeader` went, each matcher takes one value, and regular expressions are plain Go ones in
//! `HostRegexp`, `PathRegexp`, `HeaderRegexp` and `QueryRegexp` instead of v2's mux templates.
//! Traefik keeps v2's language for a router with `ruleSyntax: v2`, or for all with
//! `--core.defaultRuleSyntax=v2`. A rule in the wrong syntax mostly fails to parse there, or
//! worse, parses and matches nothing (``HostRegexp(`{sub:[a-z]+}.ch`)`` as a v3 regex); so each
//! form that belongs to the other syntax is refused here, with the rule to write instead.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::compile::template;
use super::*;

/// The language a rule is written in: v3, Traefik's default since 3.0, or v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RuleSyntax {
    V2,
    #[default]
    V3,
}

impl RuleSyntax {
    /// `v2` or `v3`, in any case (a router's `ruleSyntax`, `--core.defaultRuleSyntax`).
    pub fn parse(s: &str) -> Result<RuleSyntax, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "v3" => Ok(RuleSyntax::V3),
            "v2" => Ok(RuleSyntax::V2),
            _ => Err(format!(
                "`{s}` is not a rule syntax; write v3 (the default) or v2"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RuleSyntax::V2 => "v2",
            RuleSyntax::V3 => "v3",
        }
    }
}

impl fmt::Display for RuleSyntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleSyntax {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleSyntax {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RuleSyntax::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// How an error under v3 ends: the other way out.
const OR_V2: &str = "or set the router's ruleSyntax to v2 (label `traefik.http.routers.<name>.ruleSyntax=v2`, or `ruleSyntax: v2` in a file)";
/// How an error under v2 ends.
const OR_V3: &str =
    "or use the v3 syntax, the default (remove ruleSyntax=v2 or --core.defaultRuleSyntax=v2)";

/// Checks that the call of `m` on `args`, starting at `at`, is written in `syntax`.
pub(super) fn check(
    m: Matcher,
    args: &[String],
    syntax: RuleSyntax,
    at: usize,
) -> Result<(), RuleError> {
    match syntax {
        RuleSyntax::V3 => v3(m, args, at),
        RuleSyntax::V2 => v2(m, args, at),
    }
}

fn call(m: Matcher, args: &[&str]) -> String {
    Expr::Call(m, args.iter().map(|a| a.to_string()).collect()).to_string()
}

/// ``Host(`a`) || Host(`b`)``: v2's several values, one per call.
fn any_of(m: Matcher, args: &[String]) -> String {
    let calls: Vec<String> = args.iter().map(|a| call(m, &[a])).collect();
    calls.join(" || ")
}

/// Whether `a` holds a mux template variable, `{name}` or `{name:pattern}` (a regex's
/// `{2,3}` is not one).
pub(super) fn has_template(a: &str) -> bool {
    a.match_indices('{').any(|(i, _)| {
        let rest = &a[i + 1..];
        let ident = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        ident > 0
            && !rest.starts_with(|c: char| c.is_ascii_digit())
            && rest[ident..].starts_with([':', '}'])
    })
}

/// The anchored regular expression a v2 template stands for, as a v3 rule writes it.
fn as_regex(t: &str, default: &str, prefix: bool) -> String {
    let end = if prefix { "" } else { "$" };
    match template(t, default, 0) {
        Ok(re) => format!("^{re}{end}"),
        Err(_) => format!("^{}{end}", regex::escape(t)),
    }
}

fn v3(m: Matcher, args: &[String], at: usize) -> Result<(), RuleError> {
    let name = m.name();
    let renamed = match m {
        Matcher::HostHeader => Some(any_of(Matcher::Host, args)),
        Matcher::Headers => Some(call(Matcher::Header, &as_strs(args))),
        Matcher::HeadersRegexp => Some(call(Matcher::HeaderRegexp, &as_strs(args))),
        _ => None,
    };
    if let Some(fix) = renamed {
        return err(
            at,
            format!("`{name}` is Traefik v2's; with the v3 syntax write {fix}, {OR_V2}"),
        );
    }
    match m {
        Matcher::Header | Matcher::HeaderRegexp => return Ok(()),
        Matcher::Query | Matcher::QueryRegexp => return query_v3(m, args, at),
        _ if args.len() > 1 => {
            return err(
                at,
                format!(
                    "with the v3 syntax each matcher takes one value: write {}, {OR_V2}",
                    any_of(m, args)
                ),
            )
        }
        _ => {}
    }
    let a = args.first().map_or("", String::as_str);
    if !has_template(a) {
        return Ok(());
    }
    let fix = match m {
        Matcher::HostRegexp => call(Matcher::HostRegexp, &[&as_regex(a, "[^.]+", false)]),
        Matcher::Path => call(Matcher::PathRegexp, &[&as_regex(a, "[^/]+", false)]),
        Matcher::PathPrefix => call(Matcher::PathRegexp, &[&as_regex(a, "[^/]+", true)]),
        _ => return Ok(()),
    };
    err(
        at,
        format!(
            "{} holds a v2 template; with the v3 syntax write the regular expression: {fix}, {OR_V2}",
            call(m, &[a])
        ),
    )
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// v3's `Query(key)` / `Query(key, value)`, and v2's ``Query(`k=v`, ...)`` refused with its v3
/// form.
fn query_v3(m: Matcher, args: &[String], at: usize) -> Result<(), RuleError> {
    let v2_form =
        m == Matcher::Query && (args.len() > 2 || args.first().is_some_and(|k| k.contains('=')));
    if v2_form {
        let calls: Vec<String> = args
            .iter()
            .map(|a| {
                let (k, v) = a.split_once('=').unwrap_or((a, ""));
                if v.is_empty() {
                    // v2's `k` or `k=`: any value; v3's Query(`k`) wants an empty one.
                    call(Matcher::QueryRegexp, &[k, ""])
                } else if has_template(v) {
                    call(Matcher::QueryRegexp, &[k, &as_regex(v, "[^&]*", false)])
                } else {
                    call(Matcher::Query, &[k, v])
                }
            })
            .collect();
        return err(
            at,
            format!(
                "{} is Traefik v2's form; with the v3 syntax {} takes the key and the value apart: write {}, {OR_V2}",
                call(m, &as_strs(args)),
                m.name(),
                calls.join(" && ")
            ),
        );
    }
    if args.len() > 2 {
        return err(
            at,
            format!(
                "`{}` takes a parameter name and a value: {}(`key`, `value`)",
                m.name(),
                m.name()
            ),
        );
    }
    Ok(())
}

fn v2(m: Matcher, args: &[String], at: usize) -> Result<(), RuleError> {
    let name = m.name();
    let fix = match m {
        Matcher::Header => call(Matcher::Headers, &as_strs(args)),
        Matcher::HeaderRegexp => call(Matcher::HeadersRegexp, &as_strs(args)),
        Matcher::PathRegexp => {
            "a template, e.g. Path(`/users/{id:[0-9]+}`) or PathPrefix(`/users/{id:[0-9]+}`)".into()
        }
        Matcher::QueryRegexp => match args {
            [k, re] => format!("Query(`{k}={{value:{re}}}`)"),
            _ => "Query(`key={value:regex}`)".into(),
        },
        Matcher::HostRegexp => {
            let plain = args.iter().find(|a| {
                !a.contains('{')
                    && a.contains(['^', '$', '\\', '*', '+', '?', '(', ')', '[', ']', '|'])
            });
            let Some(a) = plain else { return Ok(()) };
            return err(
                at,
                format!(
                    "HostRegexp(`{a}`) is a plain regular expression, Traefik v3's form; with the v2 syntax write a template such as HostRegexp(`{{sub:[a-z]+}}.example.com`), {OR_V3}"
                ),
            );
        }
        _ => return Ok(()),
    };
    err(
        at,
        format!("`{name}` is Traefik v3's; with the v2 syntax write {fix}, {OR_V3}"),
    )
}
