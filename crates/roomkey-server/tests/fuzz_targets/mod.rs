//! roomkey-server's fuzz targets' bodies, shared by the cargo-fuzz binaries
//! (`fuzz/fuzz_targets/{config,token_endpoint}.rs`; `fuzz/src/lib.rs` includes this file) and
//! by the stable smoke run (`tests/integration/fuzz_smoke.rs`). Only crates that
//! `roomkey-server` depends on (or its tests do) are used here.
//!
//! - `config`: `Config::parse` never panics, and never accepts a file that it refuses once the
//!   file has been read as TOML and written out again (`toml::from_str` → `toml::to_string`).
//! - `token_endpoint`: the body, as given, POSTed to `/api/token` and to
//!   `/api/v1/generate-access-token` by a caller of a restrictive profile (rooms `lobby` and
//!   `support-*`, generated rooms prefixed `kiosk-`, `can_publish = false`, no `lk.` attributes,
//!   no agents, ttl 10 min, at most 1 h). Whatever the body, a 2xx answer's token verifies and
//!   stays within the profile.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use roomkey_server::{App, AuditLog, Config, EnvOverrides, hash_key};
use roomkey_token::{ApiSecret, KeyPair, KeySet, Verifier};
use serde_json::Value;
use tower::ServiceExt as _;

/// The LiveKit key the server signs with.
pub const API_KEY: &str = "APIfuzz";
/// Its secret.
pub const API_SECRET: &str = "fuzz-secret-0123456789abcdefghijklmn";
/// The caller's key (its SHA-256 is in the configuration).
pub const CALLER_KEY: &str = "rk_fuzz_caller_Qw3Er5Ty7Ui9Op1A";
/// The profile's longest TTL, seconds.
pub const MAX_TTL: i64 = 3600;

fn env() -> EnvOverrides {
    EnvOverrides {
        api_key: Some(API_KEY.into()),
        api_secret: Some(API_SECRET.into()),
        ..EnvOverrides::default()
    }
}

/// Target `config`: the input as a configuration file.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if Config::parse("fuzz.toml", text, &env(), None).is_err() {
        return;
    }
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        panic!("Config::parse accepted what toml does not read");
    };
    let Ok(again) = toml::to_string(&table) else {
        return; // (toml cannot write every table it reads, e.g. some nestings)
    };
    if let Err(e) = Config::parse("fuzz.toml", &again, &env(), None) {
        panic!("accepted, but refused after a TOML round-trip: {e}\n--- written as:\n{again}");
    }
}

/// The configuration of the `token_endpoint` target.
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

struct Endpoint {
    runtime: tokio::runtime::Runtime,
    router: Router,
    verifier: Verifier,
}

fn endpoint() -> &'static Endpoint {
    static E: OnceLock<Endpoint> = OnceLock::new();
    E.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let config = Config::parse("fuzz.toml", &endpoint_config(), &env(), None)
            .expect("the target's configuration");
        let router = runtime.block_on(async {
            let app: Arc<App> = App::with_audit_log(config, AuditLog::Events).expect("app");
            roomkey_server::router(app)
        });
        let key = KeyPair::new(API_KEY, &ApiSecret::new(API_SECRET)).expect("key");
        Endpoint {
            runtime,
            router,
            verifier: Verifier::new(KeySet::single(key)),
        }
    })
}

/// Target `token_endpoint`: the input as the JSON body of both token endpoints.
pub fn token_endpoint(data: &[u8]) {
    let e = endpoint();
    let request: Option<Value> = serde_json::from_slice(data).ok();
    for path in ["/api/token", "/api/v1/generate-access-token"] {
        let req = Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {CALLER_KEY}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(data.to_vec()))
            .expect("a request");
        let (status, body) = e.runtime.block_on(async {
            let response = e.router.clone().oneshot(req).await.expect("infallible");
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body");
            (status, body)
        });
        assert!(
            !status.is_server_error(),
            "{path}: {status} for a request body"
        );
        if !status.is_success() {
            continue;
        }
        let answer: Value = serde_json::from_slice(&body).expect("a JSON answer");
        let token = ["participant_token", "token"]
            .iter()
            .find_map(|k| answer.get(*k).and_then(Value::as_str))
            .unwrap_or_else(|| panic!("{path}: no token in {answer}"));
        within_profile(path, token, request.as_ref());
    }
}

fn within_profile(path: &str, token: &str, request: Option<&Value>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let verified = endpoint()
        .verifier
        .verify_at(token, now)
        .unwrap_or_else(|err| panic!("{path}: the token does not verify: {err}"));
    let claims = &verified.claims;
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
