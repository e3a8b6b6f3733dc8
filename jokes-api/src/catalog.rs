//! The jokes: our own, written for this lab, in `jokes.json` beside `Cargo.toml`.
//!
//! The file is compiled into the binary (`include_str!`), so the `FROM scratch` image needs no
//! data files, and checked when the server starts (and by the tests, so a bad edit fails CI
//! rather than a demo). `--jokes FILE` serves another file of the same shape instead.

use std::collections::HashSet;

use rand::seq::IndexedRandom;
use serde::{Deserialize, Serialize};

/// The bundled jokes file.
const BUNDLED: &str = include_str!("../jokes.json");

/// One joke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Joke {
    pub id: u32,
    pub setup: String,
    pub punchline: String,
}

/// What can be wrong with a jokes file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    #[error("the jokes file is not a JSON list of {{id, setup, punchline}}: {0}")]
    Json(String),
    #[error("the jokes file has no jokes")]
    Empty,
    #[error("joke id {0} is used twice: give each joke its own id")]
    DuplicateId(u32),
    #[error("joke {0} has an empty setup or punchline")]
    EmptyText(u32),
}

/// A checked, non-empty list of jokes with unique ids.
#[derive(Debug, Clone)]
pub struct Catalog {
    jokes: Vec<Joke>,
}

impl Catalog {
    /// The jokes compiled into this binary.
    pub fn bundled() -> Result<Self, CatalogError> {
        Self::parse(BUNDLED)
    }

    /// Reads and checks a jokes file.
    pub fn parse(json: &str) -> Result<Self, CatalogError> {
        let jokes: Vec<Joke> =
            serde_json::from_str(json).map_err(|e| CatalogError::Json(e.to_string()))?;
        Self::new(jokes)
    }

    /// Checks `jokes`: at least one, unique ids, no blank text.
    pub fn new(jokes: Vec<Joke>) -> Result<Self, CatalogError> {
        if jokes.is_empty() {
            return Err(CatalogError::Empty);
        }
        let mut ids = HashSet::new();
        for joke in &jokes {
            if !ids.insert(joke.id) {
                return Err(CatalogError::DuplicateId(joke.id));
            }
            if joke.setup.trim().is_empty() || joke.punchline.trim().is_empty() {
                return Err(CatalogError::EmptyText(joke.id));
            }
        }
        Ok(Catalog { jokes })
    }

    pub fn len(&self) -> usize {
        self.jokes.len()
    }

    /// Always false: a catalog has at least one joke.
    pub fn is_empty(&self) -> bool {
        self.jokes.is_empty()
    }

    /// Every joke, in the file's order.
    pub fn iter(&self) -> impl Iterator<Item = &Joke> {
        self.jokes.iter()
    }

    /// The joke with this id.
    pub fn get(&self, id: u32) -> Option<&Joke> {
        self.jokes.iter().find(|joke| joke.id == id)
    }

    /// `count` different jokes in random order (all of them if `count` is larger).
    pub fn random(&self, count: usize) -> Vec<&Joke> {
        self.jokes
            .choose_multiple(&mut rand::rng(), count)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joke(id: u32, setup: &str, punchline: &str) -> Joke {
        Joke {
            id,
            setup: setup.into(),
            punchline: punchline.into(),
        }
    }

    #[test]
    fn the_bundled_jokes_are_valid_and_plenty() {
        let catalog = Catalog::bundled().expect("jokes.json must be valid");
        assert!(catalog.len() >= 60, "only {} jokes", catalog.len());
    }

    #[test]
    fn the_bundled_jokes_are_tidy() {
        let catalog = Catalog::bundled().unwrap();
        let mut setups = HashSet::new();
        for joke in &catalog.jokes {
            assert!(
                setups.insert(&joke.setup),
                "setup used twice: {}",
                joke.setup
            );
            for text in [&joke.setup, &joke.punchline] {
                assert_eq!(text.trim(), text, "joke {}: stray spaces", joke.id);
                assert!(text.len() <= 200, "joke {}: too long for the page", joke.id);
            }
        }
    }

    #[test]
    fn bad_catalogs_are_refused_with_the_reason() {
        assert_eq!(Catalog::new(vec![]).unwrap_err(), CatalogError::Empty);
        let twice = vec![joke(1, "a", "b"), joke(1, "c", "d")];
        assert_eq!(
            Catalog::new(twice).unwrap_err(),
            CatalogError::DuplicateId(1)
        );
        let blank = vec![joke(7, "a", "  ")];
        assert_eq!(Catalog::new(blank).unwrap_err(), CatalogError::EmptyText(7));
        assert!(matches!(
            Catalog::parse(r#"[{"id": 1, "setup": "a"}]"#),
            Err(CatalogError::Json(_))
        ));
    }

    #[test]
    fn random_gives_distinct_jokes_and_never_more_than_exist() {
        let catalog = Catalog::bundled().unwrap();
        let picked = catalog.random(10);
        let ids: HashSet<u32> = picked.iter().map(|j| j.id).collect();
        assert_eq!((picked.len(), ids.len()), (10, 10));
        assert_eq!(catalog.random(0).len(), 0);
        assert_eq!(catalog.random(10_000).len(), catalog.len());
    }

    #[test]
    fn get_finds_by_id() {
        let catalog = Catalog::bundled().unwrap();
        assert_eq!(catalog.get(1).map(|j| j.id), Some(1));
        assert!(catalog.get(0).is_none());
    }
}
