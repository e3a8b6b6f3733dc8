//! X-Forwarded-For/-Proto/-Host/-Port and X-Real-Ip: what the server behind the proxy needs
//! to know about the client. Values sent by the client are kept (and For appended to) only when
//! the client is trusted (`forwardedheaders.trustedips` / `.insecure`); otherwise they are
//! replaced, so a client cannot pose as another address.

use std::net::IpAddr;

use http::header::{HeaderMap, HeaderName, HeaderValue, HOST};

pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
pub static X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
pub static X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");

/// Sets the forwarded headers for a request from the client whose address is `ip` (see
/// [`ip_value`], rendered once per connection). `port_value` is the entrypoint's port, `proto`
/// the connection's scheme (`http` or `https`).
pub fn apply(
    headers: &mut HeaderMap,
    ip: &HeaderValue,
    trusted: bool,
    port_value: &HeaderValue,
    proto: &'static str,
) {
    let ip = ip.clone();
    if trusted {
        if let Some(prev) = joined(headers, &X_FORWARDED_FOR) {
            let mut v = prev;
            v.push_str(", ");
            v.push_str(ip.to_str().unwrap_or_default());
            if let Ok(v) = HeaderValue::from_str(&v) {
                headers.insert(&X_FORWARDED_FOR, v);
            }
        } else {
            headers.insert(&X_FORWARDED_FOR, ip.clone());
        }
        if !headers.contains_key(&X_REAL_IP) {
            headers.insert(&X_REAL_IP, ip);
        }
        if !headers.contains_key(&X_FORWARDED_PROTO) {
            headers.insert(&X_FORWARDED_PROTO, HeaderValue::from_static(proto));
        }
        if !headers.contains_key(&X_FORWARDED_PORT) {
            headers.insert(&X_FORWARDED_PORT, port_value.clone());
        }
        if !headers.contains_key(&X_FORWARDED_HOST) {
            if let Some(h) = headers.get(HOST).cloned() {
                headers.insert(&X_FORWARDED_HOST, h);
            }
        }
    } else {
        headers.insert(&X_FORWARDED_FOR, ip.clone());
        headers.insert(&X_REAL_IP, ip);
        headers.insert(&X_FORWARDED_PROTO, HeaderValue::from_static(proto));
        headers.insert(&X_FORWARDED_PORT, port_value.clone());
        match headers.get(HOST).cloned() {
            Some(h) => {
                headers.insert(&X_FORWARDED_HOST, h);
            }
            None => {
                headers.remove(&X_FORWARDED_HOST);
            }
        }
        headers.remove("forwarded");
    }
}

fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut out: Option<String> = None;
    for v in headers.get_all(name) {
        let s = v.to_str().ok()?;
        match &mut out {
            Some(o) => {
                o.push_str(", ");
                o.push_str(s);
            }
            None => out = Some(s.to_string()),
        }
    }
    out
}

/// A client address as a header value (IPv4-mapped IPv6 shown as IPv4).
pub fn ip_value(ip: IpAddr) -> HeaderValue {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let mut buf = String::with_capacity(39);
    use std::fmt::Write;
    let _ = write!(buf, "{ip}");
    HeaderValue::from_str(&buf).expect("an IP address is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn untrusted_clients_cannot_spoof() {
        let mut h = headers(&[
            ("host", "demo.res.ch"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-host", "evil"),
        ]);
        apply(
            &mut h,
            &ip_value("10.0.0.9".parse().unwrap()),
            false,
            &HeaderValue::from_static("80"),
            "http",
        );
        assert_eq!(h["x-forwarded-for"], "10.0.0.9");
        assert_eq!(h["x-forwarded-host"], "demo.res.ch");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-port"], "80");
        assert_eq!(h["x-real-ip"], "10.0.0.9");
    }

    #[test]
    fn trusted_clients_are_appended_to() {
        let mut h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        h.append("x-forwarded-for", "5.6.7.8".parse().unwrap());
        apply(
            &mut h,
            &ip_value("::ffff:10.0.0.9".parse().unwrap()),
            true,
            &HeaderValue::from_static("443"),
            "https",
        );
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 5.6.7.8, 10.0.0.9");
    }
}
