//! What people without credentials (or with a narrow profile) must not be able to do: set
//! agent-dispatch parts and `lk.` attributes the profile does not allow, get a fresh per-IP
//! budget per IPv6 address or by writing garbage into `X-Forwarded-For`, read `/metrics` off the
//! public listener; and what slow, silent and idle connections cannot do: hold the server.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use roomkey_server::hash_key;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::common::*;

/// `service`'s agents, with one dispatch part (or none) given.
fn agent_with(part: serde_json::Value) -> serde_json::Value {
    let mut agent = json!({"agent_name": "triage"});
    agent
        .as_object_mut()
        .unwrap()
        .extend(part.as_object().unwrap().clone());
    json!({"room_name": "r", "participant_identity": "p", "room_config": {"agents": [agent]}})
}

#[tokio::test]
async fn dispatch_parts_and_reserved_attributes_need_the_profile_to_allow_them() {
    // A profile that may dispatch agents, and nothing more about them.
    let narrow = base_config("").replace(
        ", \"room_config.agents.deployment\", \"room_config.agents.restart_policy\", \"room_config.agents.attributes\"",
        "",
    );
    let r = router(&narrow);
    token(&r, Some(BACKEND_KEY), agent_with(json!({"metadata": "{}"})))
        .await
        .issued();
    for (part, field) in [
        (
            json!({"deployment": "staging"}),
            "room_config.agents[0].deployment",
        ),
        (
            json!({"restartPolicy": "JRP_NEVER"}),
            "room_config.agents[0].restart_policy",
        ),
        (
            json!({"attributes": {"team": "a"}}),
            "room_config.agents[0].attributes",
        ),
    ] {
        token(&r, Some(BACKEND_KEY), agent_with(part))
            .await
            .forbidden(field);
    }

    // The base `service` profile allows each part, but not `lk.` keys, in either place.
    let r = router(&base_config(""));
    let claims = token(
        &r,
        Some(BACKEND_KEY),
        agent_with(json!({"deployment": "staging", "restart_policy": "JRP_NEVER", "attributes": {"team": "a"}})),
    )
    .await
    .issued();
    let agent = &claims.room_config.as_ref().unwrap().agents[0];
    assert_eq!(agent.deployment, "staging");
    assert_eq!(agent.attributes["team"], "a");
    token(
        &r,
        Some(BACKEND_KEY),
        agent_with(json!({"attributes": {"lk.agent.state": "speaking"}})),
    )
    .await
    .forbidden("room_config.agents[0].attributes.lk.agent.state");
    for key in ["lk.agent.state", "lk.publish_on_behalf"] {
        token(
            &r,
            Some(BACKEND_KEY),
            json!({"participant_identity": "p", "participant_attributes": {"ok": "1", key: "x"}}),
        )
        .await
        .forbidden(&format!("participant_attributes.{key}"));
    }
    // Keys that merely contain "lk" are the caller's own.
    token(
        &r,
        Some(BACKEND_KEY),
        json!({"participant_identity": "p", "participant_attributes": {"milk.brand": "x", "lk": "y"}}),
    )
    .await
    .issued();

    // With lk_attributes, they pass.
    let trusted = base_config("").replace(
        "\"room_config.settings\"]\nagents",
        "\"room_config.settings\", \"lk_attributes\"]\nagents",
    );
    let claims = token(
        &router(&trusted),
        Some(BACKEND_KEY),
        json!({"participant_identity": "p", "participant_attributes": {"lk.publish_on_behalf": "agent-1"}}),
    )
    .await
    .issued();
    assert_eq!(claims.attributes["lk.publish_on_behalf"], "agent-1");
}

/// A `POST /api/token` from the backend caller, "sent" through a proxy that appended `xff`.
fn through_proxy(xff: &str) -> Request<Body> {
    with_header(
        post("/api/token", Some(BACKEND_KEY), &json!({})),
        "x-forwarded-for",
        xff,
    )
}

#[tokio::test]
async fn ipv6_clients_are_limited_per_64_and_forwarded_entries_are_read_in_every_form() {
    let config = |extra: &str| {
        ip_rate_limit(&base_config("trust_forwarded_for = true"), 30, 1)
            .replace("[rate_limit]\n", &format!("[rate_limit]\n{extra}"))
    };
    let r = router(&config(""));
    // Sixty addresses of one /64 are one client: one token, then 429s.
    call(&r, through_proxy("2001:db8:1:2::1")).await.issued();
    for i in 2..=60 {
        call(&r, through_proxy(&format!("2001:db8:1:2:{i:x}::{i:x}")))
            .await
            .error(429, "rate_limited");
    }
    // The same client written as a proxy may write it.
    call(&r, through_proxy("[2001:db8:1:2::77]:4711"))
        .await
        .error(429, "rate_limited");
    // The next /64 is someone else.
    call(&r, through_proxy("2001:db8:1:3::1")).await.issued();
    // IPv4 with a port is that address.
    call(&r, through_proxy("203.0.113.9:5555")).await.issued();
    call(&r, through_proxy("10.0.0.1, 203.0.113.9"))
        .await
        .error(429, "rate_limited");

    // Per address, when configured so.
    let r = router(&config("ipv6_prefix = 128\n"));
    call(&r, through_proxy("2001:db8:1:2::1")).await.issued();
    call(&r, through_proxy("2001:db8:1:2::2")).await.issued();
}

#[tokio::test]
async fn a_forwarded_entry_that_is_no_address_is_refused_not_replaced_by_the_proxys() {
    for limited in [true, false] {
        let text = base_config("trust_forwarded_for = true");
        let text = if limited {
            ip_rate_limit(&text, 30, 1)
        } else {
            text
        };
        let r = router(&text);
        for garbage in [
            "garbage",
            "203.0.113.1, unknown",
            "[2001:db8::1",
            "1.2.3.4:port",
        ] {
            let reply = call(&r, through_proxy(garbage)).await;
            let e = reply.error(400, "bad_request");
            assert_eq!(e["field"], "X-Forwarded-For", "{garbage}");
            assert!(
                e["message"]
                    .as_str()
                    .unwrap()
                    .contains("append the client's address"),
                "{}",
                reply.text
            );
        }
        // Several garbage entries did not use up anyone's budget.
        call(&r, through_proxy("203.0.113.1")).await.issued();
    }
    assert!(
        logs().text().contains("X-Forwarded-For"),
        "the refusal is logged"
    );
}

const SCRAPE_KEY: &str = "scrape-key-0123456789";

#[tokio::test]
async fn metrics_are_off_the_public_listener_unless_configured() {
    let public = base_config("");
    let configured = |metrics: &str| public.replace("[metrics]\npublic = true\n", metrics);

    // The default: not there.
    let r = router(&configured(""));
    get(&r, "/metrics").await.error(404, "not_found");

    // Behind a key.
    let r = router(&configured(&format!(
        "[metrics]\nkey_sha256 = \"{}\"\n",
        hash_key(SCRAPE_KEY)
    )));
    let scrape = |bearer: Option<&str>| {
        let mut request = Request::get("/metrics");
        if let Some(b) = bearer {
            request = request.header("authorization", format!("Bearer {b}"));
        }
        call(&r, request.body(Body::empty()).unwrap())
    };
    scrape(None).await.error(401, "unauthenticated");
    scrape(Some(BACKEND_KEY))
        .await
        .error(401, "unauthenticated");
    let reply = scrape(Some(SCRAPE_KEY)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.text.contains("roomkey_tokens_issued"));

    // On a listener of its own; the main one does not have it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let served = serve_on_loopback(app(&configured(&format!(
        "[metrics]\nlisten = \"127.0.0.1:{port}\"\n"
    ))))
    .await;
    let http = reqwest::Client::new();
    let main = http.get(served.url("/metrics")).send().await.unwrap();
    assert_eq!(main.status(), 404);
    // The metrics listener is bound when `serve` starts, just after this test's.
    let mut side = None;
    for _ in 0..50 {
        if let Ok(reply) = http
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
        {
            side = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let side = side.expect("the metrics listener answers");
    assert_eq!(side.status(), 200);
    assert!(
        side.text()
            .await
            .unwrap()
            .contains("roomkey_connections_open")
    );
    let other = http
        .get(format!("http://127.0.0.1:{port}/api/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        404,
        "the metrics listener serves nothing else"
    );
    served.stop().await;
}

#[tokio::test]
async fn every_answer_says_nosniff() {
    let r = router(&base_config(""));
    let replies = [
        token(&r, Some(BACKEND_KEY), json!({})).await,
        token(&r, None, json!({})).await,
        token(&r, Some(BACKEND_KEY), json!({"room_name": 5})).await,
        get(&r, "/healthz").await,
        get(&r, "/no-such-page").await,
        get(&r, "/metrics").await,
        get(&r, "/").await,
    ];
    for reply in replies {
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{} {}",
            reply.status,
            reply.text.chars().take(80).collect::<String>()
        );
    }
}

/// The base configuration with tight connection limits.
fn tight_connections(extra: &str) -> String {
    base_config("").replace(
        "[metrics]\n",
        &format!(
            "[connections]\nheader_read_timeout = \"1s\"\nidle_timeout = \"2s\"\nmax_connections = 30\n{extra}\n[metrics]\n"
        ),
    )
}

/// One `GET /healthz` on a fresh connection; whether "ok" came back within `within`.
async fn healthz_within(addr: std::net::SocketAddr, within: Duration) -> bool {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        Some(String::from_utf8_lossy(&answer).contains("\r\n\r\nok"))
    };
    tokio::time::timeout(within, exchange)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// Opens a connection that sends part of a request head, then (if `drip`) one more header
/// line every 300 ms; returns how long the server took to close it (`None`: still open after
/// `give_up`).
async fn slow_client(
    addr: std::net::SocketAddr,
    drip: bool,
    give_up: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.ok()?;
    if drip {
        let _ = stream.write_all(b"POST /api/token HTTP/1.1\r\n").await;
    }
    let mut buf = [0u8; 1024];
    loop {
        if started.elapsed() > give_up {
            return None;
        }
        match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await {
            // Closed by the server (an answer such as 408, then the end, counts as closing).
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
            Err(_elapsed) => {
                if drip && stream.write_all(b"x-slow: 1\r\n").await.is_err() {
                    return Some(started.elapsed());
                }
            }
        }
    }
}

#[tokio::test]
async fn slow_and_silent_clients_do_not_hold_the_server() {
    let served = serve_on_loopback(app(&tight_connections(""))).await;
    let addr = served.addr;
    // 120 attackers, four times the connection limit: half send nothing, half a header line
    // every 300 ms.
    let attackers: Vec<_> = (0..120)
        .map(|i| tokio::spawn(slow_client(addr, i % 2 == 0, Duration::from_secs(8))))
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The server keeps answering throughout.
    let mut missed = 0;
    for _ in 0..15 {
        if !healthz_within(addr, Duration::from_secs(2)).await {
            missed += 1;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(missed, 0, "health checks went unanswered during the flood");
    // Every attacker's connection was closed: evicted, or at the header timeout (1 s).
    for attacker in attackers {
        let closed_after = attacker.await.unwrap();
        let closed_after = closed_after.expect("an attacker's connection was still open after 8 s");
        assert!(
            closed_after < Duration::from_millis(2500),
            "{closed_after:?}"
        );
    }
    let metrics = reqwest::get(served.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |reason: &str| -> f64 {
        metrics
            .lines()
            .find(|l| {
                l.starts_with(&format!(
                    "roomkey_connections_closed_total{{reason=\"{reason}\"}}"
                ))
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    assert!(count("evicted") >= 60.0, "{metrics}");
    assert!(count("header_timeout") >= 1.0, "{metrics}");
    assert!(
        logs().text().contains("connection limit reached"),
        "the limit is logged"
    );
    served.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    // hyper also times the wait for a keep-alive connection's next request head, so the
    // header timeout is made longer here for the idle timeout to be the one that closes it.
    let text = tight_connections("").replace(
        "header_read_timeout = \"1s\"",
        "header_read_timeout = \"5s\"",
    );
    let served = serve_on_loopback(app(&text)).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive, then idle: closed after about 2 s, not at the 5 s header timeout.
    let started = Instant::now();
    let end = tokio::time::timeout(Duration::from_secs(6), stream.read(&mut buf))
        .await
        .expect("the idle connection was still open after 6 s");
    assert!(matches!(end, Ok(0) | Err(_)), "{end:?}");
    let idle = started.elapsed();
    assert!(
        idle >= Duration::from_millis(1500) && idle < Duration::from_millis(4500),
        "closed after {idle:?}"
    );
    served.stop().await;
}

/// The server's first answer to the HTTP/2 connection preface.
async fn answer_to_h2_preface(addr: std::net::SocketAddr) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The preface and an empty SETTINGS frame.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    buf.truncate(n);
    buf
}

#[tokio::test]
async fn http2_is_off_unless_configured_and_then_bounded() {
    let served = serve_on_loopback(app(&tight_connections(""))).await;
    let answer = answer_to_h2_preface(served.addr).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 "),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    served.stop().await;

    let served = serve_on_loopback(app(&tight_connections(
        "http2 = true\nhttp2_max_streams = 7\n",
    )))
    .await;
    let answer = answer_to_h2_preface(served.addr).await;
    // A SETTINGS frame (type 4) whose SETTINGS_MAX_CONCURRENT_STREAMS (3) is 7.
    assert!(answer.len() >= 9 && answer[3] == 4, "{answer:?}");
    let length =
        usize::from(answer[0]) << 16 | usize::from(answer[1]) << 8 | usize::from(answer[2]);
    let settings = &answer[9..9 + length];
    let max_streams = settings
        .chunks(6)
        .find(|s| s[..2] == [0, 3])
        .map(|s| u32::from_be_bytes([s[2], s[3], s[4], s[5]]));
    assert_eq!(max_streams, Some(7), "{settings:?}");
    served.stop().await;
}

#[tokio::test]
async fn an_oversized_request_head_is_refused_not_buffered() {
    let served = serve_on_loopback(app(&tight_connections(""))).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    // 20 KiB of header against the default 16 KiB bound (a 400 KB head was buffered whole).
    let head = format!(
        "GET /healthz HTTP/1.1\r\nhost: x\r\nx-filler: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    served.stop().await;
}
