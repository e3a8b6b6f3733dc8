//! The management UI (lab step 9): a page at `/manage/` on the API entrypoint that lists the
//! compose services and their containers with what the proxy does with each (UP/DOWN,
//! requests, sticky clients), and adds, starts, stops and removes nodes.
//!
//! Off unless asked for: a non-empty token turns it on (`--api.manage.token`,
//! `--api.manage.tokenfile`, or the `LAB_MANAGE_TOKEN` environment variable, which compose
//! passes through only when it is set); `--api.manage=false` keeps it off regardless, and an
//! explicitly empty `--api.manage.token=` too. It needs `--api.insecure=true` (it lives on the API entrypoint) and
//! `--providers.docker` (it acts through the same engine).
//!
//! Without the token the page is read-only; actions need a session (cookie + CSRF token +
//! same Origin) or a bearer token, see [`auth`]. Every action and every refusal is logged.
//! Changes reach routing through the Docker provider's event handling, not through this
//! module: a stopped node leaves the rotation on the engine's `kill` event, before its process
//! exits.

pub mod actions;
pub mod auth;
pub mod view;

#[cfg(test)]
mod fake;

use std::sync::{Arc, OnceLock};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::provider::docker::{ContainerActions, Engine};
use crate::runtime::Runtime;

use actions::{ActionError, Request};
use auth::{Auth, Denied};

/// The UI's shared state.
#[derive(Clone)]
struct Manage {
    rt: Arc<Runtime>,
    engine: Arc<dyn ContainerActions>,
    auth: Arc<Auth>,
    /// This host's name: in a container, its short id, which finds the proxy's own project.
    hostname: Option<String>,
    own_project: Arc<OnceLock<String>>,
}

/// The UI's routes when `--api.manage` is on (and the Docker provider is), else `None`.
pub fn app<S>(rt: &Arc<Runtime>) -> Option<Router<S>> {
    let opts = rt.static_config.manage.clone()?;
    let docker = rt.static_config.docker.as_ref()?;
    let engine = Engine::new(docker.endpoint.as_deref());
    tracing::info!(
        "management UI enabled at /manage/ on the API entrypoint (actions need the token)"
    );
    Some(app_with(
        rt.clone(),
        Arc::new(engine),
        opts.token.expose(),
        std::env::var("HOSTNAME").ok(),
    ))
}

/// [`app`] with any engine (a fake one in tests).
pub fn app_with<S>(
    rt: Arc<Runtime>,
    engine: Arc<dyn ContainerActions>,
    token: &str,
    hostname: Option<String>,
) -> Router<S> {
    let shared = Manage {
        rt,
        engine,
        auth: Arc::new(Auth::new(token)),
        hostname,
        own_project: Arc::new(OnceLock::new()),
    };
    Router::new()
        .route("/manage", get(|| async { Redirect::to("/manage/") }))
        .route("/manage/", get(page))
        .route("/manage/app.js", get(script))
        .route("/manage/app.css", get(style))
        .route("/manage/login", post(login))
        .route("/manage/logout", post(logout))
        .route("/manage/api/state", get(state))
        .route("/manage/api/services/{project}/{service}/add", post(add))
        .route("/manage/api/nodes/{id}/{action}", post(node_action))
        // Unknown actions: credentials first, so a visitor learns nothing from the routes.
        .route("/manage/api/{*rest}", post(unknown_action))
        .with_state(shared)
}

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("app.js");
const STYLE: &str = include_str!("app.css");

/// Headers of every UI response: nothing external may load, nothing may frame the page
/// (clickjacking the buttons), nothing is cached.
fn hardened(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
             img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        // Not `no-referrer`: under it browsers send `Origin: null` on POSTs, and the Origin
        // check would refuse the page's own actions. `same-origin` leaks nothing elsewhere.
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn page(State(m): State<Manage>, headers: HeaderMap) -> Response {
    let csrf = m
        .auth
        .session_of(&headers)
        .map(|(_, csrf)| csrf)
        .unwrap_or_default();
    hardened(Html(PAGE.replace("{{CSRF}}", &csrf)).into_response())
}

async fn script() -> Response {
    hardened(
        (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            SCRIPT,
        )
            .into_response(),
    )
}

async fn style() -> Response {
    hardened(([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response())
}

impl Manage {
    /// The nodes in scope, and the project the scope is.
    async fn scoped_nodes(
        &self,
    ) -> Result<(Vec<crate::provider::docker::Node>, Option<String>), ActionError> {
        let nodes = self.engine.nodes().await?;
        let project = self.project(&nodes);
        Ok((view::in_scope(nodes, project.as_deref()), project))
    }

    fn project(&self, nodes: &[crate::provider::docker::Node]) -> Option<String> {
        if let Some(p) = self.own_project.get() {
            return Some(p.clone());
        }
        let p = view::own_project(nodes, self.hostname.as_deref())?;
        Some(self.own_project.get_or_init(|| p).clone())
    }
}

async fn state(State(m): State<Manage>, headers: HeaderMap) -> Response {
    let authenticated = m.auth.session_of(&headers).is_some();
    let snap = m.rt.snapshot.load();
    let v = match m.scoped_nodes().await {
        Ok((nodes, project)) => view::build(&nodes, &snap, authenticated, project),
        Err(e) => {
            let mut v = view::build(&[], &snap, authenticated, None);
            v.error = Some(e.to_string());
            v
        }
    };
    hardened(Json(v).into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(m): State<Manage>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    if !auth::same_origin(&headers) {
        tracing::warn!(action = "login", reason = %Denied::Origin, "management login refused");
        return hardened((StatusCode::FORBIDDEN, Denied::Origin.to_string()).into_response());
    }
    match m.auth.login(&f.token) {
        Some((sid, _)) => {
            tracing::info!(who = %auth::Who::Session(auth::session_tag(&sid)), action = "login", result = "ok", "management login");
            let mut r = Redirect::to("/manage/").into_response();
            if let Ok(v) = HeaderValue::from_str(&auth::session_set_cookie(&sid)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            hardened(r)
        }
        None => {
            tracing::warn!(
                action = "login",
                result = "wrong token",
                "management login refused"
            );
            // Slows guessing down; the token is long enough that this is only a courtesy.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            hardened(
                (
                    StatusCode::UNAUTHORIZED,
                    Html("<!doctype html><title>Wrong token</title><p>Wrong token. <a href=\"/manage/\">Back</a></p>"),
                )
                    .into_response(),
            )
        }
    }
}

async fn logout(State(m): State<Manage>, headers: HeaderMap) -> Response {
    match m.auth.authorize(&headers) {
        Ok(who) => {
            if let Some(sid) = auth::session_cookie(&headers) {
                m.auth.logout(&sid);
            }
            tracing::info!(who = %who, action = "logout", result = "ok", "management logout");
            let mut r = Json(json!({ "ok": true, "message": "logged out" })).into_response();
            if let Ok(v) = HeaderValue::from_str(&auth::session_clear_cookie()) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            hardened(r)
        }
        Err(d) => refused(d, "logout", ""),
    }
}

fn refused(d: Denied, action: &str, target: &str) -> Response {
    tracing::warn!(action, target, reason = %d, "management action refused");
    hardened(
        (
            d.status(),
            Json(json!({ "ok": false, "message": d.to_string() })),
        )
            .into_response(),
    )
}

async fn add(
    State(m): State<Manage>,
    Path((project, service)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    act(
        m,
        headers,
        Request::Add {
            service: format!("{project}/{service}"),
        },
    )
    .await
}

async fn node_action(
    State(m): State<Manage>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match Request::parse(&action, &id) {
        Some(Request::Add { .. }) | None => hardened(
            (
                StatusCode::NOT_FOUND,
                Json(json!({ "ok": false, "message": format!("no action `{action}` on a node: use start, stop or remove") })),
            )
                .into_response(),
        ),
        Some(req) => act(m, headers, req).await,
    }
}

async fn unknown_action(
    State(m): State<Manage>,
    Path(rest): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(d) = m.auth.authorize(&headers) {
        return refused(d, "unknown", &rest);
    }
    hardened(
        (
            StatusCode::NOT_FOUND,
            Json(json!({ "ok": false, "message": format!("no action at /manage/api/{rest}") })),
        )
            .into_response(),
    )
}

async fn act(m: Manage, headers: HeaderMap, req: Request) -> Response {
    let who = match m.auth.authorize(&headers) {
        Ok(who) => who,
        Err(d) => return refused(d, req.verb(), req.target()),
    };
    let project = match m.engine.nodes().await {
        Ok(nodes) => m.project(&nodes),
        Err(e) => return failed(&who, &req, ActionError::Engine(e)),
    };
    match actions::perform(m.engine.as_ref(), project.as_deref(), &req).await {
        Ok(done) => {
            tracing::info!(who = %who, action = req.verb(), target = req.target(), result = "ok", "management action: {done}");
            hardened(Json(json!({ "ok": true, "message": done })).into_response())
        }
        Err(e) => failed(&who, &req, e),
    }
}

fn failed(who: &auth::Who, req: &Request, e: ActionError) -> Response {
    tracing::warn!(who = %who, action = req.verb(), target = req.target(), result = "failed", error = %e, "management action failed");
    let status = match e {
        ActionError::NotFound(_) => StatusCode::NOT_FOUND,
        ActionError::Engine(_) => StatusCode::BAD_GATEWAY,
    };
    hardened(
        (
            status,
            Json(json!({ "ok": false, "message": e.to_string() })),
        )
            .into_response(),
    )
}

#[cfg(test)]
mod tests;
