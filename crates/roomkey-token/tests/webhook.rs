//! Webhook verification: what is accepted, and each refusal with its reason.

use roomkey_token::webhook::{
    EventName, WebhookError, WebhookOptions, body_digest, sign_webhook_at, verify_webhook,
};
use roomkey_token::{AccessToken, ApiSecret, KeyPair, KeySet};

const NOW: i64 = 1_800_000_000;
const BODY: &str = r#"{"event":"participant_joined","room":{"sid":"RM_x","name":"standup"},"participant":{"sid":"PA_y","identity":"alice"},"id":"EV_abc","createdAt":"1800000000","numDropped":0}"#;

fn key(name: &str, secret: &str) -> KeyPair {
    KeyPair::new(name, &ApiSecret::new(secret)).unwrap()
}

fn server_key() -> KeyPair {
    key("APIhook", "hook-secret-0123456789abcdefghijklmnop")
}

fn at(now: i64) -> WebhookOptions {
    WebhookOptions::default().at(now)
}

fn keys() -> KeySet {
    KeySet::single(server_key())
}

#[test]
fn a_signed_event_verifies_with_or_without_bearer_and_keeps_what_it_does_not_know() {
    let auth = sign_webhook_at(BODY.as_bytes(), &server_key(), NOW).unwrap();
    for header in [auth.clone(), format!("Bearer {auth}")] {
        let event = verify_webhook(BODY.as_bytes(), Some(&header), &keys(), at(NOW + 10)).unwrap();
        assert_eq!(event.event, EventName::ParticipantJoined);
        assert_eq!(event.id, "EV_abc");
        assert_eq!(event.created_at, 1_800_000_000);
        assert_eq!(event.room_name(), Some("standup"));
        assert_eq!(event.participant_identity(), Some("alice"));
        assert_eq!(event.other["numDropped"], 0);
    }
    // A name from a newer server is kept, not refused.
    let body = r#"{"event":"room_hibernated","id":"EV_1","createdAt":1800000000}"#;
    let auth = sign_webhook_at(body.as_bytes(), &server_key(), NOW).unwrap();
    let event = verify_webhook(body.as_bytes(), Some(&auth), &keys(), at(NOW)).unwrap();
    assert_eq!(event.event, EventName::Other("room_hibernated".into()));
    assert_eq!(event.event.as_str(), "room_hibernated");
    assert_eq!(event.created_at, 1_800_000_000);
}

#[test]
fn the_key_is_chosen_by_the_tokens_issuer_so_rotation_works() {
    let old = key("APIold", "old-secret-0123456789abcdefghijklmnopq");
    let new = key("APInew", "new-secret-0123456789abcdefghijklmnopq");
    let mut both = KeySet::single(old.clone());
    both.insert(new.clone());
    for signer in [&old, &new] {
        let auth = sign_webhook_at(BODY.as_bytes(), signer, NOW).unwrap();
        verify_webhook(BODY.as_bytes(), Some(&auth), &both, at(NOW)).unwrap();
    }
}

#[test]
fn each_refusal_names_its_reason() {
    let good = sign_webhook_at(BODY.as_bytes(), &server_key(), NOW).unwrap();
    let one_byte = BODY.replacen("alice", "alicf", 1);
    let reencoded =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(BODY).unwrap())
            .unwrap();
    let wrong_secret = sign_webhook_at(
        BODY.as_bytes(),
        &key("APIhook", "not-the-secret-0123456789abcdefghijk"),
        NOW,
    )
    .unwrap();
    let unknown_key = sign_webhook_at(
        BODY.as_bytes(),
        &key("APIstranger", "hook-secret-0123456789abcdefghijklmnop"),
        NOW,
    )
    .unwrap();
    let no_sha = AccessToken::new().sign_at(&server_key(), NOW).unwrap();
    let cases: Vec<(&str, &str, Option<&str>, i64, &str)> = vec![
        (
            "body changed by one byte",
            &one_byte,
            Some(&good),
            NOW,
            "body_mismatch",
        ),
        (
            "re-serialised JSON",
            &reencoded,
            Some(&good),
            NOW,
            "body_mismatch",
        ),
        ("wrong secret", BODY, Some(&wrong_secret), NOW, "bad_token"),
        ("unknown key", BODY, Some(&unknown_key), NOW, "unknown_key"),
        // Valid five minutes, then the 60 s leeway.
        ("expired", BODY, Some(&good), NOW + 300 + 60, "bad_token"),
        ("missing header", BODY, None, NOW, "missing_auth"),
        ("empty header", BODY, Some("  "), NOW, "missing_auth"),
        ("no sha256 claim", BODY, Some(&no_sha), NOW, "no_sha256"),
        ("not a JWT", BODY, Some("hello"), NOW, "bad_token"),
    ];
    for (case, body, auth, now, code) in cases {
        let err = verify_webhook(body.as_bytes(), auth, &keys(), at(now)).unwrap_err();
        assert_eq!(err.code(), code, "{case}: {err}");
        assert!(!err.to_string().is_empty());
    }
    // Within the lifetime and leeway, it passes.
    verify_webhook(BODY.as_bytes(), Some(&good), &keys(), at(NOW + 359)).unwrap();
    // A correctly signed body that is no event.
    let body = b"[1, 2]";
    let auth = sign_webhook_at(body, &server_key(), NOW).unwrap();
    let err = verify_webhook(body, Some(&auth), &keys(), at(NOW)).unwrap_err();
    assert!(matches!(err, WebhookError::MalformedBody { .. }), "{err}");
}

#[test]
fn the_digest_is_standard_padded_base64_of_sha256() {
    // SHA-256 of the empty string.
    assert_eq!(
        body_digest(b""),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
}
