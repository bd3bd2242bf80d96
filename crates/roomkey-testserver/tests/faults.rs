//! Fault injection: latency, 5xx answers, dropped connections, a refused port, attempt
//! counters, and stopping the server.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use roomkey_testserver::{Fault, TestServer, TestServerConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[tokio::test]
async fn status_faults_answer_like_a_proxy_then_recover() {
    let server = start().await;
    server.fail_next(2, 503);
    for _ in 0..2 {
        let r = call_json(&server, "ListRooms", Some(&list_token()), "{}").await;
        assert_eq!(
            (r.status, r.ct(), r.text().as_str()),
            (503, TEXT, "503 Service Unavailable\n")
        );
    }
    let r = call_json(&server, "ListRooms", Some(&list_token()), "{}").await;
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"rooms":[]}"#));
    assert_eq!(server.attempts("ListRooms"), 3);
    assert_eq!(server.pending_faults(), 0);

    for (status, text) in [
        (502, "502 Bad Gateway\n"),
        (504, "504 Gateway Timeout\n"),
        (500, "500 Internal Server Error\n"),
    ] {
        server.fail_next(1, status);
        let r = call_json(&server, "CreateRoom", Some(T1), r#"{"name":"x"}"#).await;
        assert_eq!((r.status, r.text().as_str()), (status, text));
    }
    // Faulted requests never reached the service.
    assert!(server.rooms().is_empty());
    let log = server.request_log();
    assert_eq!(log[0].fault, Some(Fault::Status(503)));
    assert_eq!(log[0].status, Some(503));
    assert_eq!(log[2].fault, None);
}

#[tokio::test]
async fn twirp_faults_answer_like_livekit() {
    let server = start().await;
    server.fail_next_twirp(
        1,
        "unavailable",
        "twirp error unknown: no response from servers",
    );
    server.fail_next_twirp(1, "internal", "boom");
    let r = call_json(&server, "CreateRoom", Some(T1), r#"{"name":"x"}"#).await;
    assert_eq!(
        (r.status, r.ct(), r.text().as_str()),
        (
            503,
            JSON,
            r#"{"code":"unavailable","msg":"twirp error unknown: no response from servers"}"#
        )
    );
    let r = call_json(&server, "CreateRoom", Some(T1), r#"{"name":"x"}"#).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (500, r#"{"code":"internal","msg":"boom"}"#)
    );
    assert_eq!(
        call_json(&server, "CreateRoom", Some(T1), r#"{"name":"x"}"#)
            .await
            .status,
        200
    );
    assert_eq!(server.attempts("CreateRoom"), 3);
}

#[tokio::test]
async fn dropped_connections_get_no_response() {
    let server = start().await;
    server.drop_next(2);

    // With a raw socket: the request is read, then the connection closes with nothing written.
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let body = r#"{"name":"dropped"}"#;
    let req = format!(
        "POST /twirp/livekit.RoomService/CreateRoom HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer {T1}\r\nContent-Length: {}\r\n\r\n{body}",
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
    let err = client()
        .post(format!("{}{PREFIX}CreateRoom", server.url()))
        .header("content-type", JSON)
        .header("authorization", format!("Bearer {T1}"))
        .body(r#"{"name":"dropped"}"#)
        .send()
        .await
        .unwrap_err();
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");

    // Then the server answers again, and nothing was created meanwhile.
    let r = call_json(&server, "CreateRoom", Some(T1), r#"{"name":"kept"}"#).await;
    assert_eq!(r.status, 200);
    assert_eq!(server.rooms().len(), 1);
    assert_eq!(server.attempts("CreateRoom"), 3);
    let log = server.request_log();
    assert_eq!(log.len(), 3);
    assert_eq!(
        (log[0].status, log[0].fault.clone()),
        (None, Some(Fault::Drop))
    );
    assert_eq!(
        log[0].request_json().unwrap()["name"],
        "dropped",
        "the request was read first"
    );
    assert_eq!(log[1].status, None);
    assert_eq!(log[2].status, Some(200));
}

#[tokio::test]
async fn latency_per_request_and_standing() {
    let server = start().await;
    server.delay_next(1, Duration::from_millis(300));
    let t = Instant::now();
    let r = call_json(&server, "ListRooms", Some(&list_token()), "{}").await;
    assert_eq!(r.status, 200, "a delayed request is then served normally");
    assert!(t.elapsed() >= Duration::from_millis(300));
    let seq = server.total_requests() as u64;
    call_json(&server, "ListRooms", Some(&list_token()), "{}").await;
    assert_eq!(delay_of(&server, seq), Duration::ZERO, "only the next one");

    // A client timeout shorter than the delay: the client gives up, the attempt is counted.
    server.delay_next(1, Duration::from_millis(800));
    let err = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap()
        .post(format!("{}{PREFIX}ListRooms", server.url()))
        .header("content-type", JSON)
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(server.attempts("ListRooms"), 3);

    // Standing latency applies to everything until cleared; it adds to queued delays and
    // combines with a queued failure.
    server.set_latency(Some(Duration::from_millis(150)));
    server.fail_next(1, 504);
    let t = Instant::now();
    let r = call_json(&server, "ListRooms", Some(&list_token()), "{}").await;
    assert_eq!(r.status, 504);
    assert!(t.elapsed() >= Duration::from_millis(150));
    let t = Instant::now();
    send(&server, "GET", "/", &[], "").await;
    assert!(t.elapsed() >= Duration::from_millis(150));
    server.set_latency(None);
    let seq = server.total_requests() as u64;
    send(&server, "GET", "/", &[], "").await;
    assert_eq!(delay_of(&server, seq), Duration::ZERO);
}

/// The injected delay of the request that arrived `seq`-th (its log entry is written before
/// its response is sent).
fn delay_of(server: &TestServer, seq: u64) -> Duration {
    server
        .request_log()
        .into_iter()
        .find(|e| e.seq == seq)
        .unwrap()
        .delay
}

#[tokio::test]
async fn faults_can_target_one_method() {
    let server = start().await;
    server.inject_for("ListRooms", Fault::Status(502), 2);
    server.inject_for("CreateRoom", Fault::Drop, 1);
    assert_eq!(server.pending_faults(), 3);
    // Other methods and paths are untouched.
    assert_eq!(
        call_json(
            &server,
            "ListParticipants",
            Some(T2),
            r#"{"room":"my-room"}"#
        )
        .await
        .status,
        200
    );
    assert_eq!(send(&server, "GET", "/", &[], "").await.status, 200);
    assert_eq!(
        call_json(&server, "ListRooms", Some(&list_token()), "{}")
            .await
            .status,
        502
    );
    assert_eq!(
        call_json(&server, "ListRooms", Some(&list_token()), "{}")
            .await
            .status,
        502
    );
    assert_eq!(
        call_json(&server, "ListRooms", Some(&list_token()), "{}")
            .await
            .status,
        200
    );
    assert_eq!(server.pending_faults(), 1);
    server.clear_faults();
    assert_eq!(
        call_json(&server, "CreateRoom", Some(T1), r#"{"name":"a"}"#)
            .await
            .status,
        200
    );
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
        let err = client()
            .post(format!("{refused}{PREFIX}ListRooms"))
            .body("{}")
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
    server.delay_next(1, Duration::from_millis(300));
    let url = format!("{}{PREFIX}ListRooms", server.url());
    let token = list_token();
    let in_flight = tokio::spawn(async move {
        client()
            .post(url)
            .header("content-type", JSON)
            .header("authorization", format!("Bearer {token}"))
            .body("{}")
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let addr = server.addr();
    server.shutdown().await;
    assert_eq!(in_flight.await.unwrap().unwrap(), 200);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// Regions discovery for failover tests: one server lists another.
#[tokio::test]
async fn regions_endpoint() {
    let backup = start().await;
    let primary =
        TestServer::start(TestServerConfig::default().with_regions(vec![backup.ws_url()]))
            .await
            .unwrap();
    let r = send(
        &primary,
        "GET",
        "/settings/regions",
        &[("authorization", &format!("Bearer {T1}"))],
        "",
    )
    .await;
    assert_eq!((r.status, r.ct()), (200, JSON));
    assert_eq!(r.headers["cache-control"], "max-age=0");
    assert_eq!(r.json()["regions"][0]["url"], backup.ws_url());
}
