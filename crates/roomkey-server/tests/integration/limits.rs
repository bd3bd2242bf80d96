//! Body limit, per-request timeout, and per-caller and per-IP rate limits (429 with
//! Retry-After), over the router and over real sockets.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use roomkey_testserver::{TestServer, TestServerConfig};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let r = router(&base_config("max_body_bytes = 256"));
    let big = json!({"participant_metadata": "m".repeat(300)});
    let reply = token(&r, Some(BACKEND_KEY), big).await;
    let e = reply.error(413, "too_large");
    assert!(e["message"].as_str().unwrap().contains("256"));
    // Just under is fine.
    let fits = json!({"participant_metadata": "m".repeat(200)});
    token(&r, Some(BACKEND_KEY), fits).await.issued();
    // A body without a length (streamed) is cut off too.
    let chunks = streamed_body(vec![vec![b' '; 200], vec![b' '; 200]]);
    let request = Request::post("/api/token")
        .header("authorization", format!("Bearer {BACKEND_KEY}"))
        .header("content-type", "application/json")
        .body(chunks)
        .unwrap();
    call(&r, request).await.error(413, "too_large");
}

#[tokio::test]
async fn a_body_in_pieces_is_read_whole() {
    let r = router(&base_config("max_body_bytes = 256"));
    let pieces = [
        &b"{\"participant_metadata\":"[..],
        b"\"in three ",
        b"pieces\"}",
    ];
    let request = Request::post("/api/token")
        .header("authorization", format!("Bearer {BACKEND_KEY}"))
        .header("content-type", "application/json")
        .body(streamed_body(pieces.iter().map(|p| p.to_vec()).collect()))
        .unwrap();
    let claims = call(&r, request).await.issued();
    assert_eq!(claims.metadata, "in three pieces");
}

/// A body that arrives in pieces, without a length.
fn streamed_body(chunks: Vec<Vec<u8>>) -> Body {
    let (mut tx, body) = http_body_util::channel::Channel::<axum::body::Bytes>::new(4);
    tokio::spawn(async move {
        for c in chunks {
            if tx.send_data(c.into()).await.is_err() {
                break;
            }
        }
    });
    Body::new(body)
}

#[tokio::test]
async fn per_caller_rate_limit() {
    let text = base_config("").replace(
        "per_caller_per_minute = 0",
        "per_caller_per_minute = 60\nburst = 2",
    );
    let r = router(&text);
    token(&r, Some(BACKEND_KEY), json!({})).await.issued();
    token(&r, Some(BACKEND_KEY), json!({})).await.issued();
    let limited = token(&r, Some(BACKEND_KEY), json!({})).await;
    let e = limited.error(429, "rate_limited");
    assert!(e["message"].as_str().unwrap().contains("caller"));
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // Another caller has its own budget.
    token(&r, Some(KIOSK_KEY), json!({})).await.issued();
    // Refused requests of a limited caller do not get through either.
    action(&r, Some(BACKEND_KEY), json!({}))
        .await
        .error(429, "rate_limited");
    // After a second, one more request is allowed (60 a minute).
    tokio::time::sleep(Duration::from_millis(1050)).await;
    token(&r, Some(BACKEND_KEY), json!({})).await.issued();
}

#[tokio::test]
async fn per_ip_limits_behind_a_trusted_proxy() {
    let with_xff = |xff: &str| {
        let mut request = post("/api/token", Some(BACKEND_KEY), &json!({}));
        request
            .headers_mut()
            .insert("x-forwarded-for", xff.parse().unwrap());
        request
    };
    let limited = |extra: &str| {
        router(
            &base_config(extra)
                .replace("per_ip_per_minute = 0", "per_ip_per_minute = 30\nburst = 1"),
        )
    };
    // Trusted: the last entry (the one the proxy appended) is the client.
    let r = limited("trust_forwarded_for = true");
    call(&r, with_xff("198.51.100.7, 203.0.113.1"))
        .await
        .issued();
    call(&r, with_xff("203.0.113.1"))
        .await
        .error(429, "rate_limited");
    call(&r, with_xff("203.0.113.1, 203.0.113.2"))
        .await
        .issued();
    // Not trusted (the default): the header is ignored, so it cannot buy a fresh budget.
    let r = limited("");
    call(&r, with_xff("203.0.113.1")).await.issued();
    call(&r, with_xff("203.0.113.2"))
        .await
        .error(429, "rate_limited");
}

#[tokio::test]
async fn per_ip_rate_limit_over_a_socket() {
    let text =
        base_config("").replace("per_ip_per_minute = 0", "per_ip_per_minute = 30\nburst = 3");
    let app = app(&text);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(roomkey_server::serve(app, listener, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/api/token");
    let send = |bearer: Option<&'static str>| {
        let mut request = client.post(&url).json(&json!({}));
        if let Some(b) = bearer {
            request = request.bearer_auth(b);
        }
        request.send()
    };
    // Unauthenticated requests count against the address too.
    assert_eq!(send(None).await.unwrap().status().as_u16(), 401);
    assert_eq!(
        send(Some(BACKEND_KEY)).await.unwrap().status().as_u16(),
        201
    );
    assert_eq!(send(Some(KIOSK_KEY)).await.unwrap().status().as_u16(), 201);
    for bearer in [Some(BACKEND_KEY), Some(ADMIN_KEY), None] {
        let reply = send(bearer).await.unwrap();
        assert_eq!(reply.status().as_u16(), 429);
        let retry: u64 = reply.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3).contains(&retry), "{retry}");
        let body: serde_json::Value = reply.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limited");
        assert!(body["error"]["message"].as_str().unwrap().contains("ip"));
    }
    // Health checks are not limited.
    let health = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn slow_requests_time_out_with_a_json_answer() {
    let lk = TestServer::start(
        TestServerConfig::default()
            .with_keys_text(&format!("{API_KEY}: {API_SECRET}"))
            .unwrap(),
    )
    .await
    .unwrap();
    lk.set_latency(Some(Duration::from_secs(3)));
    let text = format!(
        "{}\n[profile.host]\nrooms = [\"*\"]\nidentity = \"generated\"\ncreate_room = true\n",
        base_config(&format!(
            "request_timeout = \"1s\"\nroom_service_url = \"{}\"\n[[caller]]\nname = \"host\"\nkey_sha256 = \"{}\"\nprofile = \"host\"\n",
            lk.url(),
            roomkey_server::hash_key("host-key")
        ))
    );
    let r = router(&text);
    let started = Instant::now();
    let reply = token(&r, Some("host-key"), json!({})).await;
    let took = started.elapsed();
    let e = reply.error(503, "timeout");
    assert!(e["message"].as_str().unwrap().contains("too long"));
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    // Other callers are not affected.
    token(&r, Some(BACKEND_KEY), json!({})).await.issued();

    let metrics = get(&r, "/metrics").await.text;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("roomkey_tokens_denied_total")
                && l.contains("reason=\"timeout\"")
                && l.contains("profile=\"host\"")),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_request_that_is_already_late_is_not_served() {
    // A request whose body trickles in is cut off by the timeout too.
    let r = router(&base_config("request_timeout = \"1s\""));
    let (mut tx, body) = http_body_util::channel::Channel::<axum::body::Bytes>::new(1);
    tx.send_data(axum::body::Bytes::from_static(b"{"))
        .await
        .unwrap();
    let request = Request::post("/api/token")
        .header("authorization", format!("Bearer {BACKEND_KEY}"))
        .header("content-type", "application/json")
        .body(Body::new(body))
        .unwrap();
    let started = Instant::now();
    let reply = call(&r, request).await;
    reply.error(503, "timeout");
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(tx);
}
