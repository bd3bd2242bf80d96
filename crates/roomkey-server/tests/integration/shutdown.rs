//! Graceful shutdown over a real socket: a slow request in flight (its room creation held up by
//! LiveKit) completes with 201, new connections are refused, and the server then stops.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;
use crate::rooms::{HOST_KEY, host_config, livekit};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_finish_and_new_connections_are_refused() {
    let lk = livekit().await;
    lk.set_latency(Some(Duration::from_millis(1500)));
    let served = serve_on_loopback(app(&host_config(&lk.url(), ""))).await;
    let addr = served.addr;
    let url = served.url("/api/token");
    let client = reqwest::Client::new();
    let in_flight = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move {
            let reply = client
                .post(&url)
                .bearer_auth(HOST_KEY)
                .json(&json!({"room_name": "slow-room", "participant_identity": "late"}))
                .send()
                .await
                .unwrap();
            let status = reply.status().as_u16();
            (status, reply.json::<serde_json::Value>().await.unwrap())
        }
    });

    // Wait until the request is inside the server, waiting for LiveKit.
    let deadline = Instant::now() + Duration::from_secs(5);
    while lk.attempts("CreateRoom") == 0 {
        assert!(
            Instant::now() < deadline,
            "the request never reached LiveKit"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!in_flight.is_finished());
    let signalled = Instant::now();
    let server = served.signal();

    // New connections are refused soon after the signal.
    let mut refused = false;
    for _ in 0..100 {
        match tokio::net::TcpStream::connect(addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                refused = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    assert!(
        refused,
        "the listener still accepts connections after shutdown"
    );
    assert!(signalled.elapsed() < Duration::from_millis(1000));
    let fresh = reqwest::Client::new();
    assert!(
        fresh
            .post(&url)
            .bearer_auth(HOST_KEY)
            .json(&json!({}))
            .send()
            .await
            .is_err()
    );

    // The request in flight completes normally.
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 201, "{body}");
    let claims = verify(body["participant_token"].as_str().unwrap());
    assert_eq!((claims.sub.as_str(), claims.room()), ("late", "slow-room"));
    assert!(lk.room("slow-room").is_some());
    assert!(
        signalled.elapsed() >= Duration::from_millis(500),
        "it did wait for LiveKit"
    );

    // And the server stops right after.
    let result = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops once the request is answered");
    result.unwrap().unwrap();
    assert!(signalled.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn a_connection_that_never_finishes_does_not_hold_shutdown_forever() {
    // request_timeout 1 s: the grace after the signal is 1 s + SHUTDOWN_GRACE.
    let served = serve_on_loopback(app(&base_config("request_timeout = \"1s\""))).await;
    // Half a request head, then nothing.
    use tokio::io::AsyncWriteExt as _;
    let mut stalled = tokio::net::TcpStream::connect(served.addr).await.unwrap();
    stalled
        .write_all(b"POST /api/token HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let signalled = Instant::now();
    let server = served.signal();
    let bound = Duration::from_secs(1) + roomkey_server::SHUTDOWN_GRACE + Duration::from_secs(2);
    tokio::time::timeout(bound, server)
        .await
        .expect("shutdown is bounded")
        .unwrap()
        .unwrap();
    assert!(signalled.elapsed() <= bound);
    drop(stalled);
}
