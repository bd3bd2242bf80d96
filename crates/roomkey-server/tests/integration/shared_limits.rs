//! `[rate_limit] store = "redis"`: the same answers as the memory store, limits shared by
//! servers on one Redis (and kept apart by key prefix), Redis stopped and restarted, Redis that
//! hangs, `/readyz`, start-up errors and configuration errors. Each test runs a Redis of its own
//! ([`RedisServer`]); the process-level tests with three `roomkey serve` are in `replicas`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use roomkey_server::{App, Config, EnvOverrides, RedisPassword};
use serde_json::json;

use crate::common::*;
use crate::redis_server::{RedisOptions, RedisServer};
use crate::rooms::metric;

/// `text` with its `[rate_limit]` counted in `redis` (`extra`: more `[rate_limit]` keys).
fn shared(text: &str, redis: &RedisServer, extra: &str) -> String {
    assert!(text.contains("[rate_limit]\n"), "{text}");
    text.replacen(
        "[rate_limit]\n",
        &format!(
            "[rate_limit]\nstore = \"redis\"\nredis_url = \"{}\"\n{extra}\n",
            redis.url()
        ),
        1,
    )
}

/// The answers to a sequence, as a client sees them: status, code, message, Retry-After.
async fn answers(r: &Router, sequence: &[(&str, Option<&str>)]) -> Vec<String> {
    let mut seen = Vec::new();
    for (address, bearer) in sequence {
        let request = with_header(
            post("/api/token", *bearer, &json!({})),
            "x-forwarded-for",
            address,
        );
        let reply = call(r, request).await;
        seen.push(format!(
            "{} {} {} retry-after {:?}",
            reply.status.as_u16(),
            reply.json["error"]["code"].as_str().unwrap_or("-"),
            reply.json["error"]["message"].as_str().unwrap_or("-"),
            reply.header("retry-after")
        ));
    }
    seen
}

#[tokio::test]
async fn the_same_requests_get_the_same_answers_from_either_store() {
    let redis = RedisServer::start();
    let text = ip_rate_limit(&base_config("trust_forwarded_for = true"), 60, 3)
        .replace("per_caller_per_minute = 0", "per_caller_per_minute = 60");
    let memory = router(&text);
    let redis_router = router(&shared(&text, &redis, ""));
    let (a, b) = ("203.0.113.1", "203.0.113.2");
    let (backend, kiosk) = (Some(BACKEND_KEY), Some(KIOSK_KEY));
    // The caller's budget runs out across two addresses; an address's counts every request,
    // also one refused by the caller's limit or unauthenticated.
    let first: [(&str, Option<&str>); 9] = [
        (a, backend),
        (a, backend),
        (a, None),
        (a, backend),
        (b, backend),
        (b, backend),
        (b, kiosk),
        (b, kiosk),
        (b, Some("not-a-key")),
    ];
    let then = [(a, backend), (b, kiosk), (a, kiosk), (b, backend)];
    let mut stores = Vec::new();
    for r in [&memory, &redis_router] {
        let mut seen = answers(r, &first).await;
        // The limits refill: one request a second per caller and per address.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        seen.extend(answers(r, &then).await);
        stores.push(seen);
    }
    assert_eq!(stores[0], stores[1], "memory, then Redis");
    let all = stores[0].join("\n");
    for expected in [
        "201 -",
        "401 unauthenticated",
        "too many requests from this ip",
        "too many requests from this caller",
        "retry-after Some(\"1\")",
    ] {
        assert!(all.contains(expected), "{expected}: {all}");
    }
}

#[tokio::test]
async fn servers_on_one_redis_share_a_limit_and_a_prefix_keeps_another_apart() {
    let redis = RedisServer::start();
    let text = caller_rate_limit(&base_config(""), 60, 3);
    let one = router(&shared(&text, &redis, ""));
    let two = router(&shared(&text, &redis, ""));
    let mut statuses = Vec::new();
    for i in 0..6 {
        let r = if i % 2 == 0 { &one } else { &two };
        statuses.push(token(r, Some(BACKEND_KEY), json!({})).await.status.as_u16());
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429, 429]);
    // Two servers in memory: a budget each.
    let (one, two) = (router(&text), router(&text));
    let mut statuses = Vec::new();
    for i in 0..6 {
        let r = if i % 2 == 0 { &one } else { &two };
        statuses.push(token(r, Some(BACKEND_KEY), json!({})).await.status.as_u16());
    }
    assert_eq!(statuses, [201; 6]);
    // Another deployment on the same Redis, with a prefix of its own.
    let staging = router(&shared(&text, &redis, "key_prefix = \"roomkey:staging:\""));
    token(&staging, Some(BACKEND_KEY), json!({})).await.issued();
    // Keys expire at their theoretical arrival time: a few seconds here.
    let keys = redis.command(&["KEYS", "roomkey:*"]);
    assert_eq!(
        keys, "*2",
        "roomkey:caller:backend and roomkey:staging:caller:backend"
    );
    let ttl: i64 = redis.command(&["PTTL", "roomkey:caller:backend"])[1..]
        .parse()
        .unwrap();
    assert!((1..=3000).contains(&ttl), "{ttl}");
}

/// The store's metrics: (up, failed calls, fallbacks).
async fn store_metrics(r: &Router) -> (f64, f64, f64) {
    let text = get(r, "/metrics").await.text;
    let failed: f64 = ["timeout", "unreachable", "error"]
        .iter()
        .map(|reason| {
            metric(
                &text,
                "roomkey_rate_limit_store_errors_total",
                &[&format!("reason=\"{reason}\"")],
            )
        })
        .sum();
    (
        metric(&text, "roomkey_rate_limit_store_up", &[]),
        failed,
        metric(&text, "roomkey_rate_limit_store_fallbacks_total", &[]),
    )
}

/// Waits (at most 5 s) until `/readyz` says the store answers again.
async fn until_the_store_answers(r: &Router) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let ready = get(r, "/readyz").await;
        if ready.text.contains("answering, the limits are shared") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the store did not come back: {}",
            ready.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Log lines of this test's server (its Redis port) saying the store failed.
fn failure_lines(redis: &RedisServer) -> usize {
    let port = redis.addr().port().to_string();
    logs()
        .text()
        .lines()
        .filter(|l| l.contains("the shared rate-limit store failed") && l.contains(&port))
        .count()
}

#[tokio::test]
async fn redis_stopped_in_a_flood_then_restarted() {
    let mut redis = RedisServer::start();
    let text = caller_rate_limit(&base_config(""), 60, 5);
    let app = app(&shared(&text, &redis, "store_timeout = \"200ms\""));
    let r = roomkey_server::router(Arc::clone(&app));
    let statuses = |replies: &[Reply]| {
        replies
            .iter()
            .map(|r| r.status.as_u16())
            .collect::<Vec<_>>()
    };
    let mut flood = Vec::new();
    for _ in 0..6 {
        flood.push(token(&r, Some(BACKEND_KEY), json!({})).await);
    }
    assert_eq!(statuses(&flood), [201, 201, 201, 201, 201, 429]);
    assert_eq!(store_metrics(&r).await, (1.0, 0.0, 0.0));

    // Redis goes away mid-flood. The caller's refusal holds for the second Redis gave it
    // (no call needed); after it, "allow": this server's own limits (the same quota, fresh)
    // take over, so the flood is still held to a burst and a request a second. Nothing
    // waits, nothing fails.
    redis.stop();
    let started = Instant::now();
    let mut during = Vec::new();
    for _ in 0..40 {
        let sent = Instant::now();
        let reply = token(&r, Some(BACKEND_KEY), json!({})).await;
        assert!(
            sent.elapsed() < Duration::from_secs(1),
            "{:?}",
            sent.elapsed()
        );
        during.push(reply);
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let issued = statuses(&during).iter().filter(|s| **s == 201).count();
    assert!(
        statuses(&during).iter().all(|s| [201, 429].contains(s)),
        "{:?}",
        statuses(&during)
    );
    let seconds = started.elapsed().as_secs();
    assert!(
        (5..=6 + seconds as usize).contains(&issued),
        "{issued} issued: {:?}",
        statuses(&during)
    );
    let (up, failed, fallbacks) = store_metrics(&r).await;
    assert_eq!(up, 0.0);
    assert!(
        failed >= 1.0 && fallbacks >= 10.0,
        "{failed} failed, {fallbacks} fallbacks"
    );
    // A breaker keeps requests off the dead store: a few calls, not one per request; and the
    // log says so once, not per request.
    assert!(
        failed * 2.0 <= fallbacks,
        "{failed} failed, {fallbacks} fallbacks"
    );
    // At most one warning per 10 s (a slow run may just see a second).
    let warnings = failure_lines(&redis);
    assert!((1..=2).contains(&warnings), "{warnings}: {}", logs().text());
    let ready = get(&r, "/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    assert!(
        ready
            .text
            .contains("not answering; each replica's own limits apply"),
        "{}",
        ready.text
    );
    assert!(
        !ready.text.contains(&redis.addr().port().to_string()),
        "{}",
        ready.text
    );

    // Back, empty (and without the script): the limits are shared again, without a restart.
    redis.restart();
    until_the_store_answers(&r).await;
    let mut after = Vec::new();
    for _ in 0..6 {
        after.push(token(&r, Some(KIOSK_KEY), json!({})).await);
    }
    assert_eq!(statuses(&after), [201, 201, 201, 201, 201, 429]);
    assert_eq!(redis.keys(), 1, "kiosk's key is in the new Redis");
    assert_eq!(store_metrics(&r).await.0, 1.0);
    assert!(
        logs()
            .text()
            .lines()
            .any(|l| l.contains("answers again") && l.contains(&redis.addr().port().to_string())),
        "the log says the store is back"
    );
    drop(app);
}

#[tokio::test]
async fn on_store_error_deny_refuses_while_redis_is_away() {
    let mut redis = RedisServer::start();
    let text = caller_rate_limit(&base_config(""), 600, 10);
    let r = router(&shared(&text, &redis, "on_store_error = \"deny\""));
    token(&r, Some(BACKEND_KEY), json!({})).await.issued();
    redis.stop();
    for _ in 0..5 {
        let reply = token(&r, Some(BACKEND_KEY), json!({})).await;
        let e = reply.error(503, "rate_limit_unavailable");
        assert!(e["message"].as_str().unwrap().contains("try again"));
        assert_eq!(reply.header("retry-after"), Some("1"));
    }
    let ready = get(&r, "/readyz").await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.text
    );
    assert!(
        ready.text.contains("on_store_error = \"deny\""),
        "{}",
        ready.text
    );
    let text = get(&r, "/metrics").await.text;
    assert!(
        metric(
            &text,
            "roomkey_tokens_denied_total",
            &[
                "endpoint=\"token\"",
                "reason=\"rate_limit_unavailable\"",
                "profile=\"service\""
            ]
        ) >= 5.0,
        "{text}"
    );
    redis.restart();
    until_the_store_answers(&r).await;
    token(&r, Some(BACKEND_KEY), json!({})).await.issued();
}

#[tokio::test]
async fn a_redis_that_hangs_holds_no_request_past_its_deadline() {
    let redis = RedisServer::start();
    let text = caller_rate_limit(&base_config("request_timeout = \"1s\""), 600, 100);
    let r = router(&shared(&text, &redis, "store_timeout = \"100ms\""));
    token(&r, Some(BACKEND_KEY), json!({})).await.issued();
    redis.pause();
    // At once: each waits at most the store's timeout, then this server's limits decide.
    let started = Instant::now();
    let replies =
        futures_util::future::join_all((0..10).map(|_| token(&r, Some(BACKEND_KEY), json!({}))))
            .await;
    let took = started.elapsed();
    for reply in &replies {
        reply.issued();
    }
    assert!(took < Duration::from_millis(800), "{took:?}");
    // Then the breaker answers without waiting at all, bar one probe now and then.
    let started = Instant::now();
    for _ in 0..20 {
        token(&r, Some(BACKEND_KEY), json!({})).await.issued();
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let ready = get(&r, "/readyz").await;
    assert!(ready.text.contains("not answering"), "{}", ready.text);
    redis.resume();
    until_the_store_answers(&r).await;
    token(&r, Some(BACKEND_KEY), json!({})).await.issued();

    // "deny" with a hung Redis: a 503 within the deadline, not a request that hangs.
    let r = router(&shared(
        &text,
        &redis,
        "store_timeout = \"100ms\"\non_store_error = \"deny\"",
    ));
    token(&r, Some(BACKEND_KEY), json!({})).await.issued();
    redis.pause();
    let started = Instant::now();
    token(&r, Some(BACKEND_KEY), json!({}))
        .await
        .error(503, "rate_limit_unavailable");
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    redis.resume();
}

/// `roomkey_server::serve` on a loopback port, as `roomkey serve` runs it: `Ok` once it
/// answers `/healthz` (then it is stopped again), or the error it ended with.
async fn start(config: Config) -> Result<(), String> {
    let app = App::new(config).expect("app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(roomkey_server::serve(app, listener, async move {
        let _ = stopped.await;
    }));
    let healthz = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .timeout(Duration::from_secs(8))
        .send();
    tokio::select! {
        ended = &mut server => Err(ended.unwrap().expect_err("serve ended without an error").to_string()),
        reply = healthz => {
            assert_eq!(reply.expect("/healthz").status().as_u16(), 200);
            let _ = stop.send(());
            server.await.unwrap().unwrap();
            Ok(())
        }
    }
}

fn redis_config(url: &str, extra: &str, env: &EnvOverrides) -> Config {
    logs();
    let text = base_config("").replacen(
        "[rate_limit]\n",
        &format!("[rate_limit]\nstore = \"redis\"\nredis_url = \"{url}\"\n{extra}\n"),
        1,
    );
    Config::parse("test.toml", &text, env, None).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_wrong_password_or_an_unreachable_redis_stops_the_start_with_a_clear_error() {
    let password = "test-only-redis-password-7Hq2";
    let redis = RedisServer::start_with(RedisOptions {
        password: Some(password.into()),
        unix_socket: true,
    });
    let with = |p: Option<&str>| EnvOverrides {
        redis_password: p.map(RedisPassword::new),
        ..env()
    };
    // Nothing listens on a port just freed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = format!("redis://127.0.0.1:{closed}/0");
    let started = Instant::now();
    let e = start(redis_config(&unreachable, "", &with(None)))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(e.contains("cannot use the shared rate-limit store"), "{e}");
    assert!(
        e.contains(&unreachable) && e.contains("is Redis running there"),
        "{e}"
    );

    let wrong = "test-only-wrong-password-4Rt8";
    let e = start(redis_config(&redis.url(), "", &with(Some(wrong))))
        .await
        .unwrap_err();
    assert!(
        e.contains("check the password (redis_password_file or ROOMKEY_REDIS_PASSWORD)"),
        "{e}"
    );
    assert!(!e.contains(wrong) && !e.contains(password), "{e}");
    let e = start(redis_config(&redis.url(), "", &with(None)))
        .await
        .unwrap_err();
    assert!(
        e.contains("NOAUTH") && e.contains("check the password"),
        "{e}"
    );
    assert!(!logs().text().contains(wrong), "a password in the log");

    // The right password from the environment, and from a file; over TCP and the socket.
    start(redis_config(&redis.url(), "", &with(Some(password))))
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("roomkey-redis-pass-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("redis-password");
    std::fs::write(&file, format!("{password}\n")).unwrap();
    let from_file = format!("redis_password_file = \"{}\"", file.display());
    let socket = format!("redis+unix://{}", redis.socket_path().display());
    let config = redis_config(&socket, &from_file, &with(None));
    start(config.clone()).await.unwrap();
    let r = roomkey_server::router(App::new(caller_limited(config)).unwrap());
    token(&r, Some(BACKEND_KEY), json!({})).await.issued();
    assert_eq!(redis.keys(), 1);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!logs().text().contains(password), "a password in the log");
}

/// `config` with a per-caller limit.
fn caller_limited(mut config: Config) -> Config {
    config.per_caller_per_minute = 60;
    config
}

#[test]
fn redis_settings_are_checked_with_their_line() {
    let check = |rate_limit: &str, extra: &str| {
        let text = base_config(extra).replacen(
            "[rate_limit]\n",
            &format!("[rate_limit]\n{rate_limit}\n"),
            1,
        );
        Config::parse("test.toml", &text, &env(), None)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let url = "redis_url = \"redis://127.0.0.1:6379\"";
    for (rate_limit, extra, words) in [
        ("store = \"redis\"", "", "store = \"redis\" needs redis_url"),
        ("store = \"mysql\"", "", "is not \"memory\" or \"redis\""),
        (url, "", "redis_url has no effect without store = \"redis\""),
        ("key_prefix = \"rk:\"", "", "key_prefix has no effect"),
        (
            "store = \"redis\"\nredis_url = \"redis://:s3cret@127.0.0.1\"",
            "",
            "holds a password: put it in redis_password_file",
        ),
        (
            &format!("store = \"redis\"\n{url}\nstore_timeout = \"2s\""),
            "request_timeout = \"2s\"",
            "must be shorter than request_timeout",
        ),
        (
            &format!("store = \"redis\"\n{url}\nstore_timeout = \"0s\""),
            "",
            "outside its bounds",
        ),
        (
            &format!("store = \"redis\"\n{url}\non_store_error = \"ignore\""),
            "",
            "is not \"allow\"",
        ),
        (
            &format!("store = \"redis\"\n{url}\nkey_prefix = \"room key\""),
            "",
            "without spaces",
        ),
        (
            &format!("store = \"redis\"\n{url}\nredis_password_file = \"/nonexistent/pw\""),
            "",
            "cannot read redis_password_file",
        ),
        (
            &format!("store = \"redis\"\n{url}\nburst = 2000000"),
            "",
            "burst is at most",
        ),
        (
            "store = \"redis\"\nredis_url = \"http://x\"",
            "",
            "not redis, rediss",
        ),
        ("redis_url_typo = 1", "", "did you mean `redis_url`?"),
    ] {
        let message = check(rate_limit, extra).expect_err(rate_limit);
        assert!(message.contains(words), "{rate_limit}: {message}");
        assert!(message.starts_with("test.toml:"), "{message}");
        assert!(!message.contains("s3cret"), "{message}");
    }
    let message = check(
        &format!("store = \"redis\"\n{url}\nstore_timeout = \"2s\""),
        "request_timeout = \"2s\"",
    )
    .unwrap_err();
    let line = base_config("request_timeout = \"2s\"")
        .lines()
        .position(|l| l == "[rate_limit]")
        .unwrap()
        + 4;
    assert!(
        message.starts_with(&format!("test.toml:{line}:")),
        "{message}"
    );
    check(
        &format!("store = \"redis\"\n{url}\non_store_error = \"deny\"\nkey_prefix = \"rk:prod:\""),
        "",
    )
    .unwrap();
}
