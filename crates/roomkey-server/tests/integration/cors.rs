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

fn with_origin(mut request: Request<Body>, origin: &str) -> Request<Body> {
    request
        .headers_mut()
        .insert("origin", origin.parse().unwrap());
    request
}

#[track_caller]
fn allowed(reply: &Reply) {
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(ORIGIN),
        "{} {:?}",
        reply.status,
        reply.headers
    );
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
    let vary: Vec<_> = reply
        .headers
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .collect();
    assert!(vary.iter().any(|v| v.contains("origin")), "{vary:?}");
}

#[tokio::test]
async fn preflight_from_an_allowed_origin() {
    let r = router(&base_config(""));
    let reply = call(&r, preflight(ORIGIN)).await;
    assert!(reply.status.is_success(), "{}", reply.status);
    allowed(&reply);
    let methods = reply
        .header("access-control-allow-methods")
        .unwrap()
        .to_ascii_uppercase();
    assert!(methods.contains("POST"), "{methods}");
    let headers = reply
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
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
        let reply = call(
            &r,
            with_origin(post("/api/token", Some(BACKEND_KEY), &json!({})), origin),
        )
        .await;
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
    let ok = call(
        &r,
        with_origin(post("/api/token", Some(BACKEND_KEY), &json!({})), ORIGIN),
    )
    .await;
    ok.issued();
    allowed(&ok);

    let replies = [
        (
            401,
            call(
                &r,
                with_origin(post("/api/token", None, &json!({})), ORIGIN),
            )
            .await,
        ),
        (
            403,
            call(
                &r,
                with_origin(
                    post(
                        "/api/token",
                        Some(KIOSK_KEY),
                        &json!({"participant_name": "x"}),
                    ),
                    ORIGIN,
                ),
            )
            .await,
        ),
        (
            400,
            call(
                &r,
                with_origin(
                    post_raw(
                        "/api/token",
                        Some(BACKEND_KEY),
                        Some("application/json"),
                        "{",
                    ),
                    ORIGIN,
                ),
            )
            .await,
        ),
        (
            413,
            call(
                &r,
                with_origin(
                    post(
                        "/api/token",
                        Some(BACKEND_KEY),
                        &json!({"participant_metadata": "m".repeat(200)}),
                    ),
                    ORIGIN,
                ),
            )
            .await,
        ),
        (
            415,
            call(
                &r,
                with_origin(
                    post_raw("/api/token", Some(BACKEND_KEY), None, "{}"),
                    ORIGIN,
                ),
            )
            .await,
        ),
        (
            404,
            call(
                &r,
                with_origin(Request::get("/nope").body(Body::empty()).unwrap(), ORIGIN),
            )
            .await,
        ),
        (
            403,
            call(
                &r,
                with_origin(
                    post(
                        "/api/v1/generate-access-token",
                        Some(BACKEND_KEY),
                        &json!({}),
                    ),
                    ORIGIN,
                ),
            )
            .await,
        ),
    ];
    for (status, reply) in replies {
        assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
        allowed(&reply);
        assert!(reply.json["error"]["code"].is_string());
    }

    // Rate limits too.
    let limited = router(&base_config("").replace(
        "per_caller_per_minute = 0",
        "per_caller_per_minute = 1\nburst = 1",
    ));
    let first = call(
        &limited,
        with_origin(post("/api/token", Some(BACKEND_KEY), &json!({})), ORIGIN),
    )
    .await;
    first.issued();
    let second = call(
        &limited,
        with_origin(post("/api/token", Some(BACKEND_KEY), &json!({})), ORIGIN),
    )
    .await;
    second.error(429, "rate_limited");
    allowed(&second);
    // A browser client may read Retry-After.
    let exposed = second
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(exposed.contains("retry-after"), "{exposed}");
}

#[tokio::test]
async fn no_origins_configured_means_no_cross_origin_access() {
    let text = base_config("").replace("cors_origins = [\"https://app.example.com\"]\n", "");
    let r = router(&text);
    let reply = call(&r, preflight(ORIGIN)).await;
    assert!(reply.header("access-control-allow-origin").is_none());
    let reply = call(
        &r,
        with_origin(post("/api/token", Some(BACKEND_KEY), &json!({})), ORIGIN),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert!(reply.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn preflight_over_a_real_socket() {
    let app = app(&base_config(""));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(roomkey_server::serve(app, listener, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/api/token");
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
    assert_eq!(
        reply.headers()["access-control-allow-origin"]
            .to_str()
            .unwrap(),
        ORIGIN
    );
    let reply = client
        .post(&url)
        .header("origin", ORIGIN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 401);
    assert_eq!(
        reply.headers()["access-control-allow-origin"]
            .to_str()
            .unwrap(),
        ORIGIN
    );
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
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
    let flagged = roomkey_server::EnvOverrides {
        cors_origins: vec!["https://other.example.com".into()],
        ..env()
    };
    let c =
        roomkey_server::Config::parse("roomkey.toml", &base_config(""), &flagged, None).unwrap();
    assert_eq!(
        c.cors_origins,
        ["https://app.example.com", "https://other.example.com"]
    );
    assert!(!c.cors_loopback);
    let bad = roomkey_server::EnvOverrides {
        cors_origins: vec!["https://other.example.com/app".into()],
        ..env()
    };
    let e =
        roomkey_server::Config::parse("roomkey.toml", &base_config(""), &bad, None).unwrap_err();
    assert_eq!(e.file, "--cors-origin");
    // Origins are compared byte for byte, so one a browser would never send is refused with
    // the spelling it would.
    for (origin, canonical) in [
        ("https://App.example.com", "https://app.example.com"),
        ("https://app.example.com:443", "https://app.example.com"),
    ] {
        let odd = roomkey_server::EnvOverrides {
            cors_origins: vec![origin.into()],
            ..env()
        };
        let e = roomkey_server::Config::parse("roomkey.toml", &base_config(""), &odd, None)
            .unwrap_err();
        assert!(e.message.contains(&format!("write {canonical:?}")), "{e}");
    }
}
