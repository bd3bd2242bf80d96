//! The RoomService and AgentDispatchService client's retries, timeouts and transport failures,
//! on roomkey-testserver: what the real LiveKit server cannot be made to do (5xx answers,
//! slowness, dropped connections, a refused port, Twirp errors it has no way to give these
//! calls). Everything else is tested against the real server in
//! `crates/roomkey-interop/tests/rooms_client.rs` and `tests/agents.rs`.

use std::time::{Duration, Instant};

use roomkey_rooms::{
    ClientOptions, CreateDispatchRequest, CreateRoomRequest, RoomClient, RoomError,
};
use roomkey_testserver::{Fault, TestServer, TestServerConfig};
use roomkey_token::{ApiSecret, KeyPair};

fn dev_key() -> KeyPair {
    KeyPair::new("devkey", &ApiSecret::new("secret")).unwrap()
}

fn fast_options() -> ClientOptions {
    let mut o = ClientOptions::default();
    o.backoff = Duration::from_millis(10);
    o.timeout = Duration::from_secs(5);
    o
}

async fn start_server() -> TestServer {
    TestServer::start(TestServerConfig::default())
        .await
        .unwrap()
}

async fn setup() -> (TestServer, RoomClient) {
    let server = start_server().await;
    let client = RoomClient::with_options(&server.url(), dev_key(), fast_options()).unwrap();
    (server, client)
}

/// The error of one `CreateRoom` call that meets `fault`, counted from zero attempts.
async fn create_room_error(server: &TestServer, client: &RoomClient, fault: Fault) -> RoomError {
    server.reset_attempts();
    server.inject_for("CreateRoom", fault, 1);
    client
        .create_room(&CreateRoomRequest::new("x"))
        .await
        .unwrap_err()
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
    let err = create_room_error(&server, &client, Fault::Status(500)).await;
    assert!(
        matches!(err, RoomError::Server { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(server.attempts("CreateRoom"), 1);

    let invalid = Fault::twirp("invalid_argument", "bad things");
    let err = create_room_error(&server, &client, invalid).await;
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

    let denied = Fault::twirp("unauthenticated", "permissions denied");
    let err = create_room_error(&server, &client, denied).await;
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
    let server = start_server().await;
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
    let server = start_server().await;
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
    let room = client.create_room(&CreateRoomRequest::new("slow")).await;
    assert!(room.is_ok(), "{room:?}");
}

/// A reverse proxy that serves LiveKit under a path prefix: the client must call
/// `PREFIX/twirp/…`. A one-shot listener records the request line and answers an empty list.
#[tokio::test]
async fn a_path_prefix_in_the_url_is_kept() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let proxy = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            socket.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        let body = b"{\"rooms\":[]}";
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        socket.write_all(answer.as_bytes()).await.unwrap();
        socket.write_all(body).await.unwrap();
        String::from_utf8(head).unwrap()
    });
    let client =
        RoomClient::with_options(&format!("ws://{addr}/livekit/"), dev_key(), fast_options())
            .unwrap();
    assert_eq!(client.base_url(), format!("http://{addr}/livekit"));
    assert!(client.list_rooms(&[]).await.unwrap().is_empty());
    let head = proxy.await.unwrap();
    assert!(
        head.starts_with("POST /livekit/twirp/livekit.RoomService/ListRooms HTTP/1.1\r\n"),
        "{head}"
    );
}

/// CreateDispatch starts a job each time the server gets it, so a request that may have
/// reached the server (a lost connection, a gateway error) is not sent again; one that never
/// left (a refused connection) would be. The other dispatch calls retry as the room calls do.
#[tokio::test]
async fn a_dispatch_that_may_have_reached_the_server_is_not_sent_again() {
    let (server, client) = setup().await;
    let request = CreateDispatchRequest::new("r", "triage");
    for fault in [Fault::Drop, Fault::Status(503), Fault::Status(502)] {
        server.reset_attempts();
        server.inject_for("CreateDispatch", fault.clone(), 1);
        let err = client.create_dispatch(&request).await.unwrap_err();
        assert_eq!(server.attempts("CreateDispatch"), 1, "{fault:?}: {err:?}");
    }

    // The repeatable dispatch calls are retried: the second attempt reaches the imitation,
    // which answers `unimplemented` (it imitates only faults for this service).
    server.reset_attempts();
    server.inject_for("ListDispatch", Fault::Drop, 1);
    let err = client.list_dispatches("r").await.unwrap_err();
    assert!(
        matches!(&err, RoomError::Server { code, .. } if code == "unimplemented"),
        "{err:?}"
    );
    assert_eq!(server.attempts("ListDispatch"), 2);
    server.inject_for("DeleteDispatch", Fault::Status(504), 1);
    client.delete_dispatch("r", "AD_x").await.unwrap_err();
    assert_eq!(server.attempts("DeleteDispatch"), 2);
}
