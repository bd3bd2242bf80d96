//! Proof that the imitation speaks the real protocol: the official Node SDK
//! (`livekit-server-sdk` 2.19.2, its `RoomServiceClient`) runs against it through
//! `interop/node/roomservice.mjs`, and both what the SDK got and what the server saw are checked.
//!
//! Needs `interop/node_modules` (run `interop/setup.sh`); without it these tests fail, they are
//! never skipped.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use roomkey_testserver::{Fault, TestServer, TestServerConfig, participant};
use serde_json::{Value, json};

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop")
}

fn require_node_sdk() {
    let pkg = interop_dir().join("node_modules/livekit-server-sdk/package.json");
    assert!(
        pkg.is_file(),
        "the Node SDK is not installed ({} is missing): run interop/setup.sh first",
        pkg.display()
    );
}

async fn run_script(args: &[&str]) -> Value {
    require_node_sdk();
    let script = interop_dir().join("node/roomservice.mjs");
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("node")
            .arg(&script)
            .args(args)
            .current_dir(interop_dir())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("node did not finish within 120 s")
    .unwrap_or_else(|e| {
        panic!("could not run node ({e}); Node 20+ must be on PATH (see interop/setup.sh)")
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        script.display(),
        output.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("bad JSON from node ({e}): {stdout}"))
}

fn names(rooms: &Value) -> Vec<&str> {
    rooms
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn node_room_service_client() {
    let server = TestServer::start(TestServerConfig::default())
        .await
        .unwrap();
    let mut alice = participant("alice");
    alice.metadata = "seeded".into();
    let alice = server.seed_participant("seeded-room", alice);

    let url = server.url();
    let out = run_script(&[
        "basic",
        "--url",
        &url,
        "--key",
        "devkey",
        "--secret",
        "secret",
        "--seeded-room",
        "seeded-room",
        "--seeded-identity",
        "alice",
    ])
    .await;
    assert_eq!(out["sdk_version"], "2.19.2");

    // What the SDK parsed from our snake_case, all-fields JSON (printed back as protobuf-es JSON).
    let created = &out["created"];
    assert_eq!(created["name"], "node-room");
    assert!(created["sid"].as_str().unwrap().starts_with("RM_"));
    assert_eq!(created["emptyTimeout"], 120);
    assert_eq!(created["departureTimeout"], 20);
    assert_eq!(created["maxParticipants"], 7);
    assert_eq!(created["metadata"], r#"{"from":"node"}"#);
    assert_eq!(created["enabledCodecs"].as_array().unwrap().len(), 10);
    assert!(
        created["creationTime"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 1_700_000_000
    );
    // Idempotent create: same room, the new options ignored.
    assert_eq!(out["created_again"], out["created"]);
    assert_eq!(out["created_second"]["emptyTimeout"], 300);
    assert_eq!(
        names(&out["list_all"]),
        ["seeded-room", "node-room", "node-room-2"]
    );
    assert_eq!(names(&out["list_by_names"]), ["node-room"]);
    assert_eq!(out["participants_empty"], json!([]));
    assert_eq!(out["participants_seeded"].as_array().unwrap().len(), 1);
    assert_eq!(out["participant"]["identity"], "alice");
    assert_eq!(out["participant"]["sid"], alice.sid);
    assert_eq!(out["participant"]["state"], "ACTIVE");
    assert_eq!(out["participant"]["metadata"], "seeded");
    assert_eq!(out["participant"]["joinedAt"], alice.joined_at.to_string());
    assert_eq!(out["updated"]["metadata"], "updated-by-node");
    assert_eq!(out["delete_first"], json!({"ok": true}));
    assert_eq!(
        out["delete_again"]["error"],
        json!({
            "name": "Not Found",
            "message": "twirp error unknown: requested room does not exist",
            "status": 404,
            "code": "not_found",
            "metadata": null
        })
    );
    assert_eq!(out["get_missing"]["error"]["status"], 404);
    assert_eq!(
        out["get_missing"]["error"]["message"],
        "twirp error unknown: participant does not exist"
    );
    assert_eq!(out["list_after"], json!(["seeded-room", "node-room"]));
    // The real server's 401s are text/plain: Node keeps the text as the message, no code.
    assert_eq!(
        out["wrong_secret"]["error"],
        json!({
            "name": "Unauthorized",
            "message": "invalid authorization token: token signature is invalid: signature is invalid",
            "status": 401,
            "code": null,
            "metadata": null
        })
    );
    assert_eq!(out["unknown_key"]["error"]["message"], "invalid API key");

    // The server's state.
    let room = server.room("node-room").unwrap();
    assert_eq!(room.room.metadata, "updated-by-node");
    let req = &room.create_request;
    assert_eq!((req.empty_timeout, req.max_participants), (120, 7));
    assert_eq!(req.metadata, r#"{"from":"node"}"#);
    assert_eq!(room.agents().len(), 1);
    assert_eq!(room.agents()[0].agent_name, "helper-agent");
    assert_eq!(room.agents()[0].metadata, "agent-meta");
    assert!(server.room("node-room-2").is_none());

    // What the server saw: Node's JSON encoding and Node's least-privilege tokens.
    let log = server.request_log();
    let creates: Vec<_> = log
        .iter()
        .filter(|e| e.rpc.as_deref() == Some("CreateRoom") && e.status == Some(200))
        .collect();
    assert_eq!(creates.len(), 3);
    for e in &creates {
        assert_eq!(
            e.content_type.as_deref(),
            Some("application/json;charset=UTF-8")
        );
        assert!(
            e.user_agent
                .as_deref()
                .unwrap()
                .starts_with("livekit-server-sdk-node/")
        );
        assert_eq!(e.token_header().unwrap(), json!({"alg": "HS256"}));
        let payload = e.token_payload().unwrap();
        let mut keys: Vec<&str> = payload
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["exp", "iss", "nbf", "video"], "{payload}");
        assert_eq!(
            payload["video"],
            json!({"roomCreate": true}),
            "only roomCreate"
        );
        assert_eq!(payload["iss"], "devkey");
        assert_eq!(
            payload["exp"].as_i64().unwrap() - payload["nbf"].as_i64().unwrap(),
            600
        );
        let claims = e.claims().unwrap();
        assert_eq!(claims.sub, "");
    }
    assert_eq!(
        creates[0].request_json().unwrap(),
        json!({
            "name": "node-room",
            "emptyTimeout": 120,
            "maxParticipants": 7,
            "metadata": "{\"from\":\"node\"}",
            "agents": [{"agentName": "helper-agent", "metadata": "agent-meta"}]
        })
    );
    let lists: Vec<_> = log
        .iter()
        .filter(|e| e.rpc.as_deref() == Some("ListRooms") && e.status == Some(200))
        .collect();
    assert_eq!(
        lists[0].token_payload().unwrap()["video"],
        json!({"roomList": true})
    );
    assert_eq!(
        lists[1].request_json().unwrap(),
        json!({"names": ["node-room", "ghost"]})
    );
    let participants = log
        .iter()
        .find(|e| e.rpc.as_deref() == Some("ListParticipants"))
        .unwrap();
    assert_eq!(
        participants.token_payload().unwrap()["video"],
        json!({"roomAdmin": true, "room": "node-room"})
    );
    assert_eq!(server.attempts("DeleteRoom"), 2);
    assert_eq!(server.attempts("CreateRoom"), 4);
    // Self-hosted URL: exactly one attempt per call, even for the failed ones.
    assert_eq!(server.attempts("ListRooms"), 4);
}

#[tokio::test]
async fn node_failover_uses_the_regions_endpoint() {
    let backup = TestServer::start(TestServerConfig::default())
        .await
        .unwrap();
    let primary =
        TestServer::start(TestServerConfig::default().with_regions(vec![backup.ws_url()]))
            .await
            .unwrap();
    primary.inject_for("CreateRoom", Fault::Status(503), 1);
    let out = run_script(&[
        "failover",
        "--url",
        &primary.url(),
        "--key",
        "devkey",
        "--secret",
        "secret",
    ])
    .await;
    assert_eq!(out["result"]["ok"], true, "{out}");
    assert_eq!(out["result"]["value"]["name"], "failover-room");
    assert_eq!(primary.attempts("CreateRoom"), 1);
    assert_eq!(backup.attempts("CreateRoom"), 1);
    assert!(primary.rooms().is_empty());
    assert_eq!(backup.rooms().len(), 1);
    // The SDK asked the primary for its regions, with the same Authorization header.
    let regions = primary
        .request_log()
        .into_iter()
        .find(|e| e.path == "/settings/regions")
        .expect("a regions request");
    assert_eq!(
        (regions.method.as_str(), regions.status),
        ("GET", Some(200))
    );
    assert_eq!(
        regions.token_payload().unwrap()["video"],
        json!({"roomCreate": true})
    );
    // The retried request carries the same token.
    let first = &primary.request_log()[0];
    let retried = &backup.request_log()[0];
    assert_eq!(first.token, retried.token);
    assert!(out["warnings"][0].as_str().unwrap().contains("status 503"));
}
