//! This instance's own jokes, the ones `/jokes` creates, reads, updates and deletes.
//!
//! The store lives in this process's memory and nowhere else: two instances of the API start
//! with the same bundled jokes, then each one only sees the changes made on it. That is the
//! lesson of the 2023 edition's step 6: behind a round-robin proxy, a joke created on one
//! instance "disappears" when the next request lands on another, so the API must be sticky.
//! It also means a restart forgets everything, as the statement's "in memory" asks.
//!
//! Ids are never reused: a deleted joke's id stays unknown, so a client holding an old
//! `Location` gets a 404 rather than someone else's joke.

use std::collections::BTreeMap;
use std::sync::RwLock;

use serde::Deserialize;

use crate::{ApiError, Catalog, Joke};

/// The most jokes one instance holds: the store is memory a client could otherwise fill.
pub const MAX_JOKES: usize = 1000;

/// The longest setup or punchline, in characters (the bundled jokes are all shorter).
pub const MAX_TEXT: usize = 200;

/// The body of `POST /jokes` and `PUT /jokes/{id}`: the id comes from the server (POST) or the
/// path (PUT), never from the body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JokeInput {
    pub setup: String,
    pub punchline: String,
}

/// A request body as parsed: a JSON object, not yet known to be a joke. Taking an object first
/// refuses `["setup", "punchline"]`, which serde would otherwise read as a joke.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

impl JokeInput {
    /// The joke in a body: exactly `setup` and `punchline`, both strings; then [`validate`]d.
    ///
    /// [`validate`]: JokeInput::validate
    pub fn from_body(body: JsonObject) -> Result<JokeInput, ApiError> {
        let input: JokeInput = serde_json::from_value(serde_json::Value::Object(body))
            .map_err(|e| ApiError::NotAJoke(e.to_string()))?;
        input.validate()
    }

    /// Both texts trimmed, non-empty and at most [`MAX_TEXT`] characters.
    pub fn validate(self) -> Result<JokeInput, ApiError> {
        Ok(JokeInput {
            setup: checked("setup", &self.setup)?,
            punchline: checked("punchline", &self.punchline)?,
        })
    }
}

fn checked(field: &'static str, text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::EmptyText(field));
    }
    let length = text.chars().count();
    if length > MAX_TEXT {
        return Err(ApiError::TextTooLong { field, length });
    }
    Ok(text.to_owned())
}

#[derive(Debug, Default)]
struct Jokes {
    by_id: BTreeMap<u32, Joke>,
    next_id: u32,
}

/// The jokes of this instance, shared by its handlers.
#[derive(Debug, Default)]
pub struct Store {
    jokes: RwLock<Jokes>,
}

impl Store {
    /// A store holding the bundled jokes (so `/jokes/1` answers as in the 2021 lab).
    pub fn seeded(catalog: &Catalog) -> Self {
        let by_id: BTreeMap<u32, Joke> =
            catalog.iter().map(|joke| (joke.id, joke.clone())).collect();
        let next_id = by_id.keys().next_back().map_or(1, |last| last + 1);
        Store {
            jokes: RwLock::new(Jokes { by_id, next_id }),
        }
    }

    /// How many jokes this instance holds.
    pub fn len(&self) -> usize {
        self.read().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every joke, by id.
    pub fn list(&self) -> Vec<Joke> {
        self.read().by_id.values().cloned().collect()
    }

    pub fn get(&self, id: u32) -> Option<Joke> {
        self.read().by_id.get(&id).cloned()
    }

    /// Adds a joke under the next id; `None` when the store is full.
    pub fn create(&self, input: JokeInput) -> Option<Joke> {
        let mut jokes = self.write();
        if jokes.by_id.len() >= MAX_JOKES {
            return None;
        }
        let id = jokes.next_id;
        jokes.next_id = id.checked_add(1)?;
        let joke = Joke {
            id,
            setup: input.setup,
            punchline: input.punchline,
        };
        jokes.by_id.insert(id, joke.clone());
        Some(joke)
    }

    /// Replaces the texts of joke `id`; `None` when there is none.
    pub fn update(&self, id: u32, input: JokeInput) -> Option<Joke> {
        let mut jokes = self.write();
        let joke = jokes.by_id.get_mut(&id)?;
        joke.setup = input.setup;
        joke.punchline = input.punchline;
        Some(joke.clone())
    }

    /// Removes joke `id`; whether there was one.
    pub fn delete(&self, id: u32) -> bool {
        self.write().by_id.remove(&id).is_some()
    }

    // A panic while holding the lock cannot leave a half-written joke (every write is one
    // insert, assignment or remove), so a poisoned lock is still safe to use.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Jokes> {
        self.jokes.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Jokes> {
        self.jokes.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(setup: &str, punchline: &str) -> JokeInput {
        JokeInput {
            setup: setup.into(),
            punchline: punchline.into(),
        }
    }

    #[test]
    fn seeded_with_the_bundled_jokes_and_new_ids_follow_them() {
        let catalog = Catalog::bundled().unwrap();
        let store = Store::seeded(&catalog);
        assert_eq!(store.len(), catalog.len());
        assert_eq!(store.get(1).as_ref(), catalog.get(1));
        let last = store.list().last().unwrap().id;
        let created = store.create(input("a", "b")).unwrap();
        assert_eq!(created.id, last + 1);
        assert_eq!(store.len(), catalog.len() + 1);
    }

    #[test]
    fn create_read_update_delete() {
        let store = Store::default();
        let joke = store.create(input("Knock knock", "Who's there?")).unwrap();
        assert_eq!(store.get(joke.id), Some(joke.clone()));
        let updated = store.update(joke.id, input("Knock", "Nobody")).unwrap();
        assert_eq!(
            (updated.id, updated.punchline.as_str()),
            (joke.id, "Nobody")
        );
        assert!(store.delete(joke.id));
        assert!(!store.delete(joke.id), "already gone");
        assert_eq!(store.get(joke.id), None);
        assert_eq!(store.update(joke.id, input("a", "b")), None);
    }

    #[test]
    fn a_deleted_id_is_never_given_again() {
        let store = Store::default();
        let first = store.create(input("a", "b")).unwrap();
        store.delete(first.id);
        let second = store.create(input("c", "d")).unwrap();
        assert_ne!(first.id, second.id);
    }

    #[test]
    fn the_store_is_bounded() {
        let store = Store::default();
        for i in 0..MAX_JOKES {
            assert!(store.create(input(&i.to_string(), "x")).is_some());
        }
        assert!(store.create(input("one", "more")).is_none());
        assert_eq!(store.len(), MAX_JOKES);
    }

    #[test]
    fn texts_are_trimmed_non_empty_and_bounded() {
        let ok = input("  Why?  ", "Because.").validate().unwrap();
        assert_eq!(ok.setup, "Why?");
        assert!(matches!(
            input(" ", "x").validate(),
            Err(ApiError::EmptyText("setup"))
        ));
        assert!(matches!(
            input("x", "").validate(),
            Err(ApiError::EmptyText("punchline"))
        ));
        let long = "é".repeat(MAX_TEXT + 1);
        assert!(matches!(
            input("x", &long).validate(),
            Err(ApiError::TextTooLong { field: "punchline", length }) if length == MAX_TEXT + 1
        ));
        assert!(input(&"é".repeat(MAX_TEXT), "x").validate().is_ok());
    }
}
