//! Body limit, per-request timeout, and per-caller and per-IP rate limits (429 with
//! Retry-After), over the router and over real sockets.

use std::time::{Duration, Instant};

use axum::body::Body;
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
    call(&r, backend_raw(Some("application/json"), chunks))
        .await
        .error(413, "too_large");
}

#[tokio::test]
async fn a_body_in_pieces_is_read_whole() {
    let r = router(&base_config("max_body_bytes = 256"));
    let pieces = [
        &b"{\"participant_metadata\":"[..],
        b"\"in three ",
        b"pieces\"}",
    ];
    let body = streamed_body(pieces.iter().map(|p| p.to_vec()).collect());
    let claims = call(&r, backend_raw(Some("application/json"), body))
        .await
        .issued();
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
    let r = router(&caller_rate_limit(&base_config(""), 60, 2));
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
        let request = post("/api/token", Some(BACKEND_KEY), &json!({}));
        with_header(request, "x-forwarded-for", xff)
    };
    let limited = |extra: &str| router(&ip_rate_limit(&base_config(extra), 30, 1));
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
    let served = serve_on_loopback(app(&ip_rate_limit(&base_config(""), 30, 3))).await;
    let client = reqwest::Client::new();
    let url = served.url("/api/token");
    let send = |bearer: Option<&'static str>| {
        let mut request = client.post(&url).json(&json!({}));
        if let Some(b) = bearer {
            request = request.bearer_auth(b);
        }
        request.send()
    };
    // Unauthenticated requests count against the address too.
    for (bearer, status) in [
        (None, 401),
        (Some(BACKEND_KEY), 201),
        (Some(KIOSK_KEY), 201),
    ] {
        let reply = send(bearer).await.unwrap();
        assert_eq!(reply.status().as_u16(), status, "{bearer:?}");
    }
    for bearer in [Some(BACKEND_KEY), Some(ADMIN_KEY), None] {
        let reply = send(bearer).await.unwrap();
        assert_eq!(reply.status().as_u16(), 429, "{bearer:?}");
        let retry: u64 = reply.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3).contains(&retry), "{bearer:?}: {retry}");
        let body: serde_json::Value = reply.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limited", "{bearer:?}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("ip"), "{bearer:?}: {message}");
    }
    // Health checks are not limited.
    let health = client.get(served.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    served.stop().await;
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
    let request = backend_raw(Some("application/json"), Body::new(body));
    let started = Instant::now();
    let reply = call(&r, request).await;
    reply.error(503, "timeout");
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(tx);
}
