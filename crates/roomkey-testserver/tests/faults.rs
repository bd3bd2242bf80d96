//! The stand-in itself: CreateRoom and ListRooms with tokens checked; faults (latency, 5xx
//! answers, dropped connections, a refused port), attempt counters, and stopping the server.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use roomkey_testserver::{Fault, TestServer, TestServerConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const PREFIX: &str = "/twirp/livekit.RoomService/";
const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";

fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap()
}

/// A token signed with jsonwebtoken (not roomkey-token): `video` for `iss`, valid ten minutes.
fn sign(iss: &str, secret: &str, video: Value) -> String {
    let claims = json!({"iss": iss, "nbf": now(), "exp": now() + 600, "video": video});
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}

fn create_token() -> String {
    sign("devkey", "secret", json!({"roomCreate": true}))
}

fn list_token() -> String {
    sign("devkey", "secret", json!({"roomList": true}))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// What came back.
#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn send(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client()
        .request(method, format!("{}{path}", server.url()))
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp.text().await.unwrap();
    Reply {
        status,
        content_type,
        body,
    }
}

/// POSTs a JSON body to a RoomService method with an optional bearer token.
async fn call_json(server: &TestServer, method: &str, token: Option<&str>, body: &str) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", JSON)];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    send(server, "POST", &format!("{PREFIX}{method}"), &headers, body).await
}

/// `CreateRoom` with a token that may create rooms.
async fn create_room(server: &TestServer, body: &str) -> Reply {
    call_json(server, "CreateRoom", Some(&create_token()), body).await
}

/// `ListRooms` of every room, with a token that may list them.
async fn list_rooms(server: &TestServer) -> Reply {
    call_json(server, "ListRooms", Some(&list_token()), "{}").await
}

/// A RoomService call through `client` to the server at `base`: a JSON body, and the token
/// as bearer when there is one.
fn twirp_request(
    client: &reqwest::Client,
    base: &str,
    method: &str,
    token: Option<&str>,
    body: &'static str,
) -> reqwest::RequestBuilder {
    let mut request = client
        .post(format!("{base}{PREFIX}{method}"))
        .header("content-type", JSON)
        .body(body);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request
}

/// Asserts a Twirp error answer: the status and the error code in the JSON body.
#[track_caller]
fn assert_twirp_error(case: &str, r: &Reply, status: u16, code: &str) {
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (status, Some(code)),
        "{case}: {}",
        r.body
    );
}

async fn start() -> TestServer {
    TestServer::start(TestServerConfig::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn create_and_list_rooms() {
    let server = start().await;
    let r = create_room(
        &server,
        r#"{"name":"a","emptyTimeout":600,"max_participants":4,"metadata":"m"}"#,
    )
    .await;
    assert_eq!((r.status, r.content_type.as_str()), (200, JSON));
    let a = r.json();
    assert!(a["sid"].as_str().unwrap().starts_with("RM_"));
    assert_eq!(
        (
            &a["name"],
            &a["empty_timeout"],
            &a["departure_timeout"],
            &a["max_participants"]
        ),
        (&json!("a"), &json!(600), &json!(20), &json!(4))
    );
    assert_eq!(a["metadata"], "m");
    assert!(a["creation_time"].as_str().unwrap().parse::<i64>().unwrap() >= now() - 5);
    // Again, with other settings: the room as it was.
    let again = create_room(&server, r#"{"name":"a","emptyTimeout":30}"#).await;
    assert_eq!(again.json(), a);
    create_room(&server, r#"{"name":"b"}"#).await;
    assert_eq!(server.rooms().len(), 2);
    assert_eq!(server.room("b").unwrap()["empty_timeout"], 300);

    let all = list_rooms(&server).await.json();
    let names: Vec<&str> = all["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    let some = call_json(
        &server,
        "ListRooms",
        Some(&list_token()),
        r#"{"names":["b","ghost"]}"#,
    )
    .await
    .json();
    assert_eq!(some["rooms"].as_array().unwrap().len(), 1);
    assert_eq!(some["rooms"][0]["name"], "b");

    let r = create_room(&server, r#"{"name":7}"#).await;
    assert_twirp_error("a name that is not a string", &r, 400, "malformed");
    assert_eq!(server.attempts("CreateRoom"), 4);
}

#[tokio::test]
async fn tokens_and_grants_are_checked() {
    let server = start().await;
    // The wrong grant, or none: 401 JSON from the handler.
    for token in [Some(list_token()), None] {
        let r = call_json(&server, "CreateRoom", token.as_deref(), r#"{"name":"x"}"#).await;
        assert_eq!(
            (r.status, r.content_type.as_str(), r.body.as_str()),
            (
                401,
                JSON,
                r#"{"code":"unauthenticated","msg":"permissions denied"}"#
            )
        );
    }
    let r = call_json(&server, "ListRooms", Some(&create_token()), "{}").await;
    assert_eq!(r.status, 401);
    // A bad token: 401 text/plain from the auth layer, whatever the method.
    let wrong = sign("devkey", "not-the-secret", json!({"roomCreate": true}));
    let r = call_json(&server, "CreateRoom", Some(&wrong), r#"{"name":"x"}"#).await;
    assert_eq!((r.status, r.content_type.as_str()), (401, TEXT));
    assert_eq!(
        r.body,
        format!("invalid token: {wrong}, error: token signature is invalid: signature is invalid")
    );
    let unknown = sign("APIother", "secret", json!({"roomCreate": true}));
    let r = call_json(&server, "DeleteRoom", Some(&unknown), "{}").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (401, "invalid API key: APIother")
    );
    assert!(server.rooms().is_empty());

    // Other keys.
    let other = TestServer::start(
        TestServerConfig::default()
            .with_keys_text("APIa: secret-a\nAPIb: secret-b")
            .unwrap(),
    )
    .await
    .unwrap();
    let b = sign("APIb", "secret-b", json!({"roomList": true}));
    assert_eq!(
        call_json(&other, "ListRooms", Some(&b), "{}").await.status,
        200
    );
    let dev = call_json(&other, "ListRooms", Some(&list_token()), "{}").await;
    assert_eq!(
        (dev.status, dev.body.as_str()),
        (401, "invalid API key: devkey")
    );
    assert!(
        TestServerConfig::default()
            .with_keys_text("no colon")
            .is_err()
    );
}

#[tokio::test]
async fn only_create_and_list_are_served() {
    let server = start().await;
    let r = call_json(
        &server,
        "DeleteRoom",
        Some(&create_token()),
        r#"{"room":"a"}"#,
    )
    .await;
    assert_twirp_error("DeleteRoom", &r, 501, "unimplemented");
    let r = send(&server, "GET", "/nothing", &[], "").await;
    assert_eq!((r.status, r.body.as_str()), (404, "404 page not found"));
    let auth = format!("Bearer {}", list_token());
    // A Twirp route, but not asked for as Twirp asks.
    for (case, method, headers, body) in [
        (
            "a text body",
            "POST",
            vec![
                ("authorization", auth.as_str()),
                ("content-type", "text/plain"),
            ],
            "{}",
        ),
        ("GET", "GET", vec![("authorization", auth.as_str())], ""),
    ] {
        let r = send(
            &server,
            method,
            &format!("{PREFIX}ListRooms"),
            &headers,
            body,
        )
        .await;
        assert_twirp_error(case, &r, 404, "bad_route");
    }
}

#[tokio::test]
async fn status_faults_answer_like_a_proxy_then_recover() {
    let server = start().await;
    server.inject(Fault::Status(503), 2);
    for _ in 0..2 {
        let r = list_rooms(&server).await;
        assert_eq!(
            (r.status, r.content_type.as_str(), r.body.as_str()),
            (503, TEXT, "503 Service Unavailable\n")
        );
    }
    let r = list_rooms(&server).await;
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"rooms":[]}"#));
    assert_eq!(server.attempts("ListRooms"), 3);
    assert_eq!(server.pending_faults(), 0);

    for (status, text) in [
        (502, "502 Bad Gateway\n"),
        (504, "504 Gateway Timeout\n"),
        (500, "500 Internal Server Error\n"),
    ] {
        server.inject(Fault::Status(status), 1);
        let r = create_room(&server, r#"{"name":"x"}"#).await;
        assert_eq!((r.status, r.body.as_str()), (status, text));
    }
    // Faulted requests never reached the service.
    assert!(server.rooms().is_empty());
    assert_eq!(server.attempts("CreateRoom"), 3);
}

#[tokio::test]
async fn twirp_faults_answer_like_livekit() {
    let server = start().await;
    server.inject(
        Fault::twirp(
            "unavailable",
            "twirp error unknown: no response from servers",
        ),
        1,
    );
    server.inject(Fault::twirp("internal", "boom"), 1);
    // The faults in the order queued, then the service itself.
    for (case, status, body) in [
        (
            "unavailable",
            503,
            r#"{"code":"unavailable","msg":"twirp error unknown: no response from servers"}"#,
        ),
        ("internal", 500, r#"{"code":"internal","msg":"boom"}"#),
    ] {
        let r = create_room(&server, r#"{"name":"x"}"#).await;
        assert_eq!(
            (r.status, r.content_type.as_str(), r.body.as_str()),
            (status, JSON, body),
            "{case}"
        );
    }
    assert_eq!(create_room(&server, r#"{"name":"x"}"#).await.status, 200);
    assert_eq!(server.attempts("CreateRoom"), 3);
}

#[tokio::test]
async fn dropped_connections_get_no_response() {
    let server = start().await;
    server.inject(Fault::Drop, 2);

    // With a raw socket: the request is read, then the connection closes with nothing written.
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let body = r#"{"name":"dropped"}"#;
    let req = format!(
        "POST /twirp/livekit.RoomService/CreateRoom HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\n\r\n{body}",
        create_token(),
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got)).await;
    match read {
        Ok(Ok(_)) => assert!(
            got.is_empty(),
            "no response bytes: {:?}",
            String::from_utf8_lossy(&got)
        ),
        Ok(Err(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
        Err(_) => panic!("the connection was not closed"),
    }

    // With an HTTP client: a transport error, not a status.
    let token = create_token();
    let err = twirp_request(
        &client(),
        &server.url(),
        "CreateRoom",
        Some(&token),
        r#"{"name":"dropped"}"#,
    )
    .send()
    .await
    .unwrap_err();
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");

    // Then the server answers again, and nothing was created meanwhile.
    let r = create_room(&server, r#"{"name":"kept"}"#).await;
    assert_eq!(r.status, 200);
    assert_eq!(server.rooms().len(), 1);
    assert_eq!(server.attempts("CreateRoom"), 3);
    assert_eq!(server.room("kept").unwrap()["name"], "kept");
    assert!(server.room("dropped").is_none());
}

#[tokio::test]
async fn latency_per_request_and_standing() {
    let server = start().await;
    server.inject(Fault::Delay(Duration::from_millis(300)), 1);
    let t = Instant::now();
    let r = list_rooms(&server).await;
    assert_eq!(r.status, 200, "a delayed request is then served normally");
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    list_rooms(&server).await;
    assert!(
        t.elapsed() < Duration::from_millis(250),
        "only the next one"
    );

    // A client timeout shorter than the delay: the client gives up, the attempt is counted.
    server.inject(Fault::Delay(Duration::from_millis(800)), 1);
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = twirp_request(&impatient, &server.url(), "ListRooms", None, "{}")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(server.attempts("ListRooms"), 3);

    // Standing latency applies to everything until cleared; it adds to queued delays and
    // combines with a queued failure.
    server.set_latency(Some(Duration::from_millis(150)));
    server.inject(Fault::Status(504), 1);
    let t = Instant::now();
    let r = list_rooms(&server).await;
    assert_eq!(r.status, 504);
    assert!(t.elapsed() >= Duration::from_millis(150));
    let t = Instant::now();
    send(&server, "GET", "/", &[], "").await;
    assert!(t.elapsed() >= Duration::from_millis(150));
    server.set_latency(None);
    let t = Instant::now();
    send(&server, "GET", "/", &[], "").await;
    assert!(t.elapsed() < Duration::from_millis(120));
}

#[tokio::test]
async fn faults_can_target_one_method() {
    let server = start().await;
    server.inject_for("ListRooms", Fault::Status(502), 2);
    server.inject_for("CreateRoom", Fault::Drop, 1);
    assert_eq!(server.pending_faults(), 3);
    // Other methods and paths are untouched (and answered as usual: 501, the health check).
    assert_eq!(
        call_json(
            &server,
            "ListParticipants",
            Some(&create_token()),
            r#"{"room":"my-room"}"#
        )
        .await
        .status,
        501
    );
    assert_eq!(send(&server, "GET", "/", &[], "").await.status, 200);
    for (attempt, status) in [(1, 502), (2, 502), (3, 200)] {
        let r = list_rooms(&server).await;
        assert_eq!(r.status, status, "ListRooms, attempt {attempt}");
    }
    assert_eq!(server.pending_faults(), 1);
    server.clear_faults();
    assert_eq!(create_room(&server, r#"{"name":"a"}"#).await.status, 200);
    assert_eq!(
        (
            server.attempts("ListRooms"),
            server.attempts("CreateRoom"),
            server.attempts("ListParticipants")
        ),
        (3, 1, 1)
    );
    server.reset_attempts();
    assert_eq!(server.attempts("ListRooms"), 0);
}

#[tokio::test]
async fn refused_url_refuses() {
    let server = start().await;
    let refused = server.refused_url();
    assert!(refused.starts_with("http://127.0.0.1:"));
    assert_ne!(refused, server.url());
    for _ in 0..2 {
        let err = twirp_request(&client(), &refused, "ListRooms", None, "{}")
            .send()
            .await
            .unwrap_err();
        assert!(err.is_connect(), "{err:?}");
    }
    assert_eq!(server.total_requests(), 0);
}

#[tokio::test]
async fn dropping_the_server_stops_it() {
    let server = start().await;
    let addr = server.addr();
    assert_eq!(send(&server, "GET", "/", &[], "").await.status, 200);
    drop(server);
    let err = tokio::net::TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);

    // shutdown() lets a request in flight finish.
    let server =
        TestServer::start(TestServerConfig::default().with_shutdown_grace(Duration::from_secs(5)))
            .await
            .unwrap();
    server.inject(Fault::Delay(Duration::from_millis(300)), 1);
    let request = twirp_request(
        &client(),
        &server.url(),
        "ListRooms",
        Some(&list_token()),
        "{}",
    );
    let in_flight = tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let addr = server.addr();
    server.shutdown().await;
    assert_eq!(in_flight.await.unwrap().unwrap(), 200);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
