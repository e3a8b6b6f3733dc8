//! The 2023 edition's CRUD API, through the proxy: create, read back, update and delete one
//! item in a sticky session; then the observation that shows why the API is sticky: without
//! the cookie, the new item is only on the instance that created it.
//!
//! What to send comes from lab.toml's `[crud]` (a student's resource is theirs to choose);
//! without it, the kit's jokes API (`{api_prefix}jokes`). The created item's URL is the
//! answer's `Location`, else the collection plus the `id` found in the answer's JSON. The item
//! is deleted at the end, as a student's demo would.

use anyhow::{bail, ensure, Result};
use serde_json::Value;

use super::common::{expected, tally};
use super::{Ctx, Outcome};
use crate::check::client::Answer;
use crate::local::Kind;

pub async fn crud(ctx: &mut Ctx) -> Result<Outcome> {
    let crud = ctx.setup().crud.clone();
    let (create, update) = (unique(&crud.create), unique(&crud.update));
    let web = ctx.web().clone();
    let collection = crud.path.clone();
    let mut notes = Vec::new();

    // A session: the sticky cookie from a first request to the collection.
    let first = web.get(&collection, None).await?;
    if first.status == 404 && !crud.configured {
        return Ok(Outcome::Skip(format!(
            "GET {collection} answered 404 and lab.toml has no [crud] section: say where your \
             collection is and what to send (path = \"/api/books\", create = '{{\"title\": \
             \"x\"}}', update = '{{\"title\": \"y\"}}')"
        )));
    }
    ensure!(
        first.status == 200,
        "GET {collection} (the collection) answered {}: {}",
        first.status,
        excerpt(&first)
    );
    let cookie = match sticky_cookie(ctx, &first) {
        Some(c) => c,
        None => {
            notes.push(format!(
                "no sticky cookie from GET {collection}: the steps below may land on different \
                 instances"
            ));
            String::new()
        }
    };
    let jar = (!cookie.is_empty()).then_some(cookie.as_str());

    // Create.
    let created = web.send("POST", &collection, jar, Some(&create)).await?;
    ensure!(
        matches!(created.status, 200 | 201),
        "POST {collection} {} answered {}: {}",
        create,
        created.status,
        excerpt(&created)
    );
    let item = item_path(&collection, &created)?;
    notes.push(format!(
        "POST {collection} → {}{} {item}",
        created.status,
        if created.status == 201 {
            " Location:"
        } else {
            " (201 Created is the usual answer),"
        }
    ));

    // Read it back, on the same instance.
    let read = web.get(&item, jar).await?;
    let with_cookie = if jar.is_some() {
        ", with the cookie"
    } else {
        ""
    };
    let moved = " (the session did not stay on the instance that created it: is the API sticky, \
                 and was its cookie sent back?)";
    ensure!(
        read.status == 200,
        "GET {item} right after creating it{}{with_cookie} answered {}{}: {}{}",
        on(&created),
        read.status,
        by(&read),
        excerpt(&read),
        if read.status == 404 { moved } else { "" }
    );
    ensure!(
        contains_values(&read.body, &create),
        "GET {item} right after creating it{}{with_cookie} answered 200{} with another item: \
         {}. Each instance numbers its own items, so this is probably another instance's{moved}",
        on(&created),
        by(&read),
        excerpt(&read)
    );
    notes.push(format!("GET → 200{}", by(&read)));

    // Update, and see the change.
    let updated = web.send("PUT", &item, jar, Some(&update)).await?;
    ensure!(
        matches!(updated.status, 200 | 204),
        "PUT {item} {} answered {}: {}",
        update,
        updated.status,
        excerpt(&updated)
    );
    let reread = web.get(&item, jar).await?;
    ensure!(
        reread.status == 200 && contains_values(&reread.body, &update),
        "GET {item} after PUT does not show the update ({}): {}",
        reread.status,
        excerpt(&reread)
    );
    notes.push(format!("PUT → {}, GET shows it", updated.status));

    // Why sticky: a second item, looked for by clients without the cookie.
    let observed = without_cookie(ctx, &collection, jar).await;

    // Delete, and see it gone.
    let deleted = web.send("DELETE", &item, jar, None).await?;
    ensure!(
        matches!(deleted.status, 200 | 204),
        "DELETE {item} answered {}: {}",
        deleted.status,
        excerpt(&deleted)
    );
    let gone = web.get(&item, jar).await?;
    ensure!(
        gone.status == 404,
        "GET {item} after DELETE answered {}, not 404: {}",
        gone.status,
        excerpt(&gone)
    );
    notes.push(format!("DELETE → {}, then GET → 404", deleted.status));
    notes.push(observed?);
    Ok(Outcome::Pass(notes.join("; ")))
}

/// Creates an item in the session, asks for it from new clients (no cookie) as many times as
/// there are API servers, twice, then deletes it. The words say what that shows.
async fn without_cookie(ctx: &Ctx, collection: &str, jar: Option<&str>) -> Result<String> {
    let create = unique(&ctx.setup().crud.create);
    let web = ctx.web();
    let created = web.send("POST", collection, jar, Some(&create)).await?;
    let item = item_path(collection, &created)?;
    let n = expected(ctx, Kind::Dynamic).await.unwrap_or(2).clamp(1, 6) * 2;
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for _ in 0..n {
        let s = ctx.probe.get(&item, None).await?;
        let who = s.who.as_ref().map_or("?".to_string(), |w| w.server.clone());
        match s.answer.status {
            // Another instance may hold another item under the same id.
            200 if contains_values(&s.answer.body, &create) => found.push(who),
            200 | 404 => missing.push(who),
            other => bail!(
                "GET {item} without a cookie answered {other}: {}",
                excerpt(&s.answer)
            ),
        }
    }
    web.send("DELETE", &item, jar, None).await?;
    Ok(if missing.is_empty() {
        format!(
            "without the cookie, {n} new clients all found a new item ({}): the instances share \
             their data (or there is one), so stickiness is not what keeps it",
            tally(&found)
        )
    } else {
        format!(
            "without the cookie, a new item was found by {} of {n} new clients ({}) and missing \
             for {} ({}): each instance keeps its own data, which is why the API is sticky",
            found.len(),
            if found.is_empty() {
                "-".into()
            } else {
                tally(&found)
            },
            missing.len(),
            tally(&missing)
        )
    })
}

/// `body` with each `{unique}` replaced by a value no other request of any run used, so that
/// an item is told apart from its look-alikes (another instance's, an earlier run's).
pub fn unique(body: &str) -> String {
    static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    body.replace("{unique}", &format!("{:x}-{n}", nanos))
}

/// `name=value` of the sticky cookie: lab.toml's name, else the first cookie set.
fn sticky_cookie(ctx: &Ctx, a: &Answer) -> Option<String> {
    let c = match &ctx.setup().cookie {
        Some(name) => a.set_cookie(name),
        None => a.set_cookies().into_iter().next(),
    }?;
    Some(format!("{}={}", c.name, c.value))
}

/// Where the created item is: its `Location` (made relative to this host), else the
/// collection and the `id` in the answer (at the top, or in the first object of a list).
pub fn item_path(collection: &str, created: &Answer) -> Result<String> {
    if let Some(location) = created
        .headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
    {
        let path = match location.find("://") {
            Some(i) => location[i + 3..]
                .find('/')
                .map_or("/", |j| &location[i + 3 + j..]),
            None => location,
        };
        if path.starts_with('/') {
            return Ok(path.to_string());
        }
        return Ok(format!("{collection}/{path}"));
    }
    let json: Value = serde_json::from_str(&created.body).unwrap_or(Value::Null);
    match find_id(&json) {
        Some(id) => Ok(format!("{collection}/{id}")),
        None => bail!(
            "POST {collection} answered {} with no Location header and no `id` in its JSON: \
             say where the new item is (Location: {collection}/ID, or its id in the body): {}",
            created.status,
            excerpt(created)
        ),
    }
}

fn find_id(v: &Value) -> Option<String> {
    match v {
        Value::Object(map) => match map.get("id") {
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => map.values().find_map(|inner| match inner {
                Value::Array(list) => list.first().and_then(find_id),
                Value::Object(_) => find_id(inner),
                _ => None,
            }),
        },
        Value::Array(list) => list.first().and_then(find_id),
        _ => None,
    }
}

/// Every string and number of the JSON object `sent` appears in `body`: the item as sent.
pub fn contains_values(body: &str, sent: &str) -> bool {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(sent) else {
        return false;
    };
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let text = parsed.to_string();
    map.values().all(|v| match v {
        Value::String(s) => {
            text.contains(&Value::String(s.clone()).to_string()) || body.contains(s.as_str())
        }
        Value::Number(n) => body.contains(&n.to_string()),
        _ => true,
    })
}

fn by(a: &Answer) -> String {
    a.served_by
        .as_ref()
        .map(|s| format!(" from {s}"))
        .unwrap_or_default()
}

fn on(a: &Answer) -> String {
    a.served_by
        .as_ref()
        .map(|s| format!(" on {s}"))
        .unwrap_or_default()
}

fn excerpt(a: &Answer) -> String {
    let body: String = a.body.chars().take(200).collect();
    if body.is_empty() {
        "(empty body)".into()
    } else {
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, LOCATION};

    fn answer(location: Option<&str>, body: &str) -> Answer {
        let mut headers = HeaderMap::new();
        if let Some(l) = location {
            headers.insert(LOCATION, HeaderValue::from_str(l).unwrap());
        }
        Answer {
            path: "/api/jokes".into(),
            status: 201,
            served_by: None,
            headers,
            body: body.into(),
        }
    }

    #[test]
    fn the_item_is_where_location_says_else_where_its_id_says() {
        let c = "/api/jokes";
        assert_eq!(
            item_path(c, &answer(Some("/api/jokes/61"), "")).unwrap(),
            "/api/jokes/61"
        );
        assert_eq!(
            item_path(c, &answer(Some("https://localhost/api/jokes/7"), "")).unwrap(),
            "/api/jokes/7"
        );
        assert_eq!(
            item_path(c, &answer(Some("7"), "")).unwrap(),
            "/api/jokes/7"
        );
        assert_eq!(
            item_path(c, &answer(None, r#"{"id": 3, "title": "x"}"#)).unwrap(),
            "/api/jokes/3"
        );
        assert_eq!(
            item_path(c, &answer(None, r#"{"server": {}, "jokes": [{"id": 61}]}"#)).unwrap(),
            "/api/jokes/61"
        );
        assert_eq!(
            item_path(c, &answer(None, r#"{"id": "ab-1"}"#)).unwrap(),
            "/api/jokes/ab-1"
        );
        let e = item_path(c, &answer(None, r#"{"ok": true}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no Location header and no `id`"), "{e}");
    }

    #[test]
    fn unique_bodies_differ() {
        let body = r#"{"title": "x {unique}"}"#;
        let (a, b) = (unique(body), unique(body));
        assert_ne!(a, b);
        assert!(!a.contains("{unique}"));
        assert!(serde_json::from_str::<Value>(&a).is_ok());
        assert_eq!(unique(r#"{"title": "x"}"#), r#"{"title": "x"}"#);
    }

    #[test]
    fn the_item_read_back_must_hold_what_was_sent() {
        let sent = r#"{"setup": "Why?", "punchline": "Because \"so\".", "year": 2023}"#;
        let body = r#"{"jokes": [{"id": 1, "setup": "Why?", "punchline": "Because \"so\".", "year": 2023}]}"#;
        assert!(contains_values(body, sent));
        assert!(!contains_values(
            r#"{"setup": "Why?", "punchline": "No."}"#,
            sent
        ));
        assert!(!contains_values(body, "not json"));
    }
}
