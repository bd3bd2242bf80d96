//! A second proof, in protobuf this time: the official Python SDK (`livekit-api`, its
//! `RoomService`) against the imitation. Needs `interop/.venv` (run `interop/setup.sh`); without
//! it this test fails, it is never skipped.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use prost::Message as _;
use roomkey_testserver::proto::CreateRoomRequest;
use roomkey_testserver::{TestServer, TestServerConfig, participant};
use serde_json::{Value, json};

const SCRIPT: &str = r#"
import asyncio, json, sys
from google.protobuf.json_format import MessageToDict
from livekit import api

url, key, secret = sys.argv[1:4]
d = lambda m: MessageToDict(m, preserving_proto_field_name=True)

async def outcome(coro):
    try:
        v = await coro
        return {"ok": True, "value": d(v) if v is not None else None}
    except api.TwirpError as e:
        return {"ok": False, "code": e.code, "message": e.message, "status": e.status}

async def main():
    out = {}
    async with api.LiveKitAPI(url, key, secret) as lk:
        room = lk.room
        out["created"] = d(await room.create_room(api.CreateRoomRequest(
            name="py-room", empty_timeout=90, max_participants=5, metadata="py-meta",
            agents=[api.RoomAgentDispatch(agent_name="py-agent", metadata="am")])))
        out["created_again"] = d(await room.create_room(api.CreateRoomRequest(name="py-room", empty_timeout=1)))
        out["list_by_names"] = d(await room.list_rooms(api.ListRoomsRequest(names=["py-room", "ghost"])))
        out["participants"] = d(await room.list_participants(api.ListParticipantsRequest(room="seeded-room")))
        out["participant"] = d(await room.get_participant(api.RoomParticipantIdentity(room="seeded-room", identity="bob")))
        out["updated"] = d(await room.update_participant(api.UpdateParticipantRequest(
            room="seeded-room", identity="bob", metadata="new", attributes={"a": "1"},
            permission=api.ParticipantPermission(can_subscribe=True))))
        out["removed"] = await outcome(room.remove_participant(api.RoomParticipantIdentity(room="seeded-room", identity="bob")))
        out["removed_again"] = await outcome(room.remove_participant(api.RoomParticipantIdentity(room="seeded-room", identity="bob")))
        out["deleted"] = await outcome(room.delete_room(api.DeleteRoomRequest(room="py-room")))
        out["deleted_again"] = await outcome(room.delete_room(api.DeleteRoomRequest(room="py-room")))
    async with api.LiveKitAPI(url, key, "wrong-secret") as bad:
        out["wrong_secret"] = await outcome(bad.room.list_rooms(api.ListRoomsRequest()))
    print(json.dumps(out))

asyncio.run(main())
"#;

fn venv_python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/.venv/bin/python")
}

#[tokio::test]
async fn python_room_service() {
    let python = venv_python();
    assert!(
        python.is_file(),
        "the Python SDK is not installed ({} is missing): run interop/setup.sh first",
        python.display()
    );
    let server = TestServer::start(TestServerConfig::default())
        .await
        .unwrap();
    server.seed_participant("seeded-room", participant("bob"));
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(&python)
            .args(["-c", SCRIPT, &server.url(), "devkey", "secret"])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("python did not finish within 120 s")
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python failed ({}):\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = serde_json::from_str(stdout.trim()).unwrap();

    // What the SDK decoded from our protobuf answers (MessageToDict leaves defaults out).
    assert_eq!(out["created"]["name"], "py-room");
    assert_eq!(out["created"]["empty_timeout"], 90);
    assert_eq!(out["created"]["departure_timeout"], 20);
    assert_eq!(out["created"]["max_participants"], 5);
    assert_eq!(out["created"]["metadata"], "py-meta");
    assert_eq!(out["created_again"], out["created"]);
    assert_eq!(out["list_by_names"]["rooms"].as_array().unwrap().len(), 1);
    assert_eq!(out["participants"]["participants"][0]["identity"], "bob");
    assert_eq!(out["participant"]["state"], "ACTIVE");
    assert_eq!(out["updated"]["metadata"], "new");
    assert_eq!(out["updated"]["attributes"], json!({"a": "1"}));
    assert_eq!(out["updated"]["permission"], json!({"can_subscribe": true}));
    assert_eq!(out["removed"], json!({"ok": true, "value": {}}));
    assert_eq!(
        out["removed_again"],
        json!({"ok": false, "code": "not_found", "message": "twirp error unknown: participant does not exist", "status": 404})
    );
    assert_eq!(out["deleted"]["ok"], true);
    assert_eq!(
        out["deleted_again"],
        json!({"ok": false, "code": "not_found", "message": "twirp error unknown: requested room does not exist", "status": 404})
    );
    // A text/plain 401: Python keeps the status and reports code "unknown".
    assert_eq!(out["wrong_secret"]["status"], 401);
    assert_eq!(out["wrong_secret"]["ok"], false);

    // What the server saw: protobuf, and Python's tokens.
    let log = server.request_log();
    let create = log
        .iter()
        .find(|e| e.rpc.as_deref() == Some("CreateRoom"))
        .unwrap();
    assert_eq!(create.content_type.as_deref(), Some("application/protobuf"));
    assert_eq!(
        create.response_content_type.as_deref(),
        Some("application/protobuf")
    );
    assert!(
        create
            .user_agent
            .as_deref()
            .unwrap()
            .starts_with("livekit-server-sdk-python/")
    );
    let req = CreateRoomRequest::decode(create.request_body.as_ref()).unwrap();
    assert_eq!(
        (req.name.as_str(), req.empty_timeout, req.max_participants),
        ("py-room", 90, 5)
    );
    assert_eq!(req.agents[0].agent_name, "py-agent");
    let payload = create.token_payload().unwrap();
    assert_eq!(payload["sub"], "");
    assert_eq!(payload["video"]["roomCreate"], true);
    assert_eq!(
        payload["exp"].as_i64().unwrap() - payload["nbf"].as_i64().unwrap(),
        21_600
    );
    let remove = log
        .iter()
        .find(|e| e.rpc.as_deref() == Some("RemoveParticipant"))
        .unwrap();
    assert_eq!(remove.grants().unwrap().room, "seeded-room");
    assert!(remove.grants().unwrap().room_admin);
    assert_eq!(server.room("py-room"), None);
    assert!(server.room("seeded-room").unwrap().participants.is_empty());
}
