//! The token endpoint's own cost, without sockets: `POST /api/token` through the whole router
//! (routing, authentication, policy, minting, the audit line formatted into a log writer that
//! discards it), beside a router with one handler that answers a constant body.
//!
//! ```sh
//! cargo bench -p roomkey-server --bench handler
//! ```
//!
//! This is the user-space part of what `scripts/bench-server` measures over loopback; the
//! kernel's TCP work and the runtime's wake-ups are not in it.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use roomkey_server::AuditLog;
use roomkey_server::{App, Config, EnvOverrides};
use roomkey_server::{LogSink, json_layer};
use tower::ServiceExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

const KEY: &str = "rk_bench_0123456789abcdef0123456789abcdef";
const BODY: &str = r#"{"room_name":"support-1","participant_name":"Ann","participant_identity":"u-7","participant_metadata":"{\"plan\":\"pro\"}"}"#;

fn request() -> Request<Body> {
    Request::post("/api/token")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .body(Body::from(BODY))
        .expect("a valid request")
}

fn handler(c: &mut Criterion) {
    // The same configuration as scripts/bench-server's.
    let text = format!(
        r#"
livekit_url = "wss://livekit.example.com"
log_format = "json"

[rate_limit]
per_caller_per_minute = 0
per_ip_per_minute = 0

[[caller]]
name = "backend"
key_sha256 = "{}"
profile = "support"

[profile.support]
rooms = ["support-*"]
identity = "request"
fields = ["participant_identity", "participant_name", "participant_metadata"]
ttl = "15m"

[profile.support.grants]
can_publish = true
can_subscribe = true
"#,
        roomkey_server::hash_key(KEY)
    );
    let env = EnvOverrides {
        api_key: Some("APIbench".into()),
        api_secret: Some("bench-secret-bench-secret-bench-secret".into()),
        ..EnvOverrides::default()
    };
    let config = Config::parse("bench.toml", &text, &env, None).expect("the bench configuration");
    // Logs as `roomkey serve --config` with JSON logs: the audit line straight into the writer.
    let (sink, _guard) = LogSink::spawn(Box::new(std::io::sink()));
    let app = App::with_audit_log(config.clone(), AuditLog::Json(sink.clone())).expect("the app");
    let router = roomkey_server::router(Arc::clone(&app));
    // The same, with the audit line as a `tracing` event formatted by tracing-subscriber's JSON
    // layer: what the hand-written audit writer saves.
    let through_tracing =
        roomkey_server::router(App::with_audit_log(config, AuditLog::Events).expect("the app"));
    let constant = axum::Router::new().route(
        "/api/token",
        axum::routing::post(|body: axum::body::Bytes| async move {
            drop(body);
            (
                axum::http::StatusCode::CREATED,
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                "{\"server_url\":\"wss://livekit.example.com\",\"participant_token\":\"…\"}",
            )
        }),
    );
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(json_layer(sink));
    let _default = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");

    let answer = runtime.block_on(router.clone().oneshot(request())).unwrap();
    assert_eq!(
        answer.status(),
        201,
        "the bench request must be issued a token"
    );

    let mut group = c.benchmark_group("api_token");
    group.bench_function("roomkey", |b| {
        b.iter(|| runtime.block_on(router.clone().oneshot(request())).unwrap());
    });
    group.bench_function("roomkey, audit line through tracing", |b| {
        b.iter(|| {
            runtime
                .block_on(through_tracing.clone().oneshot(request()))
                .unwrap()
        });
    });
    group.bench_function("constant", |b| {
        b.iter(|| {
            runtime
                .block_on(constant.clone().oneshot(request()))
                .unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, handler);
criterion_main!(benches);
