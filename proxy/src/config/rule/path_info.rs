//! Path analysis: the path prefix every request a rule matches must start with, and the
//! narrowest cookie `Path` that covers them all (see [`Rule::cookie_path`]).

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct PathInfo {
    /// Every matching path starts with this.
    pub(super) prefix: String,
    /// Every matching path path-matches this (RFC 6265): it ends with `/`, or is an exact path.
    pub(super) cookie: String,
}

impl PathInfo {
    fn any() -> Self {
        PathInfo {
            prefix: "/".into(),
            cookie: "/".into(),
        }
    }
}

fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let mut n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    while !a.is_char_boundary(n) {
        n -= 1;
    }
    &a[..n]
}

fn up_to_slash(s: &str) -> String {
    s.rfind('/')
        .map_or_else(|| "/".to_string(), |i| s[..=i].to_string())
}

fn either(a: PathInfo, b: PathInfo) -> PathInfo {
    let prefix = common_prefix(&a.prefix, &b.prefix);
    let prefix = if prefix.is_empty() { "/" } else { prefix }.to_string();
    let cookie = if a.cookie == b.cookie {
        a.cookie
    } else {
        up_to_slash(common_prefix(&a.cookie, &b.cookie))
    };
    PathInfo { prefix, cookie }
}

fn both(a: PathInfo, b: PathInfo) -> PathInfo {
    let longer = |x: String, y: String| if y.len() > x.len() { y } else { x };
    PathInfo {
        prefix: longer(a.prefix, b.prefix),
        cookie: longer(a.cookie, b.cookie),
    }
}

pub(super) fn path_info(e: &Expr) -> PathInfo {
    match e {
        Expr::And(items) => items.iter().map(path_info).fold(PathInfo::any(), both),
        Expr::Or(items) => items
            .iter()
            .map(path_info)
            .reduce(either)
            .unwrap_or_else(PathInfo::any),
        Expr::Not(_) => PathInfo::any(),
        Expr::Call(m @ (Matcher::Path | Matcher::PathPrefix), args) => args
            .iter()
            .map(|a| {
                let literal = &a[..a.find('{').unwrap_or(a.len())];
                let exact = *m == Matcher::Path && literal.len() == a.len();
                let cookie = if exact || literal.ends_with('/') {
                    literal.to_string()
                } else {
                    up_to_slash(literal)
                };
                PathInfo {
                    prefix: literal.to_string(),
                    cookie,
                }
            })
            .reduce(either)
            .unwrap_or_else(PathInfo::any),
        Expr::Call(..) => PathInfo::any(),
    }
}
