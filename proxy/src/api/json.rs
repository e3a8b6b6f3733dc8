//! Traefik v2's API shapes, built from a snapshot, so Traefik knowledge (and tools) transfer.
//! Additions of ours: `serverRequests` (url -> requests sent) on services, `/api/issues`.

use serde_json::{json, Map, Value};

use crate::config::merge::Status;
use crate::runtime::Runtime;
use crate::snapshot::Snapshot;
use crate::static_config::API_ENTRYPOINT;

fn with_status(
    mut v: Value,
    name: &str,
    provider: &str,
    status: Status,
    errors: &[String],
) -> Value {
    let o = v.as_object_mut().expect("an object");
    o.insert("status".into(), json!(status));
    if !errors.is_empty() {
        o.insert("error".into(), json!(errors));
    }
    o.insert("name".into(), json!(name));
    o.insert("provider".into(), json!(provider));
    v
}

pub fn router(rt: &Runtime, snap: &Snapshot, name: &str) -> Option<Value> {
    let e = snap.merged.routers.get(name)?;
    let r = &e.router;
    let eps = if r.entry_points.is_empty() {
        rt.data_entrypoints.clone()
    } else {
        r.entry_points.clone()
    };
    let mut v = json!({
        "entryPoints": eps,
        "service": r.service,
        "rule": r.rule,
        "priority": e.priority,
        "using": eps,
    });
    if !r.middlewares.is_empty() {
        v["middlewares"] = json!(r.middlewares);
    }
    if let Some(tls) = &r.tls {
        v["tls"] = json!(tls);
    }
    if let Some(syntax) = r.rule_syntax {
        v["ruleSyntax"] = json!(syntax);
    }
    Some(with_status(v, name, &e.provider, e.status, &e.errors))
}

pub fn service(snap: &Snapshot, name: &str) -> Option<Value> {
    let e = snap.merged.services.get(name)?;
    let mut v = json!({ "loadBalancer": e.service.load_balancer, "type": "loadbalancer" });
    if let Some(b) = snap.balancers.get(name) {
        let mut status = Map::new();
        let mut counts = Map::new();
        for s in &b.servers {
            status.insert(
                s.url.to_string(),
                json!(if s.is_up() { "UP" } else { "DOWN" }),
            );
            counts.insert(s.url.to_string(), json!(s.requests()));
        }
        v["serverStatus"] = Value::Object(status);
        v["serverRequests"] = Value::Object(counts);
    }
    if !e.used_by.is_empty() {
        v["usedBy"] = json!(e.used_by);
    }
    if let Some(c) = &e.sticky_cookie_name {
        v["stickyCookie"] = json!({ "name": c, "path": e.sticky_cookie_path });
    }
    Some(with_status(v, name, &e.provider, e.status, &e.errors))
}

pub fn middleware(snap: &Snapshot, name: &str) -> Option<Value> {
    let e = snap.merged.middlewares.get(name)?;
    let mut v = serde_json::to_value(&e.middleware).unwrap_or_else(|_| json!({}));
    v["type"] = json!(e.middleware.type_name());
    if !e.used_by.is_empty() {
        v["usedBy"] = json!(e.used_by);
    }
    Some(with_status(v, name, &e.provider, e.status, &e.errors))
}

fn counts(statuses: impl Iterator<Item = Status>) -> Value {
    let (mut total, mut warnings, mut errors) = (0, 0, 0);
    for s in statuses {
        total += 1;
        match s {
            Status::Warning => warnings += 1,
            Status::Disabled => errors += 1,
            Status::Enabled => {}
        }
    }
    json!({ "total": total, "warnings": warnings, "errors": errors })
}

pub fn overview(rt: &Runtime, snap: &Snapshot) -> Value {
    let cfg = &rt.static_config;
    let mut providers = Vec::new();
    if cfg.docker.is_some() {
        providers.push("Docker");
    }
    if cfg.file.is_some() {
        providers.push("File");
    }
    let zero = json!({ "total": 0, "warnings": 0, "errors": 0 });
    json!({
        "http": {
            "routers": counts(snap.merged.routers.values().map(|e| e.status)),
            "services": counts(snap.merged.services.values().map(|e| e.status)),
            "middlewares": counts(snap.merged.middlewares.values().map(|e| e.status)),
        },
        "tcp": { "routers": zero, "services": zero, "middlewares": zero },
        "udp": { "routers": zero, "services": zero },
        "features": {
            "tracing": "",
            "metrics": if cfg.metrics { "Prometheus" } else { "" },
            "accessLog": cfg.access_log,
        },
        "providers": providers,
        "issues": snap.merged.issues.len(),
    })
}

pub fn rawdata(rt: &Runtime, snap: &Snapshot) -> Value {
    let routers: Map<String, Value> = snap
        .merged
        .routers
        .keys()
        .filter_map(|n| router(rt, snap, n).map(|v| (n.clone(), v)))
        .collect();
    let services: Map<String, Value> = snap
        .merged
        .services
        .keys()
        .filter_map(|n| service(snap, n).map(|v| (n.clone(), v)))
        .collect();
    let middlewares: Map<String, Value> = snap
        .merged
        .middlewares
        .keys()
        .filter_map(|n| middleware(snap, n).map(|v| (n.clone(), v)))
        .collect();
    json!({
        "routers": routers,
        "services": services,
        "middlewares": middlewares,
        "issues": snap.merged.issues,
    })
}

pub fn entrypoints(rt: &Runtime) -> Value {
    let cfg = &rt.static_config;
    Value::Array(
        cfg.entrypoints
            .iter()
            .map(|(name, ep)| {
                json!({
                    "name": name,
                    "address": ep.address,
                    "boundAddress": rt.bound.get(name).map(|a| a.to_string()),
                    "api": name == API_ENTRYPOINT && !rt.data_entrypoints.contains(name),
                    "transport": {
                        "lifeCycle": { "graceTimeOut": crate::config::duration_str::format(&ep.grace_timeout) },
                        "respondingTimeouts": { "readTimeout": crate::config::duration_str::format(&ep.header_read_timeout) },
                    },
                    "forwardedHeaders": {
                        "insecure": ep.trust_all_forwarded,
                        "trustedIPs": ep.trusted_ips.iter().map(|n| format!("{}/{}", n.addr, n.prefix)).collect::<Vec<_>>(),
                    },
                    "http": entrypoint_http(&ep.http),
                })
            })
            .collect(),
    )
}

/// An entrypoint's `http` section in Traefik's shape: `{"tls": {}}`, `{"redirections": ...}`.
fn entrypoint_http(h: &crate::entrypoint_http::EntryPointHttp) -> Value {
    let mut out = serde_json::Map::new();
    if h.tls {
        out.insert("tls".into(), json!({}));
    }
    if let Some(r) = &h.redirect {
        out.insert(
            "redirections".into(),
            json!({ "entryPoint": { "to": r.to, "scheme": r.scheme, "permanent": r.permanent } }),
        );
    }
    Value::Object(out)
}

pub fn issues(snap: &Snapshot) -> Value {
    json!(snap.merged.issues)
}
