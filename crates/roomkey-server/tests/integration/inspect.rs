//! `POST /api/inspect`, the web page's token doctor: the inspection of any text as a token,
//! judged at the server's clock and never against its secrets; the body rules of the other
//! endpoints (JSON only, size limit, unknown fields refused); the per-address rate limit.

use std::time::Duration;

use roomkey_token::{AccessToken, ApiSecret, KeyPair, VideoGrant};
use serde_json::{Value, json};

use crate::common::*;

/// A join token for `alice` in `standup`, signed with `secret` for the server's API key, minted
/// at `minted` for ten minutes.
fn join_token(secret: &str, minted: i64) -> String {
    let key = KeyPair::new(API_KEY, &ApiSecret::new(secret)).unwrap();
    AccessToken::new()
        .with_identity("alice")
        .with_name("Alice")
        .with_video(VideoGrant::join("standup"))
        .with_ttl(Duration::from_secs(600))
        .sign_at(&key, minted)
        .unwrap()
}

async fn inspect(r: &axum::Router, body: Value) -> Reply {
    call(r, post("/api/inspect", None, &body)).await
}

/// Asserts a 200 with an inspection; returns it.
#[track_caller]
fn inspection(reply: &Reply) -> &Value {
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    &reply.json
}

/// The findings' `(code, severity)` pairs, in order.
fn codes(inspection: &Value) -> Vec<(String, String)> {
    inspection["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn has(inspection: &Value, code: &str, severity: &str) -> bool {
    codes(inspection).contains(&(code.to_owned(), severity.to_owned()))
}

#[tokio::test]
async fn an_expired_token_is_explained_without_credentials() {
    let r = router(&base_config(""));
    let minted = now() - 7200;
    let token = join_token(API_SECRET, minted);
    let reply = inspect(&r, json!({ "token": token })).await;
    let got = inspection(&reply);
    assert!(has(got, "expired", "error"), "{got:#}");
    assert_eq!(got["signature"], "unchecked");
    assert_eq!(got["claims"]["sub"], "alice");
    assert_eq!(got["claims"]["video"]["room"], "standup");
    assert_eq!(got["header"]["alg"], "HS256");
    // Judged at the server's clock: expired 1 h 50 min ago.
    let exp = &got["times"]["exp"];
    assert_eq!(exp["unix"], json!(minted + 600));
    assert!(exp["relative"].as_str().unwrap().ends_with(" ago"), "{exp}");
    assert!(exp["utc"].as_str().unwrap().ends_with('Z'), "{exp}");
    assert_eq!(got["times"]["leeway_seconds"], 60);
    // Effective permissions: publishing and subscribing are on when unset.
    let video = &got["permissions"]["video"];
    assert_eq!(video["roomJoin"], true, "{video}");
    assert_eq!(video["canPublish"], true, "{video}");
    assert_eq!(video["canPublishData"], true, "{video}");
    assert_eq!(got["size"]["bytes"], json!(token.len()));
    assert_eq!(got["size"]["fits_in_url"], true);
    assert_eq!(got["server"], Value::Null);
    // "Bearer " and white space around the token are dropped, as on the command line.
    let padded = inspect(&r, json!({ "token": format!("  Bearer {token}\n") })).await;
    assert_eq!(inspection(&padded)["claims"], got["claims"]);
}

#[tokio::test]
async fn the_answer_does_not_say_whether_the_server_has_the_secret() {
    let r = router(&base_config(""));
    let minted = now();
    let ours = inspect(&r, json!({ "token": join_token(API_SECRET, minted) })).await;
    let theirs = inspect(
        &r,
        json!({ "token": join_token("another-projects-secret-0123456789abcdef", minted) }),
    )
    .await;
    let (mut ours, mut theirs) = (inspection(&ours).clone(), inspection(&theirs).clone());
    assert_eq!(ours["signature"], "unchecked", "{ours:#}");
    let unchecked = ours["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "signature_unchecked")
        .unwrap_or_else(|| panic!("no signature_unchecked finding: {ours:#}"));
    assert_eq!(unchecked["severity"], "info");
    // The page's caller cannot give a secret: the finding says where to check it instead.
    assert!(
        unchecked["message"].as_str().unwrap().contains("public"),
        "{unchecked}"
    );
    assert!(
        unchecked["hint"]
            .as_str()
            .unwrap()
            .contains("roomkey token inspect"),
        "{unchecked}"
    );
    assert!(
        !codes(&ours).iter().any(|(_, severity)| severity == "error"),
        "a fresh join token has no errors: {ours:#}"
    );
    // The two answers are the same, but for the clock read between them.
    for answer in [&mut ours, &mut theirs] {
        answer["times"]["now"] = Value::Null;
        for time in ["iat", "nbf", "exp"] {
            answer["times"][time]["relative"] = Value::Null;
        }
    }
    assert_eq!(ours, theirs);
}

#[tokio::test]
async fn garbage_is_inspected_as_malformed() {
    let r = router(&base_config(""));
    for text in ["not a token", "", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.!!!.sig"] {
        let reply = inspect(&r, json!({ "token": text })).await;
        let got = inspection(&reply);
        assert!(has(got, "malformed", "error"), "{text:?}: {got:#}");
        assert_eq!(got["times"], Value::Null, "{text:?}");
        assert_eq!(got["permissions"], Value::Null, "{text:?}");
    }
}

#[tokio::test]
async fn the_body_rules_of_the_other_endpoints() {
    let r = router(&base_config("max_body_bytes = 512"));
    let token = join_token(API_SECRET, now());
    for content_type in [Some("text/plain"), None, Some("application/jsonp")] {
        let body = serde_json::to_vec(&json!({ "token": token })).unwrap();
        call(&r, post_raw("/api/inspect", None, content_type, body))
            .await
            .error(415, "unsupported_media_type");
    }
    inspection(&inspect(&r, json!({ "token": token })).await);
    let big = json!({ "token": "x".repeat(600) });
    let e = inspect(&r, big).await.error(413, "too_large").clone();
    assert!(e["message"].as_str().unwrap().contains("512"), "{e}");

    let e = inspect(&r, json!({}))
        .await
        .error(400, "bad_request")
        .clone();
    assert_eq!(e["field"], "token", "{e}");
    assert!(e["message"].as_str().unwrap().contains("\"token\""), "{e}");
    let e = inspect(&r, json!({ "token": 42 }))
        .await
        .error(400, "bad_request")
        .clone();
    assert_eq!(e["field"], "token", "{e}");
    assert!(e["message"].as_str().unwrap().contains("string"), "{e}");
    let e = inspect(&r, json!({ "jwt": "a.b.c" }))
        .await
        .error(400, "bad_request")
        .clone();
    assert_eq!(e["field"], "jwt", "{e}");
    let e = inspect(&r, json!({ "tokne": "a.b.c" }))
        .await
        .error(400, "bad_request")
        .clone();
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("did you mean \"token\""),
        "{e}"
    );
    call(
        &r,
        post_raw("/api/inspect", None, Some("application/json"), "[1]"),
    )
    .await
    .error(400, "bad_request");
    // Only POST.
    get(&r, "/api/inspect")
        .await
        .error(405, "method_not_allowed");
}

#[tokio::test]
async fn inspections_count_against_the_address_like_token_requests() {
    let r = router(&ip_rate_limit(&base_config(""), 30, 2));
    let jwt = join_token(API_SECRET, now());
    inspection(&inspect(&r, json!({ "token": jwt })).await);
    inspection(&inspect(&r, json!({ "token": jwt })).await);
    let limited = inspect(&r, json!({ "token": jwt })).await;
    let e = limited.error(429, "rate_limited");
    assert!(e["message"].as_str().unwrap().contains("ip"), "{e}");
    assert!(limited.header("retry-after").is_some());
    // One budget per address: inspecting cannot be used to get around the token limit.
    token(&r, Some(BACKEND_KEY), json!({}))
        .await
        .error(429, "rate_limited");
}
