//! `[webhooks]`: the server receives the LiveKit server's webhooks at the configured path,
//! verified, a retried delivery recognised, counted by event, logged without the token.

use axum::body::Body;
use axum::http::{Request, header};
use roomkey_token::webhook::sign_webhook;
use roomkey_token::{ApiSecret, KeyPair};

use crate::common::*;

const BODY: &str = r#"{"event":"participant_joined","room":{"sid":"RM_w","name":"standup"},"participant":{"sid":"PA_w","identity":"hook-alice"},"id":"EV_webhook1","createdAt":"1800000000"}"#;

fn webhook(path: &str, body: &str, auth: Option<&str>) -> Request<Body> {
    let mut builder = Request::post(path).header(header::CONTENT_TYPE, "application/webhook+json");
    if let Some(auth) = auth {
        builder = builder.header(header::AUTHORIZATION, auth);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

fn server_key() -> KeyPair {
    KeyPair::new(API_KEY, &ApiSecret::new(API_SECRET)).unwrap()
}

#[tokio::test]
async fn webhooks_are_verified_deduplicated_counted_and_logged_without_the_token() {
    let r = router(&base_config("[webhooks]\npath = \"/livekit/webhook\""));
    let auth = sign_webhook(BODY.as_bytes(), &server_key()).unwrap();
    let first = call(&r, webhook("/livekit/webhook", BODY, Some(&auth))).await;
    assert_eq!(first.status.as_u16(), 200, "{}", first.text);
    assert_eq!(first.header("cache-control"), Some("no-store"));
    // The server retries a delivery it thinks failed: the same id is answered 200 again, and
    // counted as a duplicate, not as a second event.
    let again = call(&r, webhook("/livekit/webhook", BODY, Some(&auth))).await;
    assert_eq!(again.status.as_u16(), 200);
    let tampered = BODY.replace("hook-alice", "hook-mallory");
    let refused = call(&r, webhook("/livekit/webhook", &tampered, Some(&auth))).await;
    assert_eq!(refused.status.as_u16(), 401);
    assert!(
        refused.text.contains("not the one the server signed"),
        "{}",
        refused.text
    );
    let missing = call(&r, webhook("/livekit/webhook", BODY, None)).await;
    assert_eq!(missing.status.as_u16(), 401);
    assert!(
        missing.text.contains("no Authorization header"),
        "{}",
        missing.text
    );
    let other_key = KeyPair::new("APIother", &ApiSecret::new(API_SECRET)).unwrap();
    let stranger = sign_webhook(BODY.as_bytes(), &other_key).unwrap();
    let unknown = call(&r, webhook("/livekit/webhook", BODY, Some(&stranger))).await;
    assert_eq!(unknown.status.as_u16(), 401);

    let metrics = get(&r, "/metrics").await.text;
    for line in [
        "roomkey_webhooks_received_total{event=\"participant_joined\"} 1",
        "roomkey_webhook_duplicates_total 1",
        "roomkey_webhooks_refused_total{reason=\"body_mismatch\"} 1",
        "roomkey_webhooks_refused_total{reason=\"missing_auth\"} 1",
        "roomkey_webhooks_refused_total{reason=\"unknown_key\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
    let logs = logs().text();
    assert!(logs.contains("hook-alice"), "the log names the participant");
    assert!(logs.contains("EV_webhook1"));
    assert!(!logs.contains(&auth), "the token is never logged");
}

#[tokio::test]
async fn webhooks_are_off_unless_configured_and_the_path_is_checked() {
    let r = router(&base_config(""));
    let auth = sign_webhook(BODY.as_bytes(), &server_key()).unwrap();
    let reply = call(&r, webhook("/livekit/webhook", BODY, Some(&auth))).await;
    assert_eq!(reply.status.as_u16(), 404);
    for path in ["/metrics", "/api/hooks", "livekit", "/hook?x=1", "/"] {
        let text = base_config(&format!("[webhooks]\npath = {path:?}"));
        let e = roomkey_server::Config::parse("t.toml", &text, &env(), None).unwrap_err();
        assert!(e.message.contains("[webhooks] path"), "{path}: {e}");
        assert!(e.line > 0, "{path}: the error names the line");
    }
}

#[tokio::test]
async fn a_keys_file_lets_the_old_and_the_new_key_sign_during_a_rotation() {
    let dir = std::env::temp_dir().join(format!("roomkey-webhook-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = dir.join("keys.yaml");
    std::fs::write(
        &keys,
        "APIold: old-secret-0123456789abcdefghijklmnopq\nAPInew: new-secret-0123456789abcdefghijklmnopq\n",
    )
    .unwrap();
    let text = base_config(&format!(
        "[webhooks]\npath = \"/hooks\"\nkeys_file = {:?}",
        keys.display().to_string()
    ));
    let r = roomkey_server::router(
        roomkey_server::App::new(
            roomkey_server::Config::parse("t.toml", &text, &env(), None).unwrap(),
        )
        .unwrap(),
    );
    for (name, secret, body_id) in [
        ("APIold", "old-secret-0123456789abcdefghijklmnopq", "EV_old"),
        ("APInew", "new-secret-0123456789abcdefghijklmnopq", "EV_new"),
    ] {
        let body = BODY.replace("EV_webhook1", body_id);
        let key = KeyPair::new(name, &ApiSecret::new(secret)).unwrap();
        let auth = sign_webhook(body.as_bytes(), &key).unwrap();
        let reply = call(&r, webhook("/hooks", &body, Some(&auth))).await;
        assert_eq!(reply.status.as_u16(), 200, "{name}: {}", reply.text);
    }
    // The minting key is not among them now.
    let auth = sign_webhook(BODY.as_bytes(), &server_key()).unwrap();
    assert_eq!(
        call(&r, webhook("/hooks", BODY, Some(&auth)))
            .await
            .status
            .as_u16(),
        401
    );
    let _ = std::fs::remove_dir_all(&dir);
}
