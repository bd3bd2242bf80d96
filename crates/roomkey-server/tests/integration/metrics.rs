//! `/metrics`: tokens issued and denied by reason and profile, the latency histogram, and
//! RoomService outcomes, in the Prometheus (OpenMetrics) text format.

use roomkey_testserver::Fault;
use serde_json::json;

use crate::common::*;
use crate::rooms::{HOST_KEY, host_config, livekit, metric};

#[tokio::test]
async fn counters_histogram_and_room_service_outcomes() {
    let lk = livekit().await;
    let r = router(&host_config(&lk.url(), ""));

    // Issued: 2 × service, 1 × kiosk, 1 × admin through the action, 1 × host (room created).
    token(&r, Some(BACKEND_KEY), json!({})).await.issued();
    token(&r, Some(BACKEND_KEY), json!({})).await.issued();
    token(&r, Some(KIOSK_KEY), json!({})).await.issued();
    let a = action(&r, Some(ADMIN_KEY), json!({"identity": "op"})).await;
    assert_eq!(a.status.as_u16(), 200);
    token(&r, Some(HOST_KEY), json!({})).await.issued();
    // Denied: unauthenticated ×2, forbidden (kiosk) ×3, bad request (service), admin only,
    // LiveKit down (host).
    token(&r, None, json!({}))
        .await
        .error(401, "unauthenticated");
    token(&r, Some("nope"), json!({}))
        .await
        .error(401, "unauthenticated");
    for _ in 0..3 {
        token(&r, Some(KIOSK_KEY), json!({"participant_name": "x"}))
            .await
            .forbidden("participant_name");
    }
    call(
        &r,
        post_raw(
            "/api/token",
            Some(BACKEND_KEY),
            Some("application/json"),
            "{",
        ),
    )
    .await
    .error(400, "bad_request");
    action(&r, Some(BACKEND_KEY), json!({}))
        .await
        .error(403, "admin_only");
    lk.inject_for("CreateRoom", Fault::Status(500), 1);
    token(&r, Some(HOST_KEY), json!({}))
        .await
        .error(502, "livekit_unavailable");

    let reply = get(&r, "/metrics").await;
    assert_eq!(reply.status.as_u16(), 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"),
    );
    let m = &reply.text;
    let issued = "roomkey_tokens_issued_total";
    let denied = "roomkey_tokens_denied_total";
    let token_ep = "endpoint=\"token\"";
    let action_ep = "endpoint=\"generate_access_token\"";
    for (name, labels, want) in [
        (issued, vec![token_ep, "profile=\"service\""], 2.0),
        (issued, vec![token_ep, "profile=\"kiosk\""], 1.0),
        (issued, vec![token_ep, "profile=\"host\""], 1.0),
        (issued, vec![action_ep, "profile=\"admin\""], 1.0),
        (
            denied,
            vec![token_ep, "reason=\"unauthenticated\"", "profile=\"-\""],
            2.0,
        ),
        (
            denied,
            vec![token_ep, "reason=\"forbidden\"", "profile=\"kiosk\""],
            3.0,
        ),
        (
            denied,
            vec![token_ep, "reason=\"bad_request\"", "profile=\"service\""],
            1.0,
        ),
        (
            denied,
            vec![action_ep, "reason=\"admin_only\"", "profile=\"service\""],
            1.0,
        ),
        (
            denied,
            vec![
                token_ep,
                "reason=\"livekit_unavailable\"",
                "profile=\"host\"",
            ],
            1.0,
        ),
        (
            "roomkey_room_service_calls_total",
            vec!["outcome=\"ok\""],
            1.0,
        ),
        (
            "roomkey_room_service_calls_total",
            vec!["outcome=\"error\""],
            1.0,
        ),
        // 11 answers through the token endpoint, 2 through the action.
        (
            "roomkey_request_duration_seconds_count",
            vec![token_ep],
            11.0,
        ),
        (
            "roomkey_request_duration_seconds_count",
            vec![action_ep],
            2.0,
        ),
        (
            "roomkey_request_duration_seconds_bucket",
            vec![token_ep, "le=\"+Inf\""],
            11.0,
        ),
    ] {
        assert_eq!(metric(m, name, &labels), want, "{name} {labels:?}\n{m}");
    }
    // The histogram has its buckets and a sum.
    assert!(
        m.contains("# TYPE roomkey_request_duration_seconds histogram"),
        "{m}"
    );
    assert!(m.contains("le=\"0.005\""), "{m}");
    assert!(metric(m, "roomkey_request_duration_seconds_sum", &[token_ep]) > 0.0);
    assert!(m.contains("# TYPE roomkey_tokens_issued counter"), "{m}");
    assert!(m.trim_end().ends_with("# EOF"));
    // Metrics name no identities, rooms or keys.
    for secret in ["op", BACKEND_KEY, API_SECRET, "lobby"] {
        assert!(
            !m.lines()
                .filter(|l| !l.starts_with('#'))
                .any(|l| l.contains(&format!("\"{secret}\""))),
            "{secret}"
        );
    }
}
