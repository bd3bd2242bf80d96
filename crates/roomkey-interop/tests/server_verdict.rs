//! The real LiveKit server's own verdict on roomkey's tokens: `GET /rtc/validate`, the check
//! the client SDKs make before they join, on `livekit-server` v1.13.5.

use std::time::Duration;

use roomkey_interop::livekit::{API_KEY, API_SECRET};
use roomkey_interop::{LiveKitServer, specs};
use roomkey_token::{AccessToken, ApiSecret, Claims, KeyPair, KeySet, Verifier};

fn key() -> KeyPair {
    KeyPair::new(API_KEY, &ApiSecret::new(API_SECRET)).expect("key pair")
}

/// What `/rtc/validate` answers a correctly signed, unexpired token, by the checks of the
/// server's `rtcservice.go` in their order: a video grant, the join grant, an identity, a room.
fn expected_answer(claims: &serde_json::Value) -> (u16, &'static str) {
    let video = &claims["video"];
    if video.is_null() {
        return (401, "no permissions to access the room");
    }
    if video["roomJoin"] != true {
        return (401, "permissions denied");
    }
    if claims["sub"].as_str().unwrap_or("").is_empty() {
        return (400, "identity cannot be empty");
    }
    if video["room"].as_str().unwrap_or("").is_empty() {
        return (400, "no room name");
    }
    (200, "success")
}

#[test]
fn every_spec_gets_the_verdict_its_grants_call_for() {
    let server = LiveKitServer::start();
    let key = key();
    let verifier = Verifier::new(KeySet::single(key.clone()));
    let specs = specs::load();
    assert_eq!(specs.len(), 40, "interop/specs.json has the 40 specs");
    let mut problems = Vec::new();
    let mut joins = 0;
    for spec in &specs {
        let claims: Claims = serde_json::from_value(spec.claims.clone()).expect("spec claims");
        let token = AccessToken::from_claims(claims)
            .with_ttl(Duration::from_secs(spec.ttl))
            .sign(&key)
            .unwrap_or_else(|e| panic!("roomkey cannot mint {}: {e}", spec.id));
        verifier
            .verify(&token)
            .unwrap_or_else(|e| panic!("roomkey refuses its own token for {}: {e}", spec.id));
        let (status, body) = server.validate(&token);
        let (want_status, want_body) = expected_answer(&spec.claims);
        if status != want_status || body.trim() != want_body {
            problems.push(format!(
                "{}: server answered {status} {body:?}, expected {want_status} {want_body:?}",
                spec.id
            ));
        }
        joins += usize::from(status == 200);
    }
    assert!(
        problems.is_empty(),
        "verdicts differ:\n{}",
        problems.join("\n")
    );
    assert!(
        joins >= 25,
        "most specs are join tokens; only {joins} joined"
    );
}
