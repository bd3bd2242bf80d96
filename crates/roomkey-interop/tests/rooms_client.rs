//! roomkey-rooms' RoomService client against the real LiveKit server (v1.13.5): what it sends
//! (seen through a recording proxy) and what the real server answers, its errors included.
//! Real participants (the PyPI realtime SDK `livekit`) join for the participant list.
//!
//! The failures the real server cannot be made to produce (5xx, slowness, dropped connections,
//! a refused port) are tested in `crates/roomkey-rooms/tests/client.rs` on roomkey-testserver.
//!
//! Runs inside `interop/netns` (`bash interop/netns cargo test -p roomkey-interop --test
//! rooms_client`), after `bash interop/setup.sh`.

mod recorder;
mod room_service;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use recorder::Recorder;
use room_service::{block_on, dispatches, room_settings, server_key, the_create_room};
use roomkey_interop::paths::{interop_dir, python_program};
use roomkey_interop::{LiveKitOptions, LiveKitServer};
use roomkey_rooms::{ClientOptions, CreateRoomRequest, ParticipantInfo, RoomClient, RoomError};
use roomkey_token::{AccessToken, ApiSecret, KeyPair, RoomAgentDispatch, VideoGrant};
use serde_json::json;

fn fast_options() -> ClientOptions {
    let mut o = ClientOptions::default();
    o.backoff = Duration::from_millis(10);
    o.timeout = Duration::from_secs(5);
    o
}

fn client(url: &str, key: KeyPair) -> RoomClient {
    RoomClient::with_options(url, key, fast_options()).expect("client")
}

#[test]
fn create_is_idempotent_and_keeps_the_first_settings() {
    let server = LiveKitServer::start();
    let client = client(&server.url(), server_key(&server));
    block_on(async {
        let mut req = CreateRoomRequest::new("standup");
        req.empty_timeout = 600;
        req.max_participants = 10;
        req.metadata = "first".into();
        let first = client.create_room(&req).await.unwrap();
        assert!(
            first.sid.starts_with("RM_") && first.sid.len() == 15,
            "{}",
            first.sid
        );
        assert_eq!(
            (
                first.name.as_str(),
                first.empty_timeout,
                first.max_participants
            ),
            ("standup", 600, 10)
        );
        assert_eq!(first.departure_timeout, 20, "server default");
        assert!(first.creation_time > 1_700_000_000);
        assert_eq!(first.creation_time_ms / 1000, first.creation_time);

        req.empty_timeout = 30;
        req.metadata = "second".into();
        let again = client.create_room(&req).await.unwrap();
        assert_eq!(again.sid, first.sid);
        assert_eq!(
            (again.empty_timeout, again.metadata.as_str()),
            (600, "first")
        );
        assert_eq!(client.list_rooms(&[]).await.unwrap(), [first]);
    });
}

#[test]
fn create_sends_every_option() {
    let server = LiveKitServer::start();
    let proxy = Recorder::start(&server.url());
    let client = client(&proxy.url(), server_key(&server));
    let room = block_on(async {
        let mut req = CreateRoomRequest::new("full");
        req.empty_timeout = 120;
        req.departure_timeout = 15;
        req.max_participants = 8;
        req.metadata = "{\"topic\":\"x\"}".into();
        req.min_playout_delay = 100;
        req.max_playout_delay = 400;
        req.sync_streams = true;
        let mut agent = RoomAgentDispatch::new("triage", "{\"lang\":\"de\"}");
        agent.deployment = "staging".into();
        req.agents = vec![agent, RoomAgentDispatch::new("notes", "")];
        req.tags.insert("team".into(), "core".into());
        client.create_room(&req).await.unwrap()
    });
    // What the real server made of it: the settings a Room carries ...
    assert_eq!(room_settings(&room), (120, 15, 8, "{\"topic\":\"x\"}"));
    // ... and the agents it dispatched.
    assert_eq!(
        dispatches(&server, "full"),
        [
            ("notes".into(), String::new(), String::new()),
            (
                "triage".into(),
                "{\"lang\":\"de\"}".into(),
                "staging".into()
            ),
        ]
    );
    // The rest a Room does not show: the request as sent, read as LiveKit's own message type.
    let (_, c) = the_create_room(&proxy);
    assert_eq!(c.name, "full");
    assert_eq!(
        (c.empty_timeout, c.departure_timeout, c.max_participants),
        (120, 15, 8)
    );
    assert_eq!(
        (c.min_playout_delay, c.max_playout_delay, c.sync_streams),
        (100, 400, true)
    );
    assert_eq!(c.metadata, "{\"topic\":\"x\"}");
    assert_eq!(c.tags.get("team").map(String::as_str), Some("core"));
    assert!(c.egress.is_none() && c.room_preset.is_empty());
    let agents: Vec<(&str, &str, &str)> = c
        .agents
        .iter()
        .map(|a| {
            (
                a.agent_name.as_str(),
                a.metadata.as_str(),
                a.deployment.as_str(),
            )
        })
        .collect();
    assert_eq!(
        agents,
        [
            ("triage", "{\"lang\":\"de\"}", "staging"),
            ("notes", "", "")
        ]
    );
}

#[test]
fn each_call_carries_only_the_grant_it_needs() {
    let server = LiveKitServer::start();
    let proxy = Recorder::start(&server.url());
    let client = client(&proxy.url(), server_key(&server));
    block_on(async {
        client
            .create_room(&CreateRoomRequest::new("r1"))
            .await
            .unwrap();
        client.list_rooms(&[]).await.unwrap();
        client.list_participants("r1").await.unwrap();
        client.delete_room("r1").await.unwrap();
    });
    let log = proxy.exchanges();
    let expect = [
        ("CreateRoom", json!({"roomCreate": true})),
        ("ListRooms", json!({"roomList": true})),
        ("ListParticipants", json!({"roomAdmin": true, "room": "r1"})),
        ("DeleteRoom", json!({"roomCreate": true})),
    ];
    assert_eq!(log.len(), expect.len(), "{log:?}");
    for (exchange, (want_rpc, want_video)) in log.iter().zip(expect) {
        let rpc = exchange.rpc().unwrap();
        assert_eq!(rpc, want_rpc);
        // The real server accepted each call with no more than this grant.
        assert_eq!(
            exchange.status,
            200,
            "{rpc}: {}",
            String::from_utf8_lossy(&exchange.answer)
        );
        let payload = exchange.token_payload();
        assert_eq!(payload["video"], want_video, "{rpc}");
        assert_eq!(payload["iss"], server.key().0);
        let ttl = payload["exp"].as_i64().unwrap() - payload["nbf"].as_i64().unwrap();
        assert_eq!(ttl, 600, "short-lived per-call token");
        assert!(payload.get("sub").is_none(), "no identity on API tokens");
        assert_eq!(exchange.method, "POST");
        assert_eq!(exchange.header("content-type"), Some("application/json"));
        assert!(
            exchange
                .header("user-agent")
                .unwrap()
                .starts_with("roomkey/")
        );
    }
}

/// Real participants: the realtime SDK joins each token's room and stays until told to leave
/// (a line on stdin), or `hold` seconds at most.
const PARTICIPANTS_PY: &str = r#"
import asyncio, json, os, sys
from livekit import rtc

async def main():
    cfg = json.loads(sys.argv[1])
    rooms = []
    for token in cfg["tokens"]:
        room = rtc.Room()
        await asyncio.wait_for(room.connect(cfg["url"], token), 20)
        rooms.append(room)
    print("connected", flush=True)
    line = asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    try:
        await asyncio.wait_for(line, cfg["hold"])
    except asyncio.TimeoutError:
        pass
    for room in rooms:
        try:
            await asyncio.wait_for(room.disconnect(), 10)
        except Exception:
            pass
    print("left", flush=True)

try:
    asyncio.run(main())
except Exception as e:
    print(f"error: {e!r}", flush=True)
    os._exit(2)
os._exit(0)
"#;

/// Participants in a room, for as long as this lives.
struct Participants {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Participants {
    fn join(server: &LiveKitServer, room: &str, identities: &[&str]) -> Participants {
        let tokens: Vec<String> = identities
            .iter()
            .map(|id| {
                AccessToken::new()
                    .with_identity(*id)
                    .with_video(VideoGrant::join(room))
                    .with_ttl(Duration::from_secs(600))
                    .sign(&server_key(server))
                    .expect("join token")
            })
            .collect();
        let cfg = json!({"url": server.ws_url(), "tokens": tokens, "hold": 60});
        let mut child = Command::new(python_program())
            .arg("-c")
            .arg(PARTICIPANTS_PY)
            .arg(cfg.to_string())
            .current_dir(interop_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the Python participants");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let participants = Participants { child, lines };
        let first = participants.lines.recv_timeout(Duration::from_secs(60));
        assert_eq!(
            first.as_deref(),
            Ok("connected"),
            "the participants did not join"
        );
        participants
    }

    /// Tells them to leave and waits until they have.
    fn leave(mut self) {
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = stdin.write_all(b"leave\n");
        }
        let last = self.lines.recv_timeout(Duration::from_secs(30));
        assert_eq!(
            last.as_deref(),
            Ok("left"),
            "the participants did not leave"
        );
    }
}

impl Drop for Participants {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The room's participants once `n` of them are ACTIVE (bounded).
fn active_participants(client: &RoomClient, room: &str, n: usize) -> Vec<ParticipantInfo> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let people = block_on(client.list_participants(room)).unwrap();
        if people.iter().filter(|p| p.state == "ACTIVE").count() == n {
            return people;
        }
        assert!(
            Instant::now() < deadline,
            "not {n} ACTIVE participants in {room} after 30 s: {people:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The names of all the server's rooms, sorted.
async fn room_names(client: &RoomClient) -> Vec<String> {
    let mut names: Vec<String> = client
        .list_rooms(&[])
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    names.sort();
    names
}

#[test]
fn list_delete_and_participants() {
    // No rooms created by joins: a participant that came back after the room was deleted could
    // not bring it back.
    let server = LiveKitServer::start_with(LiveKitOptions {
        auto_create: false,
        label: "rooms-client-participants".into(),
        ..LiveKitOptions::default()
    });
    let client = client(&server.url(), server_key(&server));
    block_on(async {
        for name in ["a", "b", "c"] {
            client
                .create_room(&CreateRoomRequest::new(name))
                .await
                .unwrap();
        }
        assert_eq!(room_names(&client).await, ["a", "b", "c"]);
        let some = client
            .list_rooms(&["b".into(), "ghost".into()])
            .await
            .unwrap();
        assert_eq!(some.len(), 1);
        assert_eq!(some[0].name, "b");
    });

    let participants = Participants::join(&server, "b", &["alice", "bob"]);
    let people = active_participants(&client, "b", 2);
    let mut ids: Vec<&str> = people.iter().map(|p| p.identity.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["alice", "bob"]);
    for p in &people {
        assert!(p.sid.starts_with("PA_"), "{p:?}");
        assert_eq!(p.kind, "STANDARD", "{p:?}");
        assert!(p.joined_at > 1_700_000_000, "{p:?}");
    }
    assert!(
        block_on(client.list_participants("ghost"))
            .unwrap()
            .is_empty()
    );

    block_on(async {
        // Deleting a room with people in it.
        client.delete_room("b").await.unwrap();
        let err = client.delete_room("b").await.unwrap_err();
        assert!(matches!(err, RoomError::NotFound { .. }), "{err:?}");
        assert!(
            err.to_string().contains("requested room does not exist"),
            "{err}"
        );
        assert_eq!(room_names(&client).await, ["a", "c"]);
    });
    participants.leave();
}

#[test]
fn ws_urls_are_mapped_to_http() {
    let server = LiveKitServer::start();
    let client = client(&server.ws_url(), server_key(&server));
    let room = block_on(client.create_room(&CreateRoomRequest::new("ws"))).unwrap();
    assert_eq!(room.name, "ws");
    assert_eq!(client.base_url(), server.url());
}

#[test]
fn rejected_credentials_say_which_settings_to_check() {
    let server = LiveKitServer::start();
    let proxy = Recorder::start(&server.url());
    let (api_key, _) = server.key();
    let wrong = KeyPair::new(api_key, &ApiSecret::new("not-the-secret")).unwrap();
    let err = block_on(client(&proxy.url(), wrong).list_rooms(&[])).unwrap_err();
    let msg = err.to_string();
    let RoomError::Unauthenticated { detail, .. } = &err else {
        panic!("{err:?}");
    };
    // The real server's reason: golang-jwt's, after `invalid token: <the token>, error: `.
    assert!(detail.contains("signature is invalid"), "{detail}");
    assert!(
        msg.contains("signature is invalid") && msg.contains("secret"),
        "{msg}"
    );
    assert!(!msg.contains("not-the-secret"), "{msg}");
    let sent = proxy.calls("ListRooms");
    assert_eq!(sent.len(), 1, "a 401 is not retried");
    assert_eq!(sent[0].status, 401);
    let token = sent[0].token().unwrap();
    assert!(
        String::from_utf8_lossy(&sent[0].answer).contains(token),
        "the real server echoes the token"
    );
    assert!(
        !msg.contains(token),
        "the message leaves the token out: {msg}"
    );

    let unknown = KeyPair::new("APInobody", &ApiSecret::new("secret")).unwrap();
    let err = block_on(client(&server.url(), unknown).list_rooms(&[])).unwrap_err();
    assert!(matches!(err, RoomError::Unauthenticated { .. }), "{err:?}");
    assert!(err.to_string().contains("invalid API key"), "{err}");
    assert!(err.to_string().contains("APInobody"), "{err}");
}

#[test]
fn server_limits_come_back_as_invalid_argument() {
    let server = LiveKitServer::start();
    let client = client(&server.url(), server_key(&server));
    let err = block_on(client.create_room(&CreateRoomRequest::new("n".repeat(257)))).unwrap_err();
    match err {
        RoomError::Server {
            status: 400,
            code,
            detail,
            ..
        } => {
            assert_eq!(code, "invalid_argument");
            assert!(
                detail.contains("room name length exceeds limits"),
                "{detail}"
            );
        }
        other => panic!("{other:?}"),
    }
    // A name at the limit is fine.
    let room = block_on(client.create_room(&CreateRoomRequest::new("n".repeat(256)))).unwrap();
    assert_eq!(room.name.len(), 256);
}
