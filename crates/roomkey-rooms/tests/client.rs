//! The RoomService client against the local imitation of LiveKit's server.

use std::time::{Duration, Instant};

use roomkey_rooms::{ClientOptions, CreateRoomRequest, RoomClient, RoomError};
use roomkey_testserver::{Fault, TestServer, TestServerConfig, participant};
use roomkey_token::{ApiSecret, KeyPair, RoomAgentDispatch};

fn dev_key() -> KeyPair {
    KeyPair::new("devkey", &ApiSecret::new("secret")).unwrap()
}

fn fast_options() -> ClientOptions {
    let mut o = ClientOptions::default();
    o.backoff = Duration::from_millis(10);
    o.timeout = Duration::from_secs(5);
    o
}

async fn setup() -> (TestServer, RoomClient) {
    let server = TestServer::start(TestServerConfig::default())
        .await
        .unwrap();
    let client = RoomClient::with_options(&server.url(), dev_key(), fast_options()).unwrap();
    (server, client)
}

#[tokio::test]
async fn create_is_idempotent_and_keeps_the_first_settings() {
    let (server, client) = setup().await;
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

    req.empty_timeout = 30;
    req.metadata = "second".into();
    let again = client.create_room(&req).await.unwrap();
    assert_eq!(again.sid, first.sid);
    assert_eq!(
        (again.empty_timeout, again.metadata.as_str()),
        (600, "first")
    );
    assert_eq!(server.rooms().len(), 1);
}

#[tokio::test]
async fn create_sends_every_option() {
    let (server, client) = setup().await;
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
    client.create_room(&req).await.unwrap();
    let state = server.room("full").unwrap();
    let c = &state.create_request;
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
    let agents: Vec<(&str, &str, &str)> = state
        .agents()
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

#[tokio::test]
async fn each_call_carries_only_the_grant_it_needs() {
    let (server, client) = setup().await;
    client
        .create_room(&CreateRoomRequest::new("r1"))
        .await
        .unwrap();
    client.list_rooms(&[]).await.unwrap();
    client.list_participants("r1").await.unwrap();
    client.delete_room("r1").await.unwrap();
    let log = server.request_log();
    let payloads: Vec<(String, serde_json::Value)> = log
        .iter()
        .map(|r| (r.rpc.clone().unwrap(), r.token_payload().unwrap()))
        .collect();
    let expect = [
        ("CreateRoom", serde_json::json!({"roomCreate": true})),
        ("ListRooms", serde_json::json!({"roomList": true})),
        (
            "ListParticipants",
            serde_json::json!({"roomAdmin": true, "room": "r1"}),
        ),
        ("DeleteRoom", serde_json::json!({"roomCreate": true})),
    ];
    assert_eq!(payloads.len(), expect.len());
    for ((rpc, payload), (want_rpc, want_video)) in payloads.iter().zip(expect) {
        assert_eq!(rpc, want_rpc);
        assert_eq!(payload["video"], want_video, "{rpc}");
        assert_eq!(payload["iss"], "devkey");
        let ttl = payload["exp"].as_i64().unwrap() - payload["nbf"].as_i64().unwrap();
        assert_eq!(ttl, 600, "short-lived per-call token");
        assert!(payload.get("sub").is_none(), "no identity on API tokens");
    }
    for r in &log {
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        assert!(r.user_agent.as_deref().unwrap().starts_with("roomkey/"));
    }
}

#[tokio::test]
async fn list_delete_and_participants() {
    let (server, client) = setup().await;
    for name in ["a", "b", "c"] {
        client
            .create_room(&CreateRoomRequest::new(name))
            .await
            .unwrap();
    }
    let mut all: Vec<String> = client
        .list_rooms(&[])
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    all.sort();
    assert_eq!(all, ["a", "b", "c"]);
    let some = client
        .list_rooms(&["b".into(), "ghost".into()])
        .await
        .unwrap();
    assert_eq!(some.len(), 1);
    assert_eq!(some[0].name, "b");

    server.seed_participant("b", participant("alice"));
    server.seed_participant("b", participant("bob"));
    let people = client.list_participants("b").await.unwrap();
    let ids: Vec<&str> = people.iter().map(|p| p.identity.as_str()).collect();
    assert_eq!(ids, ["alice", "bob"]);
    assert_eq!(people[0].state, "ACTIVE");
    assert!(client.list_participants("ghost").await.unwrap().is_empty());

    client.delete_room("b").await.unwrap();
    let err = client.delete_room("b").await.unwrap_err();
    assert!(matches!(err, RoomError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string().contains("requested room does not exist"),
        "{err}"
    );
    assert_eq!(client.list_rooms(&[]).await.unwrap().len(), 2);
}

#[tokio::test]
async fn ws_urls_are_mapped_to_http() {
    let server = TestServer::start(TestServerConfig::default())
        .await
        .unwrap();
    let client = RoomClient::with_options(&server.ws_url(), dev_key(), fast_options()).unwrap();
    assert!(
        client
            .create_room(&CreateRoomRequest::new("ws"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn gateway_errors_are_retried_up_to_three_attempts() {
    for status in [502, 503, 504] {
        let (server, client) = setup().await;
        server.inject_for("CreateRoom", Fault::Status(status), 2);
        let room = client.create_room(&CreateRoomRequest::new("retry")).await;
        assert!(room.is_ok(), "{status}: {room:?}");
        assert_eq!(server.attempts("CreateRoom"), 3, "{status}");

        server.reset_attempts();
        server.inject_for("ListRooms", Fault::Status(status), 3);
        let err = client.list_rooms(&[]).await.unwrap_err();
        assert_eq!(server.attempts("ListRooms"), 3);
        match err {
            RoomError::Server {
                status: s,
                ref code,
                ..
            } => {
                assert_eq!(s, status);
                assert_eq!(code, "unavailable");
            }
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    let (server, client) = setup().await;
    server.inject_for("CreateRoom", Fault::Status(500), 1);
    let err = client
        .create_room(&CreateRoomRequest::new("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RoomError::Server { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(server.attempts("CreateRoom"), 1);

    server.reset_attempts();
    server.inject_for(
        "CreateRoom",
        Fault::twirp("invalid_argument", "bad things"),
        1,
    );
    let err = client
        .create_room(&CreateRoomRequest::new("x"))
        .await
        .unwrap_err();
    match &err {
        RoomError::Server {
            status: 400,
            code,
            detail,
            ..
        } => {
            assert_eq!(code, "invalid_argument");
            assert_eq!(detail, "bad things");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.attempts("CreateRoom"), 1, "4xx is never retried");

    server.reset_attempts();
    server.inject_for(
        "CreateRoom",
        Fault::twirp("unauthenticated", "permissions denied"),
        1,
    );
    let err = client
        .create_room(&CreateRoomRequest::new("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RoomError::PermissionDenied {
                grant: "roomCreate",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("needs the roomCreate grant"));
    assert_eq!(server.attempts("CreateRoom"), 1);

    server.reset_attempts();
    server.inject_for("ListRooms", Fault::twirp("bad_route", "no handler"), 1);
    let err = client.list_rooms(&[]).await.unwrap_err();
    assert!(matches!(err, RoomError::BadRoute { .. }), "{err:?}");
}

#[tokio::test]
async fn dropped_connections_are_retried() {
    let (server, client) = setup().await;
    server.inject_for("CreateRoom", Fault::Drop, 1);
    client
        .create_room(&CreateRoomRequest::new("dropped"))
        .await
        .unwrap();
    assert_eq!(server.attempts("CreateRoom"), 2);
    assert!(server.room("dropped").is_some());

    server.reset_attempts();
    server.inject_for("ListRooms", Fault::Drop, 3);
    let err = client.list_rooms(&[]).await.unwrap_err();
    assert_eq!(server.attempts("ListRooms"), 3);
    match &err {
        RoomError::Unreachable {
            attempts: 3,
            cause,
            url,
        } => {
            assert!(cause.starts_with("connection lost"), "{cause}");
            assert_eq!(*url, server.url());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn refused_port_is_unreachable_after_three_attempts() {
    let server = TestServer::start(TestServerConfig::default())
        .await
        .unwrap();
    let client =
        RoomClient::with_options(&server.refused_url(), dev_key(), fast_options()).unwrap();
    let started = Instant::now();
    let err = client.list_rooms(&[]).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, RoomError::Unreachable { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(
        msg.contains(&server.refused_url()) && msg.contains("connection failed"),
        "{msg}"
    );
    // Two backoff pauses: 10 ms then 20 ms.
    assert!(started.elapsed() >= Duration::from_millis(30));
}

#[tokio::test]
async fn slow_answers_time_out_without_retry() {
    let server = TestServer::start(TestServerConfig::default())
        .await
        .unwrap();
    let mut options = fast_options();
    options.timeout = Duration::from_millis(300);
    let client = RoomClient::with_options(&server.url(), dev_key(), options).unwrap();
    server.inject_for("CreateRoom", Fault::Delay(Duration::from_secs(2)), 1);
    let err = client
        .create_room(&CreateRoomRequest::new("slow"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RoomError::Timeout {
                method: "CreateRoom",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("did not answer CreateRoom within 300ms"),
        "{err}"
    );
    assert_eq!(
        server.attempts("CreateRoom"),
        1,
        "a timed-out call is not retried"
    );

    // Latency below the timeout is fine.
    server.inject_for("CreateRoom", Fault::Delay(Duration::from_millis(50)), 1);
    assert!(
        client
            .create_room(&CreateRoomRequest::new("slow"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn rejected_credentials_say_which_settings_to_check() {
    let server = TestServer::start(TestServerConfig::default())
        .await
        .unwrap();
    let wrong = KeyPair::new("devkey", &ApiSecret::new("not-the-secret")).unwrap();
    let client = RoomClient::with_options(&server.url(), wrong, fast_options()).unwrap();
    let err = client.list_rooms(&[]).await.unwrap_err();
    assert!(matches!(err, RoomError::Unauthenticated { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("invalid authorization token") && msg.contains("LIVEKIT_API_SECRET"),
        "{msg}"
    );
    assert!(!msg.contains("not-the-secret"));
    assert_eq!(server.attempts("ListRooms"), 1);

    let unknown = KeyPair::new("APInobody", &ApiSecret::new("secret")).unwrap();
    let client = RoomClient::with_options(&server.url(), unknown, fast_options()).unwrap();
    let err = client.list_rooms(&[]).await.unwrap_err();
    assert!(err.to_string().contains("invalid API key"), "{err}");
}

#[tokio::test]
async fn server_limits_come_back_as_invalid_argument() {
    let (_server, client) = setup().await;
    let err = client
        .create_room(&CreateRoomRequest::new("n".repeat(257)))
        .await
        .unwrap_err();
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
}
