//! Every refused token request leaves one log line (status, reason, caller, client address;
//! never a key or a token), at a bounded rate.

use axum::http::header;
use serde_json::{Value, json};

use crate::common::*;

/// A token request from `client` (trusted `X-Forwarded-For`).
fn from(client: &str, bearer: Option<&str>, body: &Value) -> axum::http::Request<axum::body::Body> {
    forwarded_for(client, post("/api/token", bearer, body))
}

/// The request as a trusted proxy passes it on for `client`.
fn forwarded_for(
    client: &str,
    request: axum::http::Request<axum::body::Body>,
) -> axum::http::Request<axum::body::Body> {
    with_header(request, "x-forwarded-for", client)
}

fn lines_with(needle: &str) -> Vec<Value> {
    logs()
        .text()
        .lines()
        .filter(|l| l.contains(needle))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test]
async fn refusals_are_logged_with_status_reason_caller_and_client() {
    let r = router(&base_config("trust_forwarded_for = true"));
    let wrong_key = "rk_test_not_a_configured_key_123456";
    let mut text_plain = backend_raw(Some("text/plain"), "{}");
    text_plain.headers_mut().remove(header::CONTENT_LENGTH);
    // (client, its request, the fields of the one line it leaves)
    let cases = [
        // No caller known; the wrong key itself is never logged.
        (
            "198.51.100.7",
            post("/api/token", Some(wrong_key), &json!({})),
            json!({"status": 401, "reason": "unauthenticated", "caller": "-", "endpoint": "token"}),
        ),
        // The kiosk may not choose a room outside its list.
        (
            "198.51.100.8",
            post(
                "/api/token",
                Some(KIOSK_KEY),
                &json!({"room_name": "boardroom"}),
            ),
            json!({"status": 403, "reason": "forbidden", "caller": "kiosk", "profile": "kiosk"}),
        ),
        // A bad request on the action endpoint, from an admin.
        (
            "198.51.100.9",
            post(
                "/api/v1/generate-access-token",
                Some(ADMIN_KEY),
                &json!({"identity": "a", "canPublsh": false}),
            ),
            json!({"status": 400, "caller": "ops", "endpoint": "generate_access_token"}),
        ),
        ("198.51.100.10", text_plain, json!({"status": 415})),
    ];
    for (client, request, want) in cases {
        let reply = call(&r, forwarded_for(client, request)).await;
        assert_eq!(json!(reply.status.as_u16()), want["status"], "{client}");
        let lines = lines_with(client);
        assert_eq!(lines.len(), 1, "one line for {client}: {lines:?}");
        for (field, value) in want.as_object().unwrap() {
            assert_eq!(&lines[0]["fields"][field], value, "{client}: {field}");
        }
    }
    let text = logs().text();
    assert!(
        !text.contains(wrong_key) && !text.contains(KIOSK_KEY),
        "no key in the log"
    );
}

#[tokio::test]
async fn a_flood_of_refusals_writes_a_bounded_number_of_lines() {
    let r = router(&base_config("trust_forwarded_for = true"));
    let client = "203.0.113.77";
    let started = std::time::Instant::now();
    for _ in 0..300 {
        let reply = call(&r, from(client, None, &json!({}))).await;
        assert_eq!(reply.status.as_u16(), 401);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let written = lines_with(client).len();
    // A burst of 50, then 10 a second for however long the loop took.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let most = 50 + (elapsed * 10.0).ceil() as usize + 1;
    assert!(
        written >= 50 && written <= most,
        "{written} lines for 300 refusals in {elapsed:.2} s"
    );
    // After a pause the next line says how many were left out since the line before it; a
    // line written when the limiter refilled mid-loop carried its share, so together the lines
    // account for every refusal not written.
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    call(&r, from(client, None, &json!({}))).await;
    let lines = lines_with(client);
    let left_out: u64 = lines
        .iter()
        .map(|l| l["fields"]["left_out"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(left_out as usize, 300 - written, "{:?}", lines.last());
}

#[tokio::test]
async fn a_timed_out_request_is_logged_with_its_client_and_caller_unknown() {
    // The body trickles in and never ends: the request is dropped at the timeout, and the log
    // still says where it came from.
    let r = router(&base_config(
        "trust_forwarded_for = true\nrequest_timeout = \"1s\"",
    ));
    let (mut tx, body) = http_body_util::channel::Channel::<axum::body::Bytes>::new(1);
    tx.send_data(axum::body::Bytes::from_static(b"{"))
        .await
        .unwrap();
    let request = backend_raw(Some("application/json"), axum::body::Body::new(body));
    let request = forwarded_for("192.0.2.200", request);
    call(&r, request).await.error(503, "timeout");
    drop(tx);
    let lines = lines_with("192.0.2.200");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["fields"]["reason"], "timeout");
    assert_eq!(lines[0]["fields"]["status"], 503);
}
