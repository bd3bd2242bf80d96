//! Target `headers`: the input's first three lines as the `Authorization`, `X-Forwarded-For` and
//! `Content-Type` of a request to `/api/token` and to `/api/inspect`, on a server that trusts
//! `X-Forwarded-For` and limits each address (to a rate no run reaches, so that both endpoints
//! read the header). An empty line, or one that is no valid header value, leaves its header out. Properties,
//! each against a rule written here from the README rather than from the server's code:
//! - no 5xx;
//! - a token is issued only to the caller's key in `Bearer <key>` form (either casing of the
//!   scheme, blanks around the key), and only when the last `X-Forwarded-For` entry is an IP
//!   address, bare or with a port, IPv6 in brackets or not;
//! - `/api/inspect` also refuses a forwarded entry that is no address;
//! - the canonical request (`Bearer <key>`, `application/json`, a usable forwarded address or
//!   none) gets its token.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;

use axum::http::{HeaderName, HeaderValue, header};

use super::{CALLER_KEY, Endpoint, endpoint_config};

/// The request body: a room and an identity the profile allows.
const BODY: &[u8] = br#"{"room_name":"lobby","participant_identity":"fz"}"#;

/// [`endpoint_config`] behind a proxy whose `X-Forwarded-For` is trusted, with a per-address
/// limit of a billion requests a minute.
pub fn headers_config() -> String {
    let config =
        endpoint_config().replace("per_ip_per_minute = 0", "per_ip_per_minute = 1000000000");
    assert!(config.contains("per_ip_per_minute = 1000000000"));
    format!("trust_forwarded_for = true\n{config}")
}

fn endpoint() -> &'static Endpoint {
    static E: OnceLock<Endpoint> = OnceLock::new();
    E.get_or_init(|| Endpoint::new(&headers_config()))
}

pub fn headers(data: &[u8]) {
    let mut lines = data.splitn(4, |&b| b == b'\n');
    // An empty line leaves its header out, as does one that is no valid header value.
    let mut next = || {
        lines
            .next()
            .filter(|l| !l.is_empty())
            .and_then(|l| HeaderValue::from_bytes(l).ok())
    };
    let (auth, forwarded, content_type) = (next(), next(), next());

    let mut sent: Vec<(HeaderName, HeaderValue)> = Vec::new();
    for (name, value) in [
        (header::AUTHORIZATION, &auth),
        (HeaderName::from_static("x-forwarded-for"), &forwarded),
        (header::CONTENT_TYPE, &content_type),
    ] {
        if let Some(value) = value {
            sent.push((name, value.clone()));
        }
    }
    let e = endpoint();
    let address_ok = forwarded
        .as_ref()
        .is_none_or(|v| forwarded_client(v).is_some());
    let key_ok = auth
        .as_ref()
        .and_then(bearer_key)
        .is_some_and(|k| k == CALLER_KEY);

    let (status, body) = e.post("/api/token", &sent, BODY);
    assert!(!status.is_server_error(), "/api/token: {status}");
    if status.is_success() {
        assert!(key_ok, "a token for Authorization {auth:?}");
        assert!(address_ok, "a token for X-Forwarded-For {forwarded:?}");
        let claims = e.issued("/api/token", &body);
        assert_eq!(claims.sub, "fz");
        assert_eq!(claims.room(), "lobby");
    }
    let canonical = auth
        .as_ref()
        .is_some_and(|v| v.as_bytes() == format!("Bearer {CALLER_KEY}").as_bytes())
        && content_type
            .as_ref()
            .is_some_and(|v| v.as_bytes() == b"application/json")
        && address_ok;
    if canonical {
        assert!(
            status.is_success(),
            "the canonical request was refused: {status} {body:?}"
        );
    }

    let (status, _) = e.post("/api/inspect", &sent, br#"{"token":"not-a-token"}"#);
    assert!(!status.is_server_error(), "/api/inspect: {status}");
    if !address_ok {
        assert!(
            !status.is_success(),
            "/api/inspect took X-Forwarded-For {forwarded:?}"
        );
    }
}

/// The key of an `Authorization: Bearer <key>` value, as the README describes it.
fn bearer_key(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?;
    let scheme = text.get(..7)?;
    scheme
        .eq_ignore_ascii_case("bearer ")
        .then(|| text[7..].trim_matches([' ', '\t']))
}

/// The client address a proxy appended as the last `X-Forwarded-For` entry.
fn forwarded_client(value: &HeaderValue) -> Option<IpAddr> {
    let text = std::str::from_utf8(value.as_bytes()).ok()?;
    let last = text.rsplit(',').next()?.trim_matches([' ', '\t']);
    if let Ok(ip) = last.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = last.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let bracketed = last.strip_prefix('[')?.strip_suffix(']')?;
    bracketed.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}
