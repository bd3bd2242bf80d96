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
    call(&r, backend_raw(Some("application/json"), "{"))
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
    let (token_ep, action_ep) = ("token", "generate_access_token");
    // (endpoint, profile, tokens issued)
    for (endpoint, profile, want) in [
        (token_ep, "service", 2.0),
        (token_ep, "kiosk", 1.0),
        (token_ep, "host", 1.0),
        (action_ep, "admin", 1.0),
    ] {
        let labels = [label("endpoint", endpoint), label("profile", profile)];
        assert_sample(m, "roomkey_tokens_issued_total", &labels, want);
    }
    // (endpoint, reason, profile, requests denied)
    for (endpoint, reason, profile, want) in [
        (token_ep, "unauthenticated", "-", 2.0),
        (token_ep, "forbidden", "kiosk", 3.0),
        (token_ep, "bad_request", "service", 1.0),
        (action_ep, "admin_only", "service", 1.0),
        (token_ep, "livekit_unavailable", "host", 1.0),
    ] {
        let labels = [
            label("endpoint", endpoint),
            label("reason", reason),
            label("profile", profile),
        ];
        assert_sample(m, "roomkey_tokens_denied_total", &labels, want);
    }
    for (outcome, want) in [("ok", 1.0), ("error", 1.0)] {
        let labels = [label("outcome", outcome)];
        assert_sample(m, "roomkey_room_service_calls_total", &labels, want);
    }
    // 11 answers through the token endpoint, 2 through the action.
    for (name, endpoint, want) in [
        ("roomkey_request_duration_seconds_count", token_ep, 11.0),
        ("roomkey_request_duration_seconds_count", action_ep, 2.0),
    ] {
        assert_sample(m, name, &[label("endpoint", endpoint)], want);
    }
    let all_token_answers = [label("endpoint", token_ep), label("le", "+Inf")];
    assert_sample(
        m,
        "roomkey_request_duration_seconds_bucket",
        &all_token_answers,
        11.0,
    );
    // The histogram has its buckets and a sum.
    assert!(
        m.contains("# TYPE roomkey_request_duration_seconds histogram"),
        "{m}"
    );
    assert!(m.contains("le=\"0.005\""), "{m}");
    let token_label = label("endpoint", token_ep);
    assert!(metric(m, "roomkey_request_duration_seconds_sum", &[&token_label]) > 0.0);
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

/// `key="value"`, a label as the exposition writes it.
fn label(key: &str, value: &str) -> String {
    format!("{key}=\"{value}\"")
}

/// Asserts the value of the first sample of `name` with all of `labels`.
#[track_caller]
fn assert_sample(text: &str, name: &str, labels: &[String], want: f64) {
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    assert_eq!(
        metric(text, name, &labels),
        want,
        "{name} {labels:?}\n{text}"
    );
}
