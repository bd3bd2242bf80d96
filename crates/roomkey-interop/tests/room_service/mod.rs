//! What the tests of RoomService on the real server share (`rooms_client.rs`,
//! `server_rooms.rs`): a runtime for roomkey's async clients, the server's key as roomkey's
//! `KeyPair`, the agent dispatches the server holds for a room, and the CreateRoom a recording
//! proxy saw.
#![allow(dead_code)]

use std::time::Duration;

use crate::recorder::{Exchange, Recorder};
use roomkey_interop::LiveKitServer;
use roomkey_interop::livekit::http_client;
use roomkey_rooms::Room;
use roomkey_token::{AccessToken, ApiSecret, KeyPair, VideoGrant};
use serde_json::{Value, json};

/// Runs a future on this thread's runtime (the clients are async, the harness is not).
pub fn block_on<F: Future>(f: F) -> F::Output {
    thread_local! {
        // One runtime per test thread, for the whole test: a client's pooled connections live
        // on the runtime that opened them.
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
    }
    RUNTIME.with(|rt| rt.block_on(f))
}

/// The server's (first) key.
pub fn server_key(server: &LiveKitServer) -> KeyPair {
    let (k, s) = server.key();
    KeyPair::new(k, &ApiSecret::new(s)).expect("key pair")
}

/// `AgentDispatchService.ListDispatch` on the real server: the dispatches of a room, as
/// `(agent_name, metadata, deployment)`, sorted.
pub fn dispatches(server: &LiveKitServer, room: &str) -> Vec<(String, String, String)> {
    let mut grant = VideoGrant::default();
    grant.room_admin = true;
    grant.room = room.to_owned();
    let token = AccessToken::new()
        .with_video(grant)
        .with_ttl(Duration::from_secs(60))
        .sign(&server_key(server))
        .expect("admin token");
    let answer = http_client()
        .post(server.url() + "/twirp/livekit.AgentDispatchService/ListDispatch")
        .bearer_auth(token)
        .json(&json!({ "room": room }))
        .send()
        .expect("ListDispatch");
    assert_eq!(answer.status().as_u16(), 200);
    let body: Value = answer.json().expect("ListDispatch JSON");
    let mut out: Vec<(String, String, String)> = body["agent_dispatches"]
        .as_array()
        .expect("agent_dispatches")
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
            (s("agent_name"), s("metadata"), s("deployment"))
        })
        .collect();
    out.sort();
    out
}

/// The settings a Room shows: `(empty_timeout, departure_timeout, max_participants, metadata)`.
pub fn room_settings(room: &Room) -> (u32, u32, u32, &str) {
    (
        room.empty_timeout,
        room.departure_timeout,
        room.max_participants,
        &room.metadata,
    )
}

/// The one CreateRoom sent through `proxy`, which the real server accepted, with its request
/// read as LiveKit's own message type (for the settings a Room does not show).
pub fn the_create_room(proxy: &Recorder) -> (Exchange, livekit_protocol::CreateRoomRequest) {
    let mut calls = proxy.calls("CreateRoom");
    assert_eq!(calls.len(), 1, "one CreateRoom: {calls:?}");
    let call = calls.remove(0);
    assert_eq!(
        call.status,
        200,
        "{}",
        String::from_utf8_lossy(&call.answer)
    );
    let request = serde_json::from_slice(&call.body).expect("a CreateRoomRequest");
    (call, request)
}
