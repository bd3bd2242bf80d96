//! Policy enforcement: every attempt to get more than the profile grants is refused, on both
//! endpoints, and nothing in a request widens a token.

use roomkey_token::TrackSource;
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn grant_shaped_fields_in_a_standard_request_are_ignored() {
    let r = router(&base_config(""));
    let reply = token(
        &r,
        Some(KIOSK_KEY),
        json!({
            "video": {"roomAdmin": true, "canPublish": true, "room": "other"},
            "grants": {"roomAdmin": true},
            "canPublish": true, "roomAdmin": true, "room_admin": true, "hidden": true,
            "ttl": 31_536_000, "kind": "agent", "roomPreset": "big", "sip": {"admin": true},
            "sub": "alice"
        }),
    )
    .await;
    let claims = reply.issued();
    let video = claims.video.as_ref().unwrap();
    assert!(!video.effective_can_publish());
    assert!(!video.room_admin && !video.hidden && !video.room_create && !video.room_list);
    assert!(claims.sip.is_none() && claims.kind.is_none() && claims.room_preset.is_empty());
    assert!(claims.sub.starts_with("p-") && claims.name.is_empty() && claims.metadata.is_empty());
    assert!(claims.room().starts_with("kiosk-"));
    assert_eq!(ttl_of(&claims), 600);
    // Keys that look like a field of the request (not like a grant) are refused instead:
    // the caller meant something the token would silently not carry.
    for key in ["identity", "name", "metadata", "room"] {
        token(&r, Some(KIOSK_KEY), json!({ key: "alice" }))
            .await
            .error(400, "bad_request");
    }
}

#[tokio::test]
async fn rooms_are_limited_to_the_names_and_patterns_listed() {
    let r = router(&base_config(""));
    for (room, ok) in [
        ("lobby", true),
        ("support-1", true),
        ("support-", true),
        ("support", false),
        ("lobby2", false),
        ("xsupport-1", false),
        ("Lobby", false),
        ("../lobby", false),
    ] {
        let reply = token(&r, Some(KIOSK_KEY), json!({ "room_name": room })).await;
        if ok {
            assert_eq!(reply.issued().room(), room);
        } else {
            reply.forbidden("room_name");
        }
    }
}

#[tokio::test]
async fn agents_are_limited_to_the_names_and_patterns_listed() {
    let r = router(&base_config(""));
    let ok = token(
        &r,
        Some(BACKEND_KEY),
        json!({"room_config": {"agents": [{"agent_name": "triage"}, {"agentName": "support-de"}]}}),
    )
    .await;
    let claims = ok.issued();
    assert_eq!(claims.room_config.unwrap().agents.len(), 2);

    // An agent not listed, and one without a name; the field names the one at fault.
    for (agents, field) in [
        (
            json!([{"agent_name": "triage"}, {"agent_name": "billing"}]),
            "room_config.agents[1].agent_name",
        ),
        (
            json!([{"metadata": "x"}]),
            "room_config.agents[0].agent_name",
        ),
    ] {
        let body = json!({"room_config": {"agents": agents}});
        token(&r, Some(BACKEND_KEY), body).await.forbidden(field);
    }
}

#[tokio::test]
async fn job_metadata_is_bounded_by_the_profile() {
    let at_limit = "m".repeat(2048);
    let agents = |second: &str| {
        json!({"room_config": {"agents": [
            {"agent_name": "triage", "metadata": at_limit},
            {"agent_name": "support-de", "metadata": second},
        ]}})
    };
    let r = router(&base_config(""));
    let claims = token(&r, Some(BACKEND_KEY), agents(&at_limit))
        .await
        .issued();
    assert_eq!(claims.room_config.unwrap().agents[1].metadata, at_limit);
    let over = format!("{at_limit}é");
    let reply = token(&r, Some(BACKEND_KEY), agents(&over)).await;
    reply.forbidden("room_config.agents[1].metadata");
    let message = reply.error(403, "forbidden")["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("2050 bytes") && message.contains("at most 2048"),
        "{message}"
    );

    // A profile may allow more.
    let r = router(&base_config("").replace(
        "agents = [\"triage\", \"support-*\"]",
        "agents = [\"triage\", \"support-*\"]\nmax_job_metadata_bytes = 4096",
    ));
    token(&r, Some(BACKEND_KEY), agents(&over)).await.issued();
}

#[tokio::test]
async fn egress_is_never_passed_through() {
    // The service profile may set every room setting, and still not egress.
    let r = router(&base_config(""));
    for egress in [
        json!({}),
        json!({"room": {"fileOutputs": [{"s3": {"bucket": "b", "secret": "s"}}]}}),
        json!({"tracks": {"filepath": "x"}}),
    ] {
        let body = json!({"room_config": {"empty_timeout": 10, "egress": egress}});
        let reply = token(&r, Some(BACKEND_KEY), body).await;
        reply.forbidden("room_config.egress");
    }
}

/// What the Generate Access Token action asks for, and whether the viewer-admin may have it.
#[tokio::test]
async fn seed_action_switches_cannot_exceed_the_profile() {
    let r = router(&base_config(""));
    // The viewer profile: can_publish = false, nothing else.
    for switch in [
        "canPublish",
        "canPublishData",
        "hidden",
        "roomCreate",
        "roomList",
        "roomRecord",
        "roomAdmin",
        "ingressAdmin",
        "canUpdateOwnMetadata",
        "recorder",
        "agent",
        "canSubscribeMetrics",
    ] {
        let asking = |value: bool| json!({"identity": "v1", "room": "r1", switch: value});
        let reply = action(&r, Some(VIEWER_ADMIN_KEY), asking(true)).await;
        reply.forbidden(switch);
        // Asking for false is narrowing, and fine.
        let reply = action(&r, Some(VIEWER_ADMIN_KEY), asking(false)).await;
        assert_eq!(reply.status.as_u16(), 200, "{switch}: {}", reply.text);
        verify(reply.json["token"].as_str().unwrap());
    }
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"identity": "v1", "destinationRoom": "stage"}),
            "destinationRoom",
        ),
        (json!({"identity": "v1", "ttl": 301}), "ttl"),
        (json!({"identity": "v1", "ttl": 86_400}), "ttl"),
        (
            json!({"identity": "v1", "createRoomIfNotExists": true}),
            "createRoomIfNotExists",
        ),
        (
            json!({"identity": "v1", "metadata": "m"}),
            "participant_metadata",
        ),
    ];
    for (body, field) in cases {
        action(&r, Some(VIEWER_ADMIN_KEY), body)
            .await
            .forbidden(field);
    }

    // Nothing asked: the profile's restriction carries over.
    let reply = action(
        &r,
        Some(VIEWER_ADMIN_KEY),
        json!({"identity": "v1", "room": "r1"}),
    )
    .await;
    let claims = verify(reply.json["token"].as_str().unwrap());
    let video = claims.video.clone().unwrap();
    assert!(video.room_join);
    assert!(!video.effective_can_publish() && !video.effective_can_publish_data());
    assert!(video.effective_can_subscribe());
    assert_eq!(ttl_of(&claims), 300);
    // Asking for the default TTL explicitly is fine.
    let reply = action(
        &r,
        Some(VIEWER_ADMIN_KEY),
        json!({"identity": "v1", "ttl": 300}),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
}

#[tokio::test]
async fn seed_action_within_the_admin_profile() {
    let r = router(&base_config(""));
    // Granted by the profile: fine, and only what was asked.
    let reply = action(
        &r,
        Some(ADMIN_KEY),
        json!({"identity": "op", "room": "r9", "roomAdmin": true, "hidden": true,
               "canUpdateOwnMetadata": true, "destinationRoom": "stage", "ttl": 7200}),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    let claims = verify(reply.json["token"].as_str().unwrap());
    let video = claims.video.clone().unwrap();
    assert!(video.room_admin && video.hidden && video.room_join);
    assert_eq!(video.room, "r9");
    assert_eq!(video.destination_room, "stage");
    assert_eq!(video.can_update_own_metadata, Some(true));
    assert!(!video.room_list, "roomList was not asked for");
    assert_eq!(
        video.can_publish_sources,
        [TrackSource::Camera, TrackSource::Microphone]
    );
    assert_eq!(ttl_of(&claims), 7200);

    // Not granted by the profile.
    for (body, field) in [
        (json!({"identity": "op", "roomCreate": true}), "roomCreate"),
        (json!({"identity": "op", "recorder": true}), "recorder"),
        (
            json!({"identity": "op", "ingressAdmin": true}),
            "ingressAdmin",
        ),
        (
            json!({"identity": "op", "canSubscribeMetrics": true}),
            "canSubscribeMetrics",
        ),
        (
            json!({"identity": "op", "destinationRoom": "elsewhere"}),
            "destinationRoom",
        ),
        (json!({"identity": "op", "ttl": 86_401}), "ttl"),
    ] {
        action(&r, Some(ADMIN_KEY), body).await.forbidden(field);
    }

    // The standard endpoint gives the admin profile's whole grant.
    let reply = token(&r, Some(ADMIN_KEY), json!({"participant_identity": "op"})).await;
    let video = reply.issued().video.unwrap();
    assert!(video.room_admin && video.room_list && video.hidden);
}

#[tokio::test]
async fn only_admin_callers_may_use_the_seed_action() {
    let r = router(&base_config(""));
    for key in [BACKEND_KEY, KIOSK_KEY] {
        action(&r, Some(key), json!({"identity": "x"}))
            .await
            .error(403, "admin_only");
    }
    action(&r, None, json!({"identity": "x"}))
        .await
        .error(401, "unauthenticated");
}

#[tokio::test]
async fn identity_request_strategy_needs_the_field() {
    // identity = "request" without participant_identity in fields: identities are generated
    // and a requested one is refused.
    let text = base_config("").replace(
        "fields = [\"participant_identity\", \"participant_name\"]\nttl = \"5m\"",
        "fields = [\"participant_name\"]\nttl = \"5m\"",
    );
    let r = router(&text);
    action(&r, Some(VIEWER_ADMIN_KEY), json!({"identity": "v1"}))
        .await
        .forbidden("participant_identity");
    // The action requires an identity; the standard endpoint generates one.
    let reply = token(&r, Some(VIEWER_ADMIN_KEY), json!({"participant_name": "V"})).await;
    assert!(reply.issued().sub.starts_with("p-"));
}
