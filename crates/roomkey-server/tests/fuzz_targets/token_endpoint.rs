//! Target `token_endpoint`: the input, as given, POSTed as the JSON body to `/api/token` and to
//! `/api/v1/generate-access-token` by a caller of a restrictive profile (rooms `lobby` and
//! `support-*`, generated rooms prefixed `kiosk-`, `can_publish = false`, no `lk.` attributes,
//! no agents, ttl 10 min, at most 1 h). Whatever the body: no 5xx, and a 2xx answer's token
//! verifies and stays within the profile.

use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use roomkey_server::hash_key;
use serde_json::Value;

use super::{CALLER_KEY, Endpoint, unix_now};

/// The profile's longest TTL, seconds.
pub const MAX_TTL: i64 = 3600;

/// The configuration of the `token_endpoint` target (the `headers` target builds on it).
pub fn endpoint_config() -> String {
    format!(
        r#"livekit_url = "wss://lk.fuzz.invalid"

[rate_limit]
per_caller_per_minute = 0
per_ip_per_minute = 0

[[caller]]
name = "fuzzer"
key_sha256 = "{key}"
profile = "narrow"
admin = true

[profile.narrow]
rooms = ["lobby", "support-*"]
room_prefix = "kiosk-"
identity = "request"
fields = ["participant_identity", "participant_name", "participant_metadata", "participant_attributes", "ttl"]
ttl = "10m"
max_ttl = "1h"

[profile.narrow.grants]
can_publish = false
"#,
        key = hash_key(CALLER_KEY)
    )
}

fn endpoint() -> &'static Endpoint {
    static E: OnceLock<Endpoint> = OnceLock::new();
    E.get_or_init(|| Endpoint::new(&endpoint_config()))
}

pub fn token_endpoint(data: &[u8]) {
    let e = endpoint();
    let request: Option<Value> = serde_json::from_slice(data).ok();
    let headers = [
        (
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {CALLER_KEY}")).expect("a header value"),
        ),
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
    ];
    for path in ["/api/token", "/api/v1/generate-access-token"] {
        let (status, body) = e.post(path, &headers, data);
        assert!(
            !status.is_server_error(),
            "{path}: {status} for a request body"
        );
        if status.is_success() {
            within_profile(path, &e.issued(path, &body), request.as_ref());
        }
    }
}

fn within_profile(path: &str, claims: &roomkey_token::Claims, request: Option<&Value>) {
    let now = unix_now();
    let video = claims.video.as_ref().expect("a video grant");
    assert_ne!(video.can_publish, Some(true), "{path}: canPublish granted");
    for (name, granted) in [
        ("roomAdmin", video.room_admin),
        ("roomCreate", video.room_create),
        ("roomList", video.room_list),
        ("roomRecord", video.room_record),
        ("ingressAdmin", video.ingress_admin),
        ("hidden", video.hidden),
        ("recorder", video.recorder),
        ("agent", video.agent),
    ] {
        assert!(!granted, "{path}: {name} granted");
    }
    assert!(video.room_join, "{path}: no roomJoin");
    assert!(video.destination_room.is_empty(), "{path}: destinationRoom");
    let room = claims.room();
    let asked = request
        .and_then(|r| {
            ["room_name", "roomName", "room"]
                .iter()
                .find_map(|k| r.get(*k))
        })
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty());
    let allowed = room == "lobby"
        || room.starts_with("support-")
        || (asked.is_none() && room.starts_with("kiosk-"));
    assert!(allowed, "{path}: room {room:?} is outside the profile");
    if let Some(asked) = asked {
        assert_eq!(room, asked, "{path}: not the room asked for");
    }
    let exp = claims.exp.expect("exp");
    let start = claims.nbf.unwrap_or(now);
    assert!(exp - start <= MAX_TTL, "{path}: ttl {} s", exp - start);
    assert!(
        claims.attributes.keys().all(|k| !k.starts_with("lk.")),
        "{path}: lk. attributes"
    );
    if let Some(config) = &claims.room_config {
        assert!(config.agents.is_empty(), "{path}: agents dispatched");
    }
}
