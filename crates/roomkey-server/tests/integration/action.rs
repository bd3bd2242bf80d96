//! `POST /api/v1/generate-access-token`: the Generate Access Token action over HTTP, props by
//! their own names; and development mode. (`createRoomIfNotExists` in development mode is tested
//! against the real LiveKit server in `crates/roomkey-interop/tests/server_rooms.rs`.)

use roomkey_server::{App, Config, EnvOverrides, SUMMARY};
use serde_json::json;

use crate::common::*;

fn dev_env() -> EnvOverrides {
    EnvOverrides {
        listen: Some("127.0.0.1:0".into()),
        ..env()
    }
}

#[tokio::test]
async fn every_prop_reaches_the_token_in_development_mode() {
    let config = Config::dev(&dev_env()).unwrap();
    assert!(config.dev);
    let r = roomkey_server::router(App::new(config).unwrap());
    // No credentials needed in development mode.
    let reply = action(
        &r,
        None,
        json!({
            "identity": "alice", "room": "standup", "ttl": 120, "name": "Alice",
            "metadata": "{\"role\":\"host\"}",
            "canPublish": false, "canSubscribe": true, "canPublishData": true, "hidden": true,
            "roomCreate": true, "roomList": true, "roomRecord": true, "roomAdmin": true,
            "ingressAdmin": true, "canUpdateOwnMetadata": true, "recorder": true, "agent": true,
            "canSubscribeMetrics": true, "destinationRoom": "overflow",
            "createRoomIfNotExists": false
        }),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.json["summary"], SUMMARY);
    let jwt = reply.json["token"].as_str().unwrap();
    let claims = verify(jwt);
    assert_eq!(reply.json["expires_at"], claims.exp.unwrap());
    assert_eq!(reply.json["identity"], "alice");
    assert_eq!(reply.json["room"], "standup");
    assert_eq!(reply.json["server_url"], "ws://localhost:7880");
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.name, "Alice");
    assert_eq!(claims.metadata, "{\"role\":\"host\"}");
    assert_eq!(ttl_of(&claims), 120);
    let v = claims.video.clone().unwrap();
    assert!(v.room_join);
    assert_eq!(v.room, "standup");
    assert_eq!(v.can_publish, Some(false));
    assert_eq!(v.can_subscribe, Some(true));
    assert_eq!(v.can_publish_data, Some(true));
    assert!(v.hidden && v.room_create && v.room_list && v.room_record && v.room_admin);
    assert!(v.ingress_admin && v.recorder && v.agent);
    assert_eq!(v.can_update_own_metadata, Some(true));
    assert_eq!(v.can_subscribe_metrics, Some(true));
    assert_eq!(v.destination_room, "overflow");

    // Nothing but an identity: a join grant for a generated room, the default TTL.
    let reply = action(&r, None, json!({"identity": "bob"})).await;
    let claims = verify(reply.json["token"].as_str().unwrap());
    let v = claims.video.clone().unwrap();
    assert!(v.room_join && !v.room_admin && v.can_publish.is_none());
    assert!(v.room.starts_with("room-"));
    assert_eq!(ttl_of(&claims), 15 * 60);

    // The standard endpoint works without credentials too.
    let reply = token(
        &r,
        None,
        json!({"room_name": "standup", "participant_identity": "carol"}),
    )
    .await;
    assert_eq!(reply.issued().sub, "carol");

    // Wrong types are a 400.
    action(&r, None, json!({"identity": "x", "canPublish": "yes"}))
        .await
        .error(400, "bad_request");
    action(&r, None, json!({"identity": "x", "ttl": -5}))
        .await
        .error(400, "bad_request");
}

#[tokio::test]
async fn development_mode_refuses_non_loopback_addresses() {
    let public = EnvOverrides {
        listen: Some("0.0.0.0:8080".into()),
        ..env()
    };
    let e = Config::dev(&public).unwrap_err();
    assert!(e.to_string().contains("loopback"), "{e}");
    // A bad --listen is blamed on --listen, not on a ROOMKEY_LISTEN that was not set.
    let flag = EnvOverrides {
        listen_flag: Some("127.0.0.1".into()),
        ..env()
    };
    let e = Config::dev(&flag).unwrap_err().to_string();
    assert!(e.starts_with("--listen"), "{e}");
    assert!(
        e.contains("has no port") && !e.contains("ROOMKEY_LISTEN"),
        "{e}"
    );
    let var = EnvOverrides {
        listen: Some("127.0.0.1".into()),
        ..env()
    };
    let e = Config::dev(&var).unwrap_err().to_string();
    assert!(e.starts_with("ROOMKEY_LISTEN"), "{e}");
    // Host names are resolved: localhost is loopback.
    let named = EnvOverrides {
        listen_flag: Some("localhost:0".into()),
        ..env()
    };
    assert!(Config::dev(&named).unwrap().listen.ip().is_loopback());
    // Without credentials it uses the devkey/secret pair.
    let c = Config::dev(&EnvOverrides::default()).unwrap();
    assert_eq!(c.key.api_key(), "devkey");
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
}
