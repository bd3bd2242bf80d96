//! CORS: preflight for allowed origins only, and CORS headers on every answer, errors included.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::common::*;

const ORIGIN: &str = "https://app.example.com";

fn preflight(origin: &str) -> Request<Body> {
    Request::options("/api/token")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .body(Body::empty())
        .unwrap()
}

fn with_origin(request: Request<Body>, origin: &str) -> Request<Body> {
    with_header(request, "origin", origin)
}

/// An empty token request from the backend caller, sent by a page at `origin`.
fn backend_from(origin: &str) -> Request<Body> {
    with_origin(post("/api/token", Some(BACKEND_KEY), &json!({})), origin)
}

/// Asserts that the answer lets a page at [`ORIGIN`] read it, credentials included.
#[track_caller]
fn allowed(case: &str, reply: &Reply) {
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(ORIGIN),
        "{case}: {} {:?}",
        reply.status,
        reply.headers
    );
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true"),
        "{case}"
    );
    let vary: Vec<_> = reply
        .headers
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .collect();
    assert!(
        vary.iter().any(|v| v.contains("origin")),
        "{case}: {vary:?}"
    );
}

/// The header's value in lower case (empty when it is missing), to look for list entries.
fn lowercase_header(reply: &Reply, name: &str) -> String {
    reply.header(name).unwrap_or_default().to_ascii_lowercase()
}

/// The base configuration with `--cors-origin origin` (the `cors_origins` of the environment).
fn parse_with_cors_origin(
    origin: &str,
) -> Result<roomkey_server::Config, roomkey_server::ConfigError> {
    let flagged = roomkey_server::EnvOverrides {
        cors_origins: vec![origin.into()],
        ..env()
    };
    roomkey_server::Config::parse("roomkey.toml", &base_config(""), &flagged, None)
}

#[tokio::test]
async fn preflight_from_an_allowed_origin() {
    let r = router(&base_config(""));
    let reply = call(&r, preflight(ORIGIN)).await;
    assert!(reply.status.is_success(), "{}", reply.status);
    allowed("preflight", &reply);
    let methods = lowercase_header(&reply, "access-control-allow-methods");
    assert!(methods.contains("post"), "{methods}");
    let headers = lowercase_header(&reply, "access-control-allow-headers");
    assert!(
        headers.contains("content-type") && headers.contains("authorization"),
        "{headers}"
    );
    assert_eq!(reply.header("access-control-max-age"), Some("600"));
    // Never a wildcard: credentials are allowed.
    assert_ne!(reply.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn other_origins_get_no_cors_headers() {
    let r = router(&base_config(""));
    for origin in [
        "https://evil.example.com",
        "https://app.example.com.evil.example",
        "http://app.example.com",
        "null",
    ] {
        let reply = call(&r, preflight(origin)).await;
        assert!(
            reply.header("access-control-allow-origin").is_none(),
            "{origin}"
        );
        let reply = call(&r, backend_from(origin)).await;
        // The answer itself is the same; only the browser is told nothing.
        reply.issued();
        assert!(
            reply.header("access-control-allow-origin").is_none(),
            "{origin}"
        );
    }
}

#[tokio::test]
async fn cors_headers_on_success_and_on_every_error() {
    let r = router(&base_config("max_body_bytes = 100"));
    let ok = call(&r, backend_from(ORIGIN)).await;
    ok.issued();
    allowed("issued", &ok);

    let errors = [
        ("no key", 401, post("/api/token", None, &json!({}))),
        (
            "a field the kiosk may not set",
            403,
            post(
                "/api/token",
                Some(KIOSK_KEY),
                &json!({"participant_name": "x"}),
            ),
        ),
        (
            "malformed JSON",
            400,
            backend_raw(Some("application/json"), "{"),
        ),
        (
            "a body over max_body_bytes",
            413,
            post(
                "/api/token",
                Some(BACKEND_KEY),
                &json!({"participant_metadata": "m".repeat(200)}),
            ),
        ),
        ("no content type", 415, backend_raw(None, "{}")),
        (
            "an unknown path",
            404,
            Request::get("/nope").body(Body::empty()).unwrap(),
        ),
        (
            "the action from a caller who is not an admin",
            403,
            post(
                "/api/v1/generate-access-token",
                Some(BACKEND_KEY),
                &json!({}),
            ),
        ),
    ];
    for (case, status, request) in errors {
        let reply = call(&r, with_origin(request, ORIGIN)).await;
        assert_eq!(reply.status.as_u16(), status, "{case}: {}", reply.text);
        allowed(case, &reply);
        assert!(reply.json["error"]["code"].is_string(), "{case}");
    }

    // Rate limits too.
    let limited = router(&caller_rate_limit(&base_config(""), 1, 1));
    call(&limited, backend_from(ORIGIN)).await.issued();
    let second = call(&limited, backend_from(ORIGIN)).await;
    second.error(429, "rate_limited");
    allowed("rate limited", &second);
    // A browser client may read Retry-After.
    let exposed = lowercase_header(&second, "access-control-expose-headers");
    assert!(exposed.contains("retry-after"), "{exposed}");
}

#[tokio::test]
async fn no_origins_configured_means_no_cross_origin_access() {
    let text = base_config("").replace("cors_origins = [\"https://app.example.com\"]\n", "");
    let r = router(&text);
    let reply = call(&r, preflight(ORIGIN)).await;
    assert!(reply.header("access-control-allow-origin").is_none());
    let reply = call(&r, backend_from(ORIGIN)).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert!(reply.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn preflight_over_a_real_socket() {
    let served = serve_on_loopback(app(&base_config(""))).await;
    let client = reqwest::Client::new();
    let url = served.url("/api/token");
    let allowed_origin = |reply: &reqwest::Response| {
        reply.headers()["access-control-allow-origin"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let reply = client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success());
    assert_eq!(allowed_origin(&reply), ORIGIN, "preflight");
    let reply = client
        .post(&url)
        .header("origin", ORIGIN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 401);
    assert_eq!(allowed_origin(&reply), ORIGIN, "401");
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    served.stop().await;
}

#[tokio::test]
async fn development_mode_allows_loopback_origins_and_cors_origin_adds_one() {
    let dev = roomkey_server::EnvOverrides {
        listen: Some("127.0.0.1:0".into()),
        cors_origins: vec!["https://preview.example.com".into()],
        ..roomkey_server::EnvOverrides::default()
    };
    let r = roomkey_server::router(
        roomkey_server::App::new(roomkey_server::Config::dev(&dev).unwrap()).unwrap(),
    );
    for origin in [
        "http://localhost:5173",
        "http://127.0.0.1:3000",
        "http://[::1]:8081",
        "http://localhost",
        "https://preview.example.com",
    ] {
        let reply = call(&r, preflight(origin)).await;
        assert_eq!(
            reply.header("access-control-allow-origin"),
            Some(origin),
            "{origin}: {:?}",
            reply.headers
        );
        // The token request itself (dev mode needs no credentials) carries the header too.
        let reply = call(
            &r,
            with_origin(post("/api/token", None, &json!({})), origin),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED);
        assert_eq!(reply.header("access-control-allow-origin"), Some(origin));
    }
    for origin in [
        "https://localhost:5173",
        "http://localhost.example.com",
        "http://192.168.1.5:3000",
        "https://app.example.com",
        "null",
    ] {
        let reply = call(&r, preflight(origin)).await;
        assert_eq!(
            reply.header("access-control-allow-origin"),
            None,
            "{origin}"
        );
    }

    // --cors-origin works outside development mode too, and is checked like the file's.
    let c = parse_with_cors_origin("https://other.example.com").unwrap();
    assert_eq!(
        c.cors_origins,
        ["https://app.example.com", "https://other.example.com"]
    );
    assert!(!c.cors_loopback);
    let e = parse_with_cors_origin("https://other.example.com/app").unwrap_err();
    assert_eq!(e.file, "--cors-origin");
    // Origins are compared byte for byte, so one a browser would never send is refused with
    // the spelling it would.
    for (origin, canonical) in [
        ("https://App.example.com", "https://app.example.com"),
        ("https://app.example.com:443", "https://app.example.com"),
    ] {
        let e = parse_with_cors_origin(origin).unwrap_err();
        assert!(
            e.message.contains(&format!("write {canonical:?}")),
            "{origin}: {e}"
        );
    }
}
