//! `roomkey room …` and `roomkey token create --create-room-if-not-exists` against the real
//! LiveKit server (v1.13.5): the `roomkey` binary is run as a user would run it, and what it
//! did is read back three ways — through roomkey itself (`room list --json`), through the
//! official Node SDK (`interop/node/roomstate.mjs`: `RoomServiceClient`, `AgentDispatchClient`),
//! and, for the settings RoomService never reports back (playout delay, stream sync), from the
//! server's own debug log of the CreateRoom its room manager handled.
//!
//! The participant in `room participants` is a real one, connected the simplest honest way: a
//! WebSocket to the server's signalling endpoint `/rtc` with a join token, no WebRTC. The server
//! lists it (state `JOINED`; it would become `ACTIVE` only once media connects).
//!
//! Run with `bash interop/netns cargo test -p roomkey-interop --test rooms` after
//! `cargo build -p roomkey`.
//!
//! This file is long because each of its four scenarios against the real server reads every
//! setting back three ways.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use roomkey_interop::LiveKitServer;
use roomkey_interop::cli::{Run, roomkey, roomkey_env};
use roomkey_interop::livekit::{free_tcp_port, http_client};
use roomkey_interop::paths::{interop_dir, node_program};
use roomkey_interop::process::run_json;
use roomkey_token::{AccessToken, ApiSecret, KeyPair, VideoGrant};
use serde_json::{Value, json};

/// `room list --json NAMES`: the rooms as roomkey reads them back.
fn listed(server: &LiveKitServer, names: &[&str]) -> Vec<Value> {
    let mut args = vec!["room", "list", "--json"];
    args.extend_from_slice(names);
    let run = roomkey(server, &args).expect_code(0);
    run.json().as_array().expect("a JSON array").clone()
}

/// What the official Node SDK reads back (see `interop/node/roomstate.mjs`).
fn node_state(server: &LiveKitServer, ask: Value) -> Value {
    let (key, secret) = server.key();
    let mut input = json!({"url": server.url(), "key": key, "secret": secret});
    input
        .as_object_mut()
        .expect("object")
        .extend(ask.as_object().expect("an object").clone());
    let mut cmd = Command::new(node_program());
    cmd.arg(interop_dir().join("node/roomstate.mjs"));
    run_json(
        cmd,
        input.to_string().as_bytes(),
        Duration::from_secs(30),
        "node roomstate.mjs",
    )
}

/// Polls `check` every 100 ms until it gives a value, for at most `within`.
fn wait_for<T>(within: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The CreateRoom requests the server's room manager handled for `room`, in order, as its debug
/// log shows them (`livekit.psrpc.RoomManager.CreateRoom … server response {"request": …}`):
/// the only place the settings RoomService does not echo can be read back.
fn room_manager_creates(server: &LiveKitServer, room: &str) -> Vec<Value> {
    server
        .log_text()
        .lines()
        .filter(|l| {
            l.contains("livekit.psrpc.RoomManager.CreateRoom") && l.contains("server response")
        })
        .filter_map(|l| l.rsplit('\t').next())
        .filter_map(|fields| serde_json::from_str::<Value>(fields).ok())
        .map(|fields| fields["request"].clone())
        .filter(|request| request["name"] == room)
        .collect()
}

/// The room as roomkey prints it, without what differs between rooms (sid, times).
fn settings(room: &Value) -> Value {
    let mut room = room.clone();
    let object = room.as_object_mut().expect("a room object");
    for volatile in ["sid", "creation_time", "creation_time_ms"] {
        assert!(object.remove(volatile).is_some(), "{volatile} is printed");
    }
    room
}

/// The same room as the Node SDK sees it, in roomkey's field names.
fn node_settings(room: &Value) -> Value {
    json!({
        "name": room["name"],
        "empty_timeout": room["emptyTimeout"],
        "departure_timeout": room["departureTimeout"],
        "max_participants": room["maxParticipants"],
        "metadata": room["metadata"],
        "num_participants": room["numParticipants"],
        "num_publishers": room["numPublishers"],
        "active_recording": room["activeRecording"],
    })
}

fn unix_now() -> i64 {
    roomkey_token::unix_now()
}

/// A participant connected to the server's signalling WebSocket only (no WebRTC): the HTTP
/// upgrade on `/rtc` with a join token, then the socket held open. Dropping it disconnects.
struct SignallingParticipant {
    stream: TcpStream,
}

impl SignallingParticipant {
    fn join(server: &LiveKitServer, token: &str) -> SignallingParticipant {
        let addr = format!("127.0.0.1:{}", server.ports().http);
        let mut stream = TcpStream::connect_timeout(
            &addr.parse().expect("socket address"),
            Duration::from_secs(5),
        )
        .expect("connect to the server's signalling port");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        write!(
            stream,
            "GET /rtc?access_token={token}&protocol=15&auto_subscribe=1&sdk=rust&version=0.0.0 HTTP/1.1\r\n\
             Host: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .expect("send the WebSocket upgrade");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream
                .read_exact(&mut byte)
                .unwrap_or_else(|e| panic!("upgrade answer cut short ({e}): {head:?}"));
            head.push(byte[0]);
            assert!(head.len() < 8192, "upgrade answer too long");
        }
        let head = String::from_utf8_lossy(&head);
        assert!(
            head.starts_with("HTTP/1.1 101"),
            "the server refused the WebSocket: {head}"
        );
        // The first frame is the server's JoinResponse: a binary frame (FIN + opcode 2).
        let mut frame = [0u8; 1];
        stream.read_exact(&mut frame).expect("the first frame");
        assert_eq!(frame[0], 0x82, "a binary signalling frame");
        SignallingParticipant { stream }
    }
}

impl Drop for SignallingParticipant {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// `roomkey token create --identity IDENTITY EXTRA…`.
fn token_create(server: &LiveKitServer, identity: &str, extra: &[&str]) -> Run {
    let mut args = vec!["token", "create", "--identity", identity];
    args.extend_from_slice(extra);
    roomkey(server, &args)
}

/// A join token minted by roomkey itself.
fn join_token(server: &LiveKitServer, identity: &str, extra: &[&str]) -> String {
    let run = token_create(server, identity, extra).expect_code(0);
    run.stdout.trim().to_owned()
}

#[test]
fn room_create_with_every_setting_is_read_back_exactly_then_repeated_and_deleted() {
    let server = LiveKitServer::start();

    let run = roomkey(
        &server,
        &[
            "room",
            "create",
            "standup",
            // A duration and plain seconds: both are seconds to the server.
            "--empty-timeout",
            "10m",
            "--departure-timeout",
            "30",
            "--max-participants",
            "12",
            "--room-metadata",
            "{\"team\":\"core\"}",
            "--min-playout-delay",
            "100",
            "--max-playout-delay",
            "300",
            "--sync-streams",
            "--dispatch-agent",
            "notes",
            "--dispatch-agent",
            "summary",
            "--job-metadata",
            "{\"lang\":\"de\"}",
            "--json",
        ],
    )
    .expect_code(0);
    let created = run.json();
    let sid = created["sid"].as_str().expect("sid").to_owned();
    assert!(sid.starts_with("RM_") && sid.len() == 15, "{sid}");
    run.says(&[&format!("roomkey: created room standup ({sid})")]);
    let want = json!({
        "name": "standup",
        "empty_timeout": 600,
        "departure_timeout": 30,
        "max_participants": 12,
        "metadata": "{\"team\":\"core\"}",
        "num_participants": 0,
        "num_publishers": 0,
        "active_recording": false,
    });
    assert_eq!(
        settings(&created),
        want,
        "exactly what was asked, nothing else"
    );
    let created_at = created["creation_time"].as_i64().expect("creation_time");
    assert!((created_at - unix_now()).abs() < 60, "{created}");
    assert_eq!(
        created["creation_time_ms"].as_i64().expect("ms") / 1000,
        created_at
    );

    // A room with no settings gets the server's defaults, and only its name is sent.
    let plain = roomkey(&server, &["room", "create", "plain", "--json"]).expect_code(0);
    assert_eq!(
        settings(&plain.json()),
        json!({"name": "plain", "empty_timeout": 300, "departure_timeout": 20,
               "max_participants": 0, "metadata": "", "num_participants": 0,
               "num_publishers": 0, "active_recording": false})
    );

    // roomkey reads back the same, by name and in all.
    let rooms = listed(&server, &["standup", "ghost"]);
    assert_eq!(rooms, std::slice::from_ref(&created), "ghost is left out");
    let all = listed(&server, &[]);
    let names: Vec<&str> = all.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["plain", "standup"]);

    // The official Node SDK sees the same room, and the two agent dispatches.
    let node = node_state(
        &server,
        json!({"rooms": ["standup"], "dispatches_of": "standup"}),
    );
    let node_rooms = node["rooms"].as_array().expect("rooms");
    assert_eq!(node_rooms.len(), 1);
    assert_eq!(node_rooms[0]["sid"], sid.as_str());
    assert_eq!(node_rooms[0]["creationTime"], created_at.to_string());
    assert_eq!(node_settings(&node_rooms[0]), want);
    let mut dispatches: Vec<(String, String)> = node["dispatches"]
        .as_array()
        .expect("dispatches")
        .iter()
        .map(|d| {
            assert_eq!(d["room"], "standup");
            (
                d["agentName"].as_str().unwrap().to_owned(),
                d["metadata"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    dispatches.sort();
    assert_eq!(
        dispatches,
        [
            ("notes".to_owned(), "{\"lang\":\"de\"}".to_owned()),
            ("summary".to_owned(), "{\"lang\":\"de\"}".to_owned())
        ]
    );

    // What RoomService does not report, the room manager's log does: the request it created
    // the room from, with the playout delays and stream sync.
    let creates = room_manager_creates(&server, "standup");
    assert_eq!(creates.len(), 1, "{creates:?}");
    let request = &creates[0];
    assert_eq!(
        (
            &request["emptyTimeout"],
            &request["departureTimeout"],
            &request["maxParticipants"]
        ),
        (&json!(600), &json!(30), &json!(12))
    );
    assert_eq!(
        (
            &request["minPlayoutDelay"],
            &request["maxPlayoutDelay"],
            &request["syncStreams"]
        ),
        (&json!(100), &json!(300), &json!(true))
    );
    let agents: Vec<&str> = request["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|a| a["agentName"].as_str().unwrap())
        .collect();
    assert_eq!(agents, ["notes", "summary"]);
    let plain_request = &room_manager_creates(&server, "plain")[0];
    assert_eq!(
        plain_request,
        &json!({"name": "plain"}),
        "nothing but the name for a room without settings"
    );

    // Again, with other settings: the same room comes back unchanged, and roomkey says so.
    let again = roomkey(
        &server,
        &[
            "room",
            "create",
            "standup",
            "--empty-timeout",
            "5",
            "--max-participants",
            "2",
            "--room-metadata",
            "other",
            "--sync-streams",
            "--json",
        ],
    )
    .expect_code(0);
    again.says(&[
        &format!("roomkey: room standup already exists ({sid}); it was not changed"),
        "empty timeout 5 s asked, the room has 600 s",
        "max participants 2 asked, the room has 12",
        "other metadata asked",
    ]);
    assert!(!again.stderr.contains("created room"), "{again:#?}");
    assert_eq!(again.json(), created, "the existing room, as it was");
    assert_eq!(
        listed(&server, &["standup"]),
        std::slice::from_ref(&created)
    );
    let node = node_state(
        &server,
        json!({"rooms": ["standup"], "dispatches_of": "standup"}),
    );
    assert_eq!(node_settings(&node["rooms"][0]), want);
    assert_eq!(node["dispatches"].as_array().unwrap().len(), 2);

    // Delete: gone for roomkey and for the SDK; a second delete is a negative answer.
    let run = roomkey(&server, &["room", "delete", "standup"]).expect_code(0);
    run.says(&["deleted room standup"]);
    assert!(listed(&server, &["standup"]).is_empty());
    let node = node_state(&server, json!({}));
    let names: Vec<&Value> = node["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["name"])
        .collect();
    assert_eq!(names, [&json!("plain")]);
    roomkey(&server, &["room", "delete", "standup"])
        .expect_code(2)
        .says(&["roomkey: error: cannot delete the room standup: it does not exist (the server answered DeleteRoom: requested room does not exist)"]);
    let run = roomkey(&server, &["room", "delete", "plain", "--json"]).expect_code(0);
    assert_eq!(run.json(), json!({"deleted": "plain"}));

    // Created anew after the delete: a new room.
    let anew = roomkey(&server, &["room", "create", "standup", "--json"]).expect_code(0);
    assert_ne!(anew.json()["sid"], sid.as_str());
    anew.says(&["created room standup"]);
}

#[test]
fn room_participants_lists_a_participant_connected_to_signalling() {
    let server = LiveKitServer::start();
    roomkey(
        &server,
        &["room", "create", "town", "--departure-timeout", "120"],
    )
    .expect_code(0);
    let token = join_token(
        &server,
        "alice",
        &[
            "--name",
            "Alice",
            "--metadata",
            "{\"seat\":7}",
            "--room",
            "town",
        ],
    );
    let joined_at = unix_now();
    let participant = SignallingParticipant::join(&server, &token);

    let people = wait_for(Duration::from_secs(10), "alice listed", || {
        let run = roomkey(&server, &["room", "participants", "town", "--json"]);
        (run.code == 0)
            .then(|| run.json())
            .filter(|p| p.as_array().is_some_and(|a| !a.is_empty()))
    });
    let people = people.as_array().unwrap();
    assert_eq!(people.len(), 1, "{people:?}");
    let alice = &people[0];
    let sid = alice["sid"].as_str().expect("sid").to_owned();
    assert!(sid.starts_with("PA_"), "{sid}");
    assert_eq!(
        alice,
        &json!({
            "sid": sid,
            "identity": "alice",
            "name": "Alice",
            "metadata": "{\"seat\":7}",
            "state": "JOINED",
            "kind": "STANDARD",
            "is_publisher": false,
            "num_tracks": 0,
            "joined_at": alice["joined_at"],
        })
    );
    let at = alice["joined_at"].as_i64().expect("joined_at");
    assert!(
        (at - joined_at).abs() < 60,
        "joined at {at}, now {joined_at}"
    );

    let table = roomkey(&server, &["room", "participants", "town"]).expect_code(0);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{table:#?}");
    assert!(lines[0].starts_with("IDENTITY"), "{table:#?}");
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        &cells[..6],
        ["alice", "Alice", sid.as_str(), "JOINED", "STANDARD", "0"]
    );

    // The official SDK lists the same participant.
    let node = node_state(
        &server,
        json!({"rooms": ["town"], "participants_of": "town"}),
    );
    let listed_by_node = node["participants"].as_array().expect("participants");
    assert_eq!(listed_by_node.len(), 1);
    assert_eq!(listed_by_node[0]["sid"], sid.as_str());
    assert_eq!(listed_by_node[0]["identity"], "alice");
    assert_eq!(listed_by_node[0]["state"], "JOINED");
    assert_eq!(listed_by_node[0]["joinedAt"], at.to_string());

    // Gone once its socket closes; the room stays (departure timeout), empty.
    drop(participant);
    wait_for(Duration::from_secs(15), "alice gone", || {
        let run = roomkey(&server, &["room", "participants", "town"]);
        (run.code == 0 && run.stdout.is_empty()).then_some(run)
    })
    .says(&["no participants in room town"]);
}

#[test]
fn create_room_if_not_exists_creates_the_room_with_the_token_config_once() {
    let server = LiveKitServer::start();
    let run = token_create(
        &server,
        "alice",
        &[
            "--room",
            "support-42",
            "--create-room-if-not-exists",
            "--room-config",
            "{\"emptyTimeout\":120,\"departureTimeout\":7,\"maxParticipants\":4,\"metadata\":\"queue=de\",\
              \"minPlayoutDelay\":50,\"maxPlayoutDelay\":250,\"syncStreams\":true}",
            "--dispatch-agent",
            "triage",
            "--job-metadata",
            "{\"lang\":\"de\"}",
        ],
    )
    .expect_code(0);
    run.says(&["roomkey: created room support-42 (RM_"]);
    let token = run.stdout.trim();
    assert_eq!(
        server.validate(token),
        (200, "success".to_owned()),
        "the server accepts the token printed"
    );

    let want = json!({
        "name": "support-42",
        "empty_timeout": 120,
        "departure_timeout": 7,
        "max_participants": 4,
        "metadata": "queue=de",
        "num_participants": 0,
        "num_publishers": 0,
        "active_recording": false,
    });
    let rooms = listed(&server, &[]);
    assert_eq!(rooms.len(), 1, "{rooms:?}");
    let room = rooms[0].clone();
    assert_eq!(settings(&room), want);
    let node = node_state(
        &server,
        json!({"rooms": ["support-42"], "dispatches_of": "support-42"}),
    );
    assert_eq!(node_settings(&node["rooms"][0]), want);
    assert_eq!(node["rooms"][0]["sid"], room["sid"]);
    let dispatches = node["dispatches"].as_array().expect("dispatches");
    assert_eq!(dispatches.len(), 1, "{dispatches:?}");
    assert_eq!(
        (&dispatches[0]["agentName"], &dispatches[0]["metadata"]),
        (&json!("triage"), &json!("{\"lang\":\"de\"}"))
    );
    let creates = room_manager_creates(&server, "support-42");
    assert_eq!(creates.len(), 1, "{creates:?}");
    assert_eq!(
        (
            &creates[0]["minPlayoutDelay"],
            &creates[0]["maxPlayoutDelay"],
            &creates[0]["syncStreams"]
        ),
        (&json!(50), &json!(250), &json!(true))
    );

    // Again, with another configuration: the room exists, its settings do not change, but the
    // agent it lacks is dispatched into it (the join would not), and a token is printed and
    // accepted. No worker runs here: roomkey says so after its bounded wait.
    let run = token_create(
        &server,
        "bob",
        &[
            "--room",
            "support-42",
            "--create-room-if-not-exists",
            "--room-config",
            "{\"emptyTimeout\":30,\"maxParticipants\":9,\"metadata\":\"other\"}",
            "--dispatch-agent",
            "another",
            "--wait-for-worker",
            "1s",
        ],
    )
    .expect_code(0);
    run.says(&[
        "roomkey: room support-42 already exists (",
        "it was not changed, as LiveKit keeps an existing room's settings",
        "roomkey: room support-42 existed, so LiveKit would not dispatch agent another on join; dispatched it (AD_",
        "no worker has taken the job of agent another (AD_",
    ]);
    assert!(!run.stderr.contains("created room"), "{run:#?}");
    assert_eq!(
        server.validate(run.stdout.trim()),
        (200, "success".to_owned())
    );
    assert_eq!(listed(&server, &[]), std::slice::from_ref(&room));
    let node = node_state(
        &server,
        json!({"rooms": ["support-42"], "dispatches_of": "support-42"}),
    );
    assert_eq!(node_settings(&node["rooms"][0]), want);
    let agents: Vec<&Value> = node["dispatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["agentName"])
        .collect();
    assert_eq!(
        agents.len(),
        2,
        "the first config's agent and the second's: {agents:?}"
    );
    assert!(agents.contains(&&json!("triage")) && agents.contains(&&json!("another")));
}

#[test]
fn real_server_errors_name_their_cause() {
    let server = LiveKitServer::start();
    let url = server.url();
    let (key, secret) = server.key();
    let signature = format!(
        "rejected the token's signature: the API secret (from LIVEKIT_API_SECRET) is not the \
         secret the server has for the API key {key:?} (from LIVEKIT_API_KEY)"
    );
    let no_token_echo = |run: &Run| {
        assert!(
            !run.stderr.contains("eyJ"),
            "the token the server echoes is not shown: {run:#?}"
        );
    };

    // A wrong secret, from the environment and from a file.
    let wrong = "a-wrong-secret-of-enough-length-0123456789";
    let run = roomkey_env(
        &[
            ("LIVEKIT_URL", &url),
            ("LIVEKIT_API_KEY", key),
            ("LIVEKIT_API_SECRET", wrong),
        ],
        &["room", "list"],
    )
    .expect_code(2);
    run.says(&[
        &format!("roomkey: error: the LiveKit server at {url} {signature}"),
        "(server: token signature is invalid: signature is invalid)",
    ]);
    no_token_echo(&run);
    assert!(!run.stderr.contains(wrong), "the secret is never shown");
    let dir = roomkey_interop::paths::scratch_dir("rooms");
    let secret_file = dir.join(format!("wrong-secret-{}", std::process::id()));
    std::fs::write(&secret_file, format!("{wrong}\n")).expect("write the secret file");
    let file = secret_file.display().to_string();
    let run = roomkey_env(
        &[("LIVEKIT_API_KEY", key)],
        &["room", "list", "--url", &url, "--api-secret-file", &file],
    )
    .expect_code(2);
    run.says(&[&format!(
        "the API secret (from --api-secret-file {file}) is not the secret the server has"
    )]);
    let _ = std::fs::remove_file(&secret_file);

    // An API key the server does not know, from a flag; the development pair, by default.
    let run = roomkey(&server, &["room", "create", "x", "--api-key", "APInobody"]).expect_code(2);
    run.says(&[
        "cannot create the room x: ",
        &format!(
            "the LiveKit server at {url} does not know the API key \"APInobody\" (from --api-key)"
        ),
        "(server: invalid API key: APInobody)",
    ]);
    let run = roomkey_env(&[("LIVEKIT_URL", &url)], &["room", "list"]).expect_code(2);
    run.says(&[
        "does not know the API key \"devkey\" (from the development pair devkey/secret, used because no credentials were given)",
    ]);

    // The clocks. roomkey mints a fresh 10-minute token per call, so the server finds it
    // expired only when this machine's clock is more than 11 minutes behind the server's, and
    // not yet valid when it is more than a minute ahead. The server's clock cannot be moved;
    // the hidden `--now` mints the call's token as if this machine's clock said so.
    let now = unix_now();
    let behind = (now - 700).to_string();
    let run = roomkey(&server, &["room", "list", "--now", &behind]).expect_code(2);
    run.says(&[
        &format!(
            "the LiveKit server at {url} says the token roomkey minted for ListRooms has expired"
        ),
        "this machine's clock is behind the server's by more than 660 s",
        "(server: token has invalid claims: token is expired)",
    ]);
    no_token_echo(&run);
    let ahead = (now + 300).to_string();
    let run = roomkey(&server, &["room", "participants", "x", "--now", &ahead]).expect_code(2);
    run.says(&[
        "the token roomkey minted for ListParticipants is not valid yet",
        "this machine's clock is ahead of the server's by more than the server's 60 s leeway",
        "(server: token has invalid claims: token is not valid yet)",
    ]);
    no_token_echo(&run);
    // What the server itself answers such a token: text/plain, with the whole token echoed.
    let pair = KeyPair::new(key, &ApiSecret::new(secret)).expect("key pair");
    let mut grant = VideoGrant::default();
    grant.room_list = true;
    let expired = AccessToken::new()
        .with_video(grant)
        .with_ttl(Duration::from_secs(600))
        .sign_at(&pair, now - 700)
        .expect("mint");
    let answer = http_client()
        .post(format!("{url}/twirp/livekit.RoomService/ListRooms"))
        .header("Content-Type", "application/json")
        .bearer_auth(&expired)
        .body("{}")
        .send()
        .expect("POST ListRooms");
    assert_eq!(answer.status().as_u16(), 401);
    assert_eq!(
        answer.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        answer.text().expect("body").trim_end(),
        format!("invalid token: {expired}, error: token has invalid claims: token is expired")
    );

    // A room name over the server's 256-byte limit is refused before any request, as a token's
    // room is; the real server's own refusal of it, had it been sent, is held in
    // `rooms_client.rs`. And a preset the server does not have.
    let long = "n".repeat(257);
    let run = roomkey(&server, &["room", "create", &long]).expect_code(2);
    run.says(&["the room name is 257 bytes, over the server's default limit of 256"]);
    assert!(!run.stderr.contains("LiveKit server answered"), "{run:#?}");
    roomkey(&server, &["room", "create", "p", "--room-preset", "nope"])
        .expect_code(2)
        .says(&["cannot create the room p: the LiveKit server answered CreateRoom with HTTP 400 (invalid_argument): unknown room configuration in create room request"]);
    // An empty name is refused before the server, which would create a room nobody can join.
    roomkey(&server, &["room", "create", ""])
        .expect_code(2)
        .says(&["the room name is empty"]);
    assert!(
        listed(&server, &[]).is_empty(),
        "no room was created by any of these"
    );

    // Rooms that do not exist.
    roomkey(&server, &["room", "delete", "ghost"])
        .expect_code(2)
        .says(&["roomkey: error: cannot delete the room ghost: it does not exist (the server answered DeleteRoom: requested room does not exist)"]);
    roomkey(&server, &["room", "participants", "ghost", "--json"])
        .expect_code(1)
        .says(&["roomkey: room ghost does not exist"]);

    // Nothing listening.
    let dead = format!("http://127.0.0.1:{}", free_tcp_port());
    let run = roomkey(&server, &["room", "list", "--url", &dead]).expect_code(2);
    run.says(&[
        &format!("cannot reach the LiveKit server at {dead} (3 attempts): connection failed"),
        "is the server running, and is the URL right?",
    ]);
    // A token for a room to create first is not minted when the room cannot be created, and the
    // token path names the credentials too: (arguments, what stderr says).
    for (extra, says) in [
        (
            ["--url", &dead],
            &["cannot create the room r; no token was minted: cannot reach the LiveKit server"][..],
        ),
        (
            ["--api-secret", wrong],
            &[
                "no token was minted: ",
                "the API secret (from --api-secret) is not the secret",
            ],
        ),
    ] {
        let mut args = vec!["--room", "r", "--create-room-if-not-exists"];
        args.extend(extra);
        let run = token_create(&server, "a", &args).expect_code(2);
        assert!(run.stdout.is_empty(), "{extra:?}: no token: {run:#?}");
        run.says(says);
        no_token_echo(&run);
    }
}
