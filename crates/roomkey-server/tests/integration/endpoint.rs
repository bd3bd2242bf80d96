//! The standard token endpoint's contract (shared spec `token-endpoint.md`): every request
//! field, both casings, `room_config: {}`, the response, and every 4xx.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

fn service() -> axum::Router {
    router(&base_config(""))
}

#[tokio::test]
async fn an_empty_request_gets_a_fresh_room_and_a_generated_identity() {
    let r = service();
    let a = token(&r, Some(BACKEND_KEY), json!({})).await;
    let claims = a.issued();
    assert_eq!(a.json["server_url"], LIVEKIT_URL);
    assert!(claims.room().starts_with("room-"), "{}", claims.room());
    assert!(claims.sub.starts_with("p-"));
    assert_eq!(a.json["participant_name"], "");
    assert_eq!(ttl_of(&claims), 3600);
    let video = claims.video.as_ref().unwrap();
    assert!(video.room_join);
    assert_eq!(video.can_update_own_metadata, Some(true));
    assert!(claims.room_config.is_none());
    // `issued()` has checked that the answer has exactly the four documented keys.

    // A second call without a room gets another room (components-js relies on it).
    let b = token(&r, Some(BACKEND_KEY), json!({})).await.issued();
    assert_ne!(claims.room(), b.room());
    assert_ne!(claims.sub, b.sub);

    // A body of whitespace only, or none at all, reads as {}.
    for body in [" \n", ""] {
        call(&r, backend_raw(Some("application/json"), body))
            .await
            .issued();
    }
}

/// Asserts that every field of the full request below arrived in the token and the answer.
#[track_caller]
fn check_full(case: &str, claims: &roomkey_token::Claims, reply: &Reply) {
    assert_eq!(claims.sub, "u-7", "{case}");
    assert_eq!(claims.name, "Ada", "{case}");
    assert_eq!(claims.metadata, r#"{"lang":"de"}"#, "{case}");
    assert_eq!(
        claims.attributes.get("team").map(String::as_str),
        Some("blue"),
        "{case}"
    );
    assert_eq!(claims.room(), "support-42", "{case}");
    assert_eq!(reply.json["room_name"], "support-42", "{case}");
    assert_eq!(reply.json["participant_name"], "Ada", "{case}");
    let config = claims.room_config.as_ref().expect("roomConfig");
    assert_eq!(config.agents.len(), 1, "{case}");
    assert_eq!(config.agents[0].agent_name, "triage", "{case}");
    assert_eq!(config.agents[0].metadata, "job", "{case}");
    assert_eq!(config.agents[0].deployment, "staging", "{case}");
    assert_eq!(config.empty_timeout, 30, "{case}");
    assert_eq!(config.max_participants, 4, "{case}");
    assert!(config.egress.is_none(), "{case}");
    // The response stays snake_case.
    assert!(reply.json.get("participantToken").is_none(), "{case}");
    assert!(reply.json.get("serverUrl").is_none(), "{case}");
}

/// The same full request in snake_case, in camelCase, and mixed with fields roomkey does not
/// know (which are ignored).
#[tokio::test]
async fn every_field_in_either_casing_and_unknown_fields_are_fine() {
    let r = service();
    let cases = [
        (
            "snake_case",
            json!({
                "room_name": "support-42",
                "participant_name": "Ada",
                "participant_identity": "u-7",
                "participant_metadata": "{\"lang\":\"de\"}",
                "participant_attributes": {"team": "blue"},
                "room_config": {
                    "agents": [{"agent_name": "triage", "metadata": "job", "deployment": "staging"}],
                    "empty_timeout": 30,
                    "max_participants": 4
                }
            }),
        ),
        (
            "camelCase",
            json!({
                "roomName": "support-42",
                "participantName": "Ada",
                "participantIdentity": "u-7",
                "participantMetadata": "{\"lang\":\"de\"}",
                "participantAttributes": {"team": "blue"},
                "roomConfig": {
                    "agents": [{"agentName": "triage", "metadata": "job", "deployment": "staging"}],
                    "emptyTimeout": 30,
                    "maxParticipants": "4"
                }
            }),
        ),
        (
            "mixed casing and unknown fields",
            json!({
                "room_name": "support-42",
                "participantName": "Ada",
                "participant_identity": "u-7",
                "participantMetadata": "{\"lang\":\"de\"}",
                "participant_attributes": {"team": "blue"},
                "roomConfig": {
                    "agents": [{"agent_name": "triage", "metadata": "job", "deployment": "staging"}],
                    "empty_timeout": 30,
                    "maxParticipants": 4,
                    "someFutureSetting": {"x": 1}
                },
                "a_future_field": [1, 2, 3]
            }),
        ),
    ];
    for (case, body) in cases {
        let reply = token(&r, Some(BACKEND_KEY), body).await;
        check_full(case, &reply.issued(), &reply);
    }
}

#[tokio::test]
async fn an_empty_room_config_is_absent_even_for_callers_who_may_not_set_it() {
    // The kiosk may set nothing; mobile SDKs still send room_config: {}.
    let r = service();
    for body in [
        json!({"room_config": {}}),
        json!({"roomConfig": {}}),
        json!({"room_config": null}),
        json!({"room_config": {"agents": [], "tags": {}, "emptyTimeout": 0, "metadata": "", "syncStreams": false}}),
        json!({"room_name": "lobby", "room_config": {}}),
        // Empty strings and maps count as unset too.
        json!({"participant_name": "", "participant_identity": "", "participant_metadata": "", "participant_attributes": {}}),
    ] {
        let reply = token(&r, Some(KIOSK_KEY), body.clone()).await;
        let claims = reply.issued();
        assert!(claims.room_config.is_none(), "{body}");
        assert!(claims.sub.starts_with("p-"), "{body}");
        assert!(
            !claims.video.as_ref().unwrap().effective_can_publish(),
            "{body}"
        );
    }
    let lobby = token(&r, Some(KIOSK_KEY), json!({"roomName": "lobby"})).await;
    assert_eq!(lobby.issued().room(), "lobby");
    let generated = token(&r, Some(KIOSK_KEY), json!({})).await.issued();
    assert!(generated.room().starts_with("kiosk-"));
}

#[tokio::test]
async fn unauthenticated_requests_get_401_with_a_json_body() {
    let r = service();
    let missing = token(&r, None, json!({})).await;
    let e = missing.error(401, "unauthenticated");
    assert!(e["message"].as_str().unwrap().contains("Authorization"));
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));

    let unknown = token(&r, Some("rk_not_a_key"), json!({})).await;
    unknown.error(401, "unauthenticated");
    assert!(!unknown.text.contains("rk_not_a_key"));

    // `{}` with this Authorization header.
    let authorized = |value: &str| {
        let request = post_raw("/api/token", None, Some("application/json"), "{}");
        with_header(request, "authorization", value)
    };
    for value in ["Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer ", BACKEND_KEY] {
        call(&r, authorized(value))
            .await
            .error(401, "unauthenticated");
    }
    // The scheme is case-insensitive in practice ("bearer").
    call(&r, authorized(&format!("bearer {BACKEND_KEY}")))
        .await
        .issued();
}

#[tokio::test]
async fn malformed_bodies_get_400() {
    let r = service();
    let json = [
        r#"{"room_name": "#,
        "[]",
        "null",
        "42",
        r#"{"room_name": 5}"#,
        r#"{"participant_attributes": {"a": 1}}"#,
        r#"{"participant_attributes": ["a"]}"#,
        r#"{"room_config": {"agents": {"agent_name": "triage"}}}"#,
        r#"{"room_config": {"empty_timeout": -1}}"#,
        r#"{"room_config": "{}"}"#,
        // The same field in both spellings.
        r#"{"room_name": "a", "roomName": "b"}"#,
        r#"{"room_config": {"emptyTimeout": 1, "empty_timeout": 2}}"#,
    ]
    .map(|body| (body.as_bytes(), None));
    // Not UTF-8, inside a string and outside one: not JSON, and said so.
    let not_utf8: [&[u8]; 2] = [
        b"{\"room_name\": \"caf\xe9\"}",
        b"{\"room_name\": \"a\"}\xff",
    ];
    let not_utf8 = not_utf8.map(|body| (body, Some("not valid UTF-8")));
    for (body, says) in json.into_iter().chain(not_utf8) {
        let reply = call(&r, backend_raw(Some("application/json"), body.to_vec())).await;
        let shown = String::from_utf8_lossy(body);
        assert_eq!(reply.status.as_u16(), 400, "{shown} → {}", reply.text);
        let message = reply.error(400, "bad_request")["message"].as_str().unwrap();
        if let Some(says) = says {
            assert!(message.contains(says), "{shown} → {message}");
        }
    }
}

#[tokio::test]
async fn non_json_requests_get_415() {
    let r = service();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let reply = call(&r, backend_raw(ct, "{}")).await;
        reply.error(415, "unsupported_media_type");
    }
    call(
        &r,
        backend_raw(Some("application/json; charset=utf-8"), "{}"),
    )
    .await
    .issued();
}

#[tokio::test]
async fn fields_outside_the_policy_get_403_naming_the_field() {
    let r = service();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"participant_identity": "alice"}),
            "participant_identity",
        ),
        (
            json!({"participantIdentity": "alice"}),
            "participant_identity",
        ),
        (json!({"participant_name": "Alice"}), "participant_name"),
        (json!({"participantName": "Alice"}), "participant_name"),
        (
            json!({"participant_metadata": "{}"}),
            "participant_metadata",
        ),
        (json!({"participantMetadata": "x"}), "participant_metadata"),
        (
            json!({"participant_attributes": {"a": "b"}}),
            "participant_attributes",
        ),
        (
            json!({"participantAttributes": {"a": "b"}}),
            "participant_attributes",
        ),
        (json!({"room_name": "boardroom"}), "room_name"),
        (json!({"roomName": "support"}), "room_name"),
        (
            json!({"room_config": {"agents": [{"agent_name": "triage"}]}}),
            "room_config.agents",
        ),
        (json!({"roomConfig": {"emptyTimeout": 600}}), "room_config"),
        (json!({"room_config": {"metadata": "x"}}), "room_config"),
        (
            json!({"room_config": {"egress": {"room": {"file_outputs": []}}}}),
            "room_config.egress",
        ),
    ];
    for (body, field) in cases {
        let reply = token(&r, Some(KIOSK_KEY), body.clone()).await;
        reply.forbidden(field);
    }
}

#[tokio::test]
async fn values_over_livekit_limits_get_400_naming_the_field() {
    let r = router(&base_config("max_body_bytes = 1048576"));
    let long = "x".repeat(257);
    let cases = [
        (
            json!({"participant_identity": long}),
            "participant_identity",
        ),
        (json!({"participant_name": long}), "participant_name"),
        (json!({"room_name": long}), "room_name"),
        (
            json!({"participant_metadata": "m".repeat(512 * 1024 + 1)}),
            "participant_metadata",
        ),
        (
            json!({"participant_attributes": {"big": "a".repeat(64 * 1024)}}),
            "participant_attributes",
        ),
    ];
    for (body, field) in cases {
        let reply = token(&r, Some(BACKEND_KEY), body).await;
        let e = reply.error(400, "bad_request");
        assert_eq!(e["field"], field, "{}", reply.text);
    }
    // At the limits, fine.
    let at = "y".repeat(256);
    let reply = token(
        &r,
        Some(BACKEND_KEY),
        json!({"participant_identity": at, "participant_name": at, "room_name": at, "participant_metadata": "m".repeat(512 * 1024)}),
    )
    .await;
    let claims = reply.issued();
    assert_eq!(claims.sub.len(), 256);
}

#[tokio::test]
async fn other_paths_and_methods_get_json_errors() {
    let r = service();
    get(&r, "/api/nothing").await.error(404, "not_found");
    get(&r, "/api/token").await.error(405, "method_not_allowed");
    let put = Request::put("/api/token")
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    call(&r, put).await.error(405, "method_not_allowed");
}

#[tokio::test]
async fn health_endpoints() {
    let r = service();
    let h = get(&r, "/healthz").await;
    assert_eq!(h.status, StatusCode::OK);
    // No profile creates rooms: ready without asking LiveKit.
    let ready = get(&r, "/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    let page = get(&r, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.header("content-security-policy").is_some());
}

#[tokio::test]
async fn error_bodies_leak_nothing() {
    let r = service();
    let replies = [
        token(&r, Some("wrong-key"), json!({})).await,
        token(&r, Some(KIOSK_KEY), json!({"participant_identity": "x"})).await,
        token(&r, Some(KIOSK_KEY), json!({"room_name": "secret-room"})).await,
    ];
    for reply in replies {
        for secret in [
            API_SECRET,
            BACKEND_KEY,
            KIOSK_KEY,
            ADMIN_KEY,
            &hash_key(KIOSK_KEY),
        ] {
            assert!(!reply.text.contains(secret), "{}", reply.text);
        }
        // Does not tell which keys or profiles exist.
        assert!(!reply.text.contains("kiosk"), "{}", reply.text);
        assert!(!reply.text.contains("lobby"), "{}", reply.text);
    }
}

fn hash_key(key: &str) -> String {
    roomkey_server::hash_key(key)
}
