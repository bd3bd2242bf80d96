//! `roomkey token inspect --server` against the real LiveKit server (v1.13.5): the server's
//! own verdict on each token, its clock, and its rooms, as the doctor reports them.

use roomkey_interop::cli::{Run, roomkey, roomkey_env};
use roomkey_interop::livekit::{LiveKitOptions, LiveKitServer};
use roomkey_token::{AccessToken, ApiSecret, KeyPair, VideoGrant, unix_now};
use serde_json::Value;

/// A join token for `room`, signed by `key` as if the time were `at`.
fn join_token(key: &KeyPair, room: &str, at: i64) -> String {
    AccessToken::new()
        .with_identity("doctor-patient")
        .with_video(VideoGrant::join(room))
        .sign_at(key, at)
        .expect("mint")
}

/// `roomkey token inspect --server URL --json TOKEN` with the server's credentials.
fn inspect_with_keys(server: &LiveKitServer, token: &str, extra: &[&str]) -> Run {
    let url = server.url();
    let mut args = vec!["token", "inspect", "--json", "--server", &url];
    args.extend_from_slice(extra);
    args.push(token);
    roomkey(server, &args)
}

/// The same without any credentials: the signature is not checked here, only by the server.
fn inspect_without_keys(server: &LiveKitServer, token: &str) -> Run {
    let url = server.url();
    roomkey_env(
        &[],
        &["token", "inspect", "--json", "--server", &url, token],
    )
}

fn codes(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_owned())
        .collect()
}

fn finding<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} finding in {:#}", report["findings"]))
}

#[test]
fn an_accepted_token_has_the_servers_word_its_clock_and_its_room() {
    let server = LiveKitServer::start();
    let token = join_token(&server.key_pair(), "doctor-accepted", unix_now());
    let run = inspect_with_keys(&server, &token, &[]).expect_code(0);
    let report = run.json();
    assert_eq!(report["signature"], "valid");
    assert_eq!(codes(&report), ["server_accepted"], "{report:#}");
    assert_eq!(finding(&report, "server_accepted")["severity"], "info");
    let s = &report["server"];
    let mut keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "accepted",
            "answer",
            "clock",
            "reachable",
            "room",
            "status",
            "url"
        ]
    );
    assert_eq!(s["url"], server.url());
    assert_eq!(s["reachable"], true);
    assert_eq!(s["status"], 200);
    assert_eq!(s["answer"], "success");
    assert_eq!(s["accepted"], true);
    // Same machine, same clock: the offset is within its own bounds of zero.
    let clock = &s["clock"];
    let (offset, uncertainty) = (
        clock["offset_ms"].as_i64().unwrap(),
        clock["uncertainty_ms"].as_i64().unwrap(),
    );
    assert!(offset.abs() <= uncertainty + 50, "{clock}");
    assert!(
        uncertainty <= 1000,
        "the Date header has whole seconds: {clock}"
    );
    assert_eq!(clock["samples"], 3);
    assert_eq!(
        s["room"],
        serde_json::json!({"name": "doctor-accepted", "exists": false})
    );
}

#[test]
fn a_key_the_server_does_not_have_is_named_with_the_url() {
    let server = LiveKitServer::start();
    let stranger = KeyPair::new(
        "APIstranger",
        &ApiSecret::new("stranger-secret-0123456789abcdefghij"),
    )
    .unwrap();
    let token = join_token(&stranger, "doctor-stranger", unix_now());
    let report = inspect_without_keys(&server, &token).expect_code(1).json();
    assert_eq!(report["signature"], "unchecked");
    let f = finding(&report, "key_not_on_server");
    assert_eq!(f["severity"], "error");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("\"APIstranger\""), "{message}");
    assert!(message.contains(&server.url()), "{message}");
    assert_eq!(report["server"]["status"], 401);
    assert_eq!(report["server"]["answer"], "invalid API key: APIstranger");
    // Without the secret, the room cannot be looked up.
    assert_eq!(report["server"]["room"]["exists"], Value::Null);
}

#[test]
fn an_expired_token_is_expired_here_and_there() {
    let server = LiveKitServer::start();
    // Minted two hours ago with the default TTL... of one hour.
    let token = AccessToken::new()
        .with_identity("doctor-patient")
        .with_video(VideoGrant::join("doctor-expired"))
        .with_ttl(std::time::Duration::from_secs(3600))
        .sign_at(&server.key_pair(), unix_now() - 7200)
        .unwrap();
    let report = inspect_with_keys(&server, &token, &[])
        .expect_code(1)
        .json();
    assert_eq!(finding(&report, "expired")["severity"], "error");
    let refused = finding(&report, "server_refused");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("token is expired"),
        "{refused}"
    );
    assert!(
        refused["hint"]
            .as_str()
            .unwrap()
            .contains("expired by the server's clock")
    );
    // The echoed token is left out of what is quoted.
    let answer = report["server"]["answer"].as_str().unwrap();
    assert!(!answer.contains(&token), "{answer}");
    assert!(answer.contains("<the token>"), "{answer}");
}

#[test]
fn a_token_from_a_clock_ahead_is_not_valid_yet_on_the_server() {
    let server = LiveKitServer::start();
    // Minted on a machine whose clock runs five minutes ahead.
    let token = join_token(&server.key_pair(), "doctor-ahead", unix_now() + 300);
    let report = inspect_with_keys(&server, &token, &[])
        .expect_code(1)
        .json();
    assert!(
        finding(&report, "not_yet_valid")["message"]
            .as_str()
            .unwrap()
            .starts_with("by the server's clock, the token is not valid until")
    );
    assert!(
        finding(&report, "issued_in_future")["message"]
            .as_str()
            .unwrap()
            .contains("ahead")
    );
    let refused = finding(&report, "server_refused");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("token is not valid yet"),
        "{refused}"
    );
}

#[test]
fn a_clock_ten_minutes_behind_the_server_is_found_and_the_servers_view_wins() {
    let server = LiveKitServer::start();
    let token = join_token(&server.key_pair(), "doctor-skew", unix_now());
    // This machine's clock, as far as the doctor knows, is 600 s behind the real one (and the
    // server's): by it, the token's nbf is ten minutes ahead.
    let behind = (unix_now() - 600).to_string();
    let local_only = roomkey(
        &server,
        &[
            "token",
            "inspect",
            "--json",
            "--no-server",
            "--now",
            &behind,
            &token,
        ],
    )
    .expect_code(1)
    .json();
    assert!(codes(&local_only).contains(&"not_yet_valid".to_owned()));
    let report = inspect_with_keys(&server, &token, &["--now", &behind])
        .expect_code(1)
        .json();
    let offset = report["server"]["clock"]["offset_ms"].as_i64().unwrap();
    assert!((598_000..=602_000).contains(&offset), "offset {offset} ms");
    let skew = finding(&report, "clock_skew");
    assert_eq!(skew["severity"], "error");
    let message = skew["message"].as_str().unwrap();
    assert!(message.contains("ahead of this machine's"), "{message}");
    assert!(
        message.contains("the server still accepts this token"),
        "{message}"
    );
    // By the server's clock the token is in time: the local not_yet_valid is gone, and the
    // server agrees.
    let found = codes(&report);
    assert!(!found.contains(&"not_yet_valid".to_owned()), "{found:?}");
    assert!(found.contains(&"server_accepted".to_owned()), "{found:?}");
}

#[test]
fn a_missing_room_on_a_server_that_does_not_create_rooms() {
    let server = LiveKitServer::start_with(LiveKitOptions {
        auto_create: false,
        label: "doctor-no-auto-create".to_owned(),
        ..LiveKitOptions::default()
    });
    let token = join_token(&server.key_pair(), "doctor-nowhere", unix_now());
    let report = inspect_with_keys(&server, &token, &[])
        .expect_code(1)
        .json();
    let f = finding(&report, "room_not_found");
    assert_eq!(f["severity"], "error");
    assert!(f["hint"].as_str().unwrap().contains("roomkey room create"));
    assert_eq!(report["server"]["status"], 404);
    assert_eq!(report["server"]["room"]["exists"], false);
    // Once the room exists, the same token is accepted.
    roomkey(&server, &["room", "create", "doctor-nowhere"]).expect_code(0);
    let report = inspect_with_keys(&server, &token, &[])
        .expect_code(0)
        .json();
    assert!(codes(&report).contains(&"server_accepted".to_owned()));
    assert_eq!(report["server"]["room"]["exists"], true);
}

#[test]
fn agents_for_a_room_that_exists_are_reported_as_ignored() {
    let server = LiveKitServer::start();
    let mint = |room: &str| {
        roomkey(
            &server,
            &[
                "token",
                "create",
                "--identity",
                "caller",
                "--room",
                room,
                "--dispatch-agent",
                "doctor-helper",
            ],
        )
        .expect_code(0)
        .stdout
        .trim()
        .to_owned()
    };
    // The near miss: a room that does not exist yet gets its agents on the first join.
    let fresh = inspect_with_keys(&server, &mint("doctor-fresh"), &[])
        .expect_code(0)
        .json();
    let found = codes(&fresh);
    assert!(
        found.contains(&"agents_need_new_room".to_owned()),
        "{found:?}"
    );
    assert!(
        !found.contains(&"agents_ignored_for_existing_room".to_owned()),
        "{found:?}"
    );

    roomkey(&server, &["room", "create", "doctor-existing"]).expect_code(0);
    let report = inspect_with_keys(&server, &mint("doctor-existing"), &[])
        .expect_code(0)
        .json();
    let f = finding(&report, "agents_ignored_for_existing_room");
    assert_eq!(f["severity"], "warning");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("doctor-existing") && message.contains("doctor-helper"),
        "{message}"
    );
    assert!(
        f["hint"]
            .as_str()
            .unwrap()
            .contains("roomkey dispatch create doctor-existing")
    );
    assert!(!codes(&report).contains(&"agents_need_new_room".to_owned()));
}

#[test]
fn the_human_report_shows_the_servers_answer_and_the_findings() {
    let server = LiveKitServer::start();
    let token = join_token(&server.key_pair(), "doctor-human", unix_now());
    let url = server.url();
    let run = roomkey(&server, &["token", "inspect", "--server", &url, &token]).expect_code(0);
    for needle in [
        "token: signature valid",
        &format!("server      {url} answered 200 success"),
        "the server's is ",
        "doctor-human does not exist yet",
        "info    server_accepted",
        "\"sub\": \"doctor-patient\"",
    ] {
        assert!(
            run.stdout.contains(needle),
            "{needle:?} missing:\n{}",
            run.stdout
        );
    }
    // No colour when standard output is not a terminal.
    assert!(!run.stdout.contains('\x1b'));
}
