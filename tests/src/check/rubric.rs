//! The rubric: how many points each check is worth. The kit's default is data, the file
//! `docs/src/rubric.toml` (the book shows it, the binary embeds it); a teacher passes their own
//! with `lab check --rubric FILE`.
//!
//! ```toml
//! [points]
//! sticky-sessions = 10
//! ```
//!
//! A PASS earns the check's points, a FAIL or a SKIP none; a check the rubric does not list is
//! worth 0. A key that names no check is an error, so a typo cannot drop points silently.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::Status;

/// The kit's default rubric, as the book shows it.
pub const DEFAULT: &str = include_str!("../../../docs/src/rubric.toml");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rubric {
    points: BTreeMap<String, u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    points: BTreeMap<String, u32>,
}

impl Rubric {
    /// Parses a rubric and checks its keys against the checks' ids.
    pub fn parse(text: &str, known: &[&str]) -> Result<Self> {
        let file: File = toml::from_str(text)
            .map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))
            .context("a rubric is a [points] table: `check-id = points`")?;
        let unknown: Vec<&String> = file
            .points
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .collect();
        if !unknown.is_empty() {
            bail!(
                "the rubric names checks that do not exist: {unknown:?} (the checks: {})",
                known.join(", ")
            );
        }
        Ok(Self {
            points: file.points,
        })
    }

    pub fn read(path: &Path, known: &[&str]) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the rubric {}", path.display()))?;
        Self::parse(&text, known).with_context(|| format!("in {}", path.display()))
    }

    /// The kit's rubric.
    pub fn default_for(known: &[&str]) -> Self {
        Self::parse(DEFAULT, known).expect("docs/src/rubric.toml names only existing checks")
    }

    /// The check's worth.
    pub fn max(&self, id: &str) -> u32 {
        self.points.get(id).copied().unwrap_or(0)
    }

    /// What a result earns: (earned, worth).
    pub fn score(&self, id: &str, status: Status) -> (u32, u32) {
        let max = self.max(id);
        (if status == Status::Pass { max } else { 0 }, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_rubric_covers_every_check_and_totals_100_for_the_2021_lab() {
        let ids: Vec<&str> = crate::check::list().iter().map(|c| c.1).collect();
        let r = Rubric::default_for(&ids);
        for id in &ids {
            assert!(
                r.max(id) > 0,
                "docs/src/rubric.toml gives no points to `{id}`"
            );
        }
        let ids_2021 = crate::check::ids_in(crate::check::Edition::E2021);
        assert_eq!(ids_2021.iter().map(|id| r.max(id)).sum::<u32>(), 100);
    }

    #[test]
    fn only_a_pass_earns() {
        let r = Rubric::parse("[points]\nround-robin = 8", &["round-robin", "failover"]).unwrap();
        assert_eq!(r.score("round-robin", Status::Pass), (8, 8));
        assert_eq!(r.score("round-robin", Status::Fail), (0, 8));
        assert_eq!(r.score("round-robin", Status::Skip), (0, 8));
        assert_eq!(
            r.score("failover", Status::Pass),
            (0, 0),
            "unlisted: worth 0"
        );
    }

    #[test]
    fn typos_and_bad_shapes_are_errors() {
        let e = Rubric::parse("[points]\nround-robbin = 8", &["round-robin"]).unwrap_err();
        assert!(e.to_string().contains("round-robbin"), "{e}");
        assert!(Rubric::parse("round-robin = 8", &["round-robin"]).is_err());
        assert!(Rubric::parse("[points]\nround-robin = -1", &["round-robin"]).is_err());
    }
}
