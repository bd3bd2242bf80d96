//! Inputs the endpoints do not understand are refused with the reason, never silently dropped:
//! every unknown key on the action endpoint, near misses on `/api/token` (the others are
//! ignored, counted and logged once), TTLs in both forms, and a required identity.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn the_action_endpoint_refuses_unknown_keys_with_a_suggestion() {
    let r = router(&base_config(""));
    let admin = Some(ADMIN_KEY);
    for (body, field, meant) in [
        (
            json!({"identity": "a", "canPublsh": false}),
            "canPublsh",
            Some("canPublish"),
        ),
        (
            json!({"identity": "a", "can_publish": false}),
            "can_publish",
            Some("canPublish"),
        ),
        (
            json!({"identity": "a", "room_name": "x"}),
            "room_name",
            Some("room"),
        ),
        (
            json!({"identity": "a", "hiden": true}),
            "hiden",
            Some("hidden"),
        ),
        (json!({"identity": "a", "flux": 1}), "flux", None),
    ] {
        let reply = action(&r, admin, body.clone()).await;
        let error = reply.error(400, "bad_request");
        assert_eq!(error["field"], field, "{body}: {}", reply.text);
        let message = error["message"].as_str().unwrap();
        match meant {
            Some(meant) => assert!(
                message.contains(&format!("did you mean {meant:?}")),
                "{body}: {message}"
            ),
            None => assert!(
                message.contains("the fields are identity, room, ttl"),
                "{message}"
            ),
        }
    }
    // The same body spelled right is issued, and not publishing is what the token says.
    let reply = action(&r, admin, json!({"identity": "a", "canPublish": false})).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    let claims = verify(reply.json["token"].as_str().unwrap());
    assert_eq!(claims.video.unwrap().can_publish, Some(false));
}

#[tokio::test]
async fn the_action_endpoint_requires_an_identity_and_reads_ttls_like_the_cli() {
    let r = router(&base_config(""));
    let admin = Some(ADMIN_KEY);
    for body in [json!({}), json!({"identity": ""}), json!({"room": "x"})] {
        let reply = action(&r, admin, body.clone()).await;
        let error = reply.error(400, "bad_request");
        assert_eq!(error["field"], "identity", "{body}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("identity is required")
        );
    }
    for (ttl, secs) in [
        (json!(120), 120),
        (json!("1h"), 3600),
        (json!("1h30m"), 5400),
    ] {
        let reply = action(&r, admin, json!({"identity": "a", "ttl": ttl})).await;
        assert_eq!(reply.status.as_u16(), 200, "{ttl}: {}", reply.text);
        assert_eq!(
            ttl_of(&verify(reply.json["token"].as_str().unwrap())),
            secs,
            "{ttl}"
        );
    }
    for (ttl, says) in [
        (json!(0), "already expired"),
        (json!("0s"), "already expired"),
        (json!(-60), "negative"),
        (json!(1.5), "not whole seconds"),
        (json!("soon"), "not a duration"),
        (json!(true), "not a boolean"),
    ] {
        let reply = action(&r, admin, json!({"identity": "a", "ttl": ttl})).await;
        let error = reply.error(400, "bad_request");
        assert_eq!(error["field"], "ttl", "{ttl}");
        assert!(
            error["message"].as_str().unwrap().contains(says),
            "{ttl}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn the_standard_endpoint_refuses_near_misses_and_counts_other_unknown_keys() {
    let r = router(&base_config(""));
    let backend = Some(BACKEND_KEY);
    for (body, field, meant) in [
        (
            json!({"room": "x", "participant_identity": "y"}),
            "room",
            "room_name",
        ),
        (
            json!({"room_name": "x", "identity": "y"}),
            "identity",
            "participant_identity",
        ),
        (json!({"roomname": "x"}), "roomname", "room_name"),
        (
            json!({"participant_id": "y"}),
            "participant_id",
            "participant_identity",
        ),
        (
            json!({"room_config": {"agents": [{"agentname": "triage"}]}}),
            "room_config.agents.0.agentname",
            "agent_name",
        ),
        (
            json!({"room_config": {"emptyTimout": 10}}),
            "room_config.emptyTimout",
            "emptyTimeout",
        ),
        (
            json!({"room_config": {"max_participant": 3}}),
            "room_config.max_participant",
            "max_participants",
        ),
    ] {
        let reply = token(&r, backend, body.clone()).await;
        let error = reply.error(400, "bad_request");
        assert_eq!(error["field"], field, "{body}: {}", reply.text);
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("did you mean {meant:?}")),
            "{body}: {message}"
        );
    }
    // The SDKs' flat agent options belong inside room_config.
    // The SDKs' flat agent options belong in room_config.agents, at the top level or inside
    // room_config (where `agent_name` is not the room's `name`, nor `agentMetadata` its
    // metadata).
    for (body, field) in [
        (json!({"agentName": "triage"}), "agentName"),
        (
            json!({"room_config": {"agent_name": "triage"}}),
            "room_config.agent_name",
        ),
        (
            json!({"room_config": {"agentMetadata": "{}"}}),
            "room_config.agentMetadata",
        ),
        (
            json!({"room_config": {"deployment": "staging"}}),
            "room_config.deployment",
        ),
    ] {
        let reply = token(&r, backend, body.clone()).await;
        let error = reply.error(400, "bad_request");
        assert_eq!(error["field"], field, "{body}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("agent options go in room_config.agents"),
            "{body}: {}",
            reply.text
        );
    }
    // A bare participant field means the participant's.
    let reply = token(&r, backend, json!({"name": "Ann"})).await;
    assert!(
        reply.error(400, "bad_request")["message"]
            .as_str()
            .unwrap()
            .contains("did you mean \"participant_name\""),
        "{}",
        reply.text
    );
    // A later client's field that starts with one of ours is not a near miss.
    let reply = token(
        &r,
        backend,
        json!({"participant_identity": "p", "room_name_hint": "x"}),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);

    // A key of a later client version is ignored, counted, and logged once by name.
    let before = ignored_count(&r).await;
    for _ in 0..3 {
        let reply = token(
            &r,
            backend,
            json!({"room_name": "r", "participant_identity": "p", "client_build": "2027.1"}),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
        let claims = reply.issued();
        assert_eq!((claims.sub.as_str(), claims.room()), ("p", "r"));
    }
    assert_eq!(ignored_count(&r).await, before + 3.0);
    let lines = logs()
        .text()
        .lines()
        .filter(|l| l.contains("ignoring an unknown request field") && l.contains("client_build"))
        .count();
    assert_eq!(lines, 1, "logged once per name");
    // Keys inside maps are data, not fields.
    let reply = token(
        &r,
        backend,
        json!({"participant_identity": "p", "participant_attributes": {"room": "x"}}),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
}

async fn ignored_count(r: &axum::Router) -> f64 {
    let metrics = get(r, "/metrics").await.text;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("roomkey_request_fields_ignored_total "))
        .unwrap_or_else(|| panic!("no ignored-fields counter in {metrics}"))
        .parse()
        .unwrap()
}
