//! `roomkey room …` and `token create --create-room-if-not-exists` against the local imitation of
//! LiveKit's RoomService.

use std::process::{Command, Output};
use std::time::Duration;

use roomkey_testserver::{Fault, TestServer, TestServerConfig, participant};
use roomkey_token::{ApiSecret, KeyPair, KeySet, Verifier};
use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_with(url: &str, args: &[&str]) -> Run {
    let out = command(url, args).output().unwrap();
    to_run(out)
}

fn command(url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roomkey"));
    cmd.args(args)
        .env_clear()
        .env("LIVEKIT_URL", url)
        .env("LIVEKIT_API_KEY", "devkey")
        .env("LIVEKIT_API_SECRET", "secret");
    cmd
}

fn to_run(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn server() -> TestServer {
    TestServer::start_blocking(TestServerConfig::default()).unwrap()
}

fn verifier() -> Verifier {
    Verifier::new(KeySet::single(
        KeyPair::new("devkey", &ApiSecret::new("secret")).unwrap(),
    ))
}

#[test]
fn room_create_with_every_option_then_list_and_delete() {
    let s = server();
    let url = s.url();
    let r = run_with(
        &url,
        &[
            "room",
            "create",
            "standup",
            "--empty-timeout",
            "600",
            "--departure-timeout",
            "30",
            "--max-participants",
            "12",
            "--room-metadata",
            "{\"team\":\"core\"}",
            "--min-playout-delay",
            "100",
            "--max-playout-delay",
            "300",
            "--sync-streams",
            "--dispatch-agent",
            "notes",
            "--job-metadata",
            "j",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("NAME"), "{}", r.stdout);
    assert!(
        r.stdout.contains("standup") && r.stdout.contains("RM_"),
        "{}",
        r.stdout
    );
    let c = s.room("standup").unwrap().create_request;
    assert_eq!(
        (c.empty_timeout, c.departure_timeout, c.max_participants),
        (600, 30, 12)
    );
    assert_eq!(
        (c.min_playout_delay, c.max_playout_delay, c.sync_streams),
        (100, 300, true)
    );
    assert_eq!(c.metadata, "{\"team\":\"core\"}");
    assert_eq!(c.agents[0].agent_name, "notes");
    assert_eq!(c.agents[0].metadata, "j");

    let r = run_with(&url, &["room", "create", "second", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["name"], "second");
    assert_eq!(j["empty_timeout"], 300);
    assert!(
        j.get("turn_password").is_none(),
        "TURN credentials are never printed"
    );

    let r = run_with(&url, &["room", "list", "--json"]);
    let rooms: Vec<Value> = serde_json::from_str(&r.stdout).unwrap();
    let names: Vec<&str> = rooms.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["second", "standup"], "sorted by name");
    let r = run_with(&url, &["room", "list", "standup", "ghost"]);
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout.lines().count(),
        2,
        "header and one room: {}",
        r.stdout
    );

    let r = run_with(&url, &["room", "delete", "standup"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("deleted room standup"));
    let r = run_with(&url, &["room", "delete", "standup"]);
    assert_eq!(r.code, 1, "a missing room is a negative answer");
    assert!(
        r.stderr.contains("requested room does not exist"),
        "{}",
        r.stderr
    );
    let r = run_with(&url, &["room", "list"]);
    assert!(!r.stdout.contains("standup"));
}

#[test]
fn room_participants_table_and_json() {
    let s = server();
    s.seed_participant("town-hall", participant("alice"));
    s.seed_participant("town-hall", participant("bob\u{1b}[31m"));
    let r = run_with(&s.url(), &["room", "participants", "town-hall"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("IDENTITY"));
    assert!(r.stdout.contains("alice") && r.stdout.contains("ACTIVE"));
    assert!(
        !r.stdout.contains('\u{1b}'),
        "identities are escaped: {:?}",
        r.stdout
    );
    let r = run_with(&s.url(), &["room", "participants", "town-hall", "--json"]);
    let people: Vec<Value> = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(people[0]["identity"], "alice");
    let r = run_with(&s.url(), &["room", "participants", "empty-room"]);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("no participants"));
    let log = s.request_log();
    let last = log.last().unwrap().token_payload().unwrap();
    assert_eq!(
        last["video"],
        serde_json::json!({"roomAdmin": true, "room": "empty-room"})
    );
}

#[test]
fn url_problems_are_configuration_errors() {
    let r = run_with("", &["room", "list"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("pass --url or set LIVEKIT_URL"),
        "{}",
        r.stderr
    );
    let r = run_with("localhost:7880", &["room", "list"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("write http://localhost:7880"),
        "{}",
        r.stderr
    );
    let s = server();
    let r = run_with("ignored", &["room", "list", "--url", &s.ws_url()]);
    assert_eq!(r.code, 0, "--url wins over LIVEKIT_URL: {}", r.stderr);
}

#[test]
fn unreachable_and_failing_servers() {
    let s = server();
    let r = run_with(&s.refused_url(), &["room", "list"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot reach the LiveKit server") && r.stderr.contains("3 attempts"),
        "{}",
        r.stderr
    );

    s.inject_for("ListRooms", Fault::Status(503), 3);
    let r = run_with(&s.url(), &["room", "list"]);
    assert_eq!(r.code, 2);
    assert_eq!(s.attempts("ListRooms"), 3);
    assert!(r.stderr.contains("HTTP 503"), "{}", r.stderr);

    let r = Command::new(env!("CARGO_BIN_EXE_roomkey"))
        .args([
            "room",
            "list",
            "--url",
            &s.url(),
            "--api-key",
            "devkey",
            "--api-secret-file",
            "/dev/null",
        ])
        .env_clear()
        .output()
        .unwrap();
    let r = to_run(r);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("is empty"), "{}", r.stderr);

    let wrong = Command::new(env!("CARGO_BIN_EXE_roomkey"))
        .args(["room", "list", "--url", &s.url()])
        .env_clear()
        .env("LIVEKIT_API_KEY", "devkey")
        .env("LIVEKIT_API_SECRET", "wrong-secret")
        .output()
        .unwrap();
    let r = to_run(wrong);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("rejected the API key or secret"),
        "{}",
        r.stderr
    );
}

#[test]
fn create_room_if_not_exists_creates_with_the_token_config_then_mints() {
    let s = server();
    let args = [
        "token",
        "create",
        "--identity",
        "alice",
        "--room",
        "support-42",
        "--create-room-if-not-exists",
        "--dispatch-agent",
        "triage",
        "--job-metadata",
        "{\"lang\":\"de\"}",
        "--room-config",
        "{\"emptyTimeout\":120,\"maxParticipants\":4}",
    ];
    let r = run_with(&s.url(), &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("created room support-42"), "{}", r.stderr);
    assert!(r.stderr.contains("Successfully generated access token"));
    let token = r.stdout.trim();
    let claims = verifier().verify(token).unwrap().claims;
    assert_eq!(claims.room(), "support-42");
    assert_eq!(
        claims.room_config.as_ref().unwrap().agents[0].agent_name,
        "triage"
    );
    let state = s.room("support-42").unwrap();
    assert_eq!(state.create_request.empty_timeout, 120);
    assert_eq!(state.create_request.max_participants, 4);
    assert_eq!(state.agents()[0].agent_name, "triage");
    assert_eq!(state.agents()[0].metadata, "{\"lang\":\"de\"}");

    // Again: the room exists, its configuration is kept, and a token is still minted.
    let r = run_with(&s.url(), &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("already exists; its configuration was not changed"),
        "{}",
        r.stderr
    );
    assert!(verifier().verify(r.stdout.trim()).is_ok());
    assert_eq!(s.rooms().len(), 1);
}

#[test]
fn create_room_failures_print_no_token() {
    let s = server();
    let base = [
        "token",
        "create",
        "--identity",
        "a",
        "--room",
        "r",
        "--create-room-if-not-exists",
    ];

    s.inject_for("CreateRoom", Fault::Status(503), 3);
    let r = run_with(&s.url(), &base);
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("no token was minted") && r.stderr.contains("HTTP 503"),
        "{}",
        r.stderr
    );
    assert_eq!(s.attempts("CreateRoom"), 3);

    s.reset_attempts();
    s.inject_for("CreateRoom", Fault::Delay(Duration::from_secs(3)), 1);
    let mut args = base.to_vec();
    args.extend(["--timeout", "1s"]);
    let r = run_with(&s.url(), &args);
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("did not answer CreateRoom within 1s"),
        "{}",
        r.stderr
    );
    assert_eq!(s.attempts("CreateRoom"), 1);

    s.inject_for("CreateRoom", Fault::Drop, 3);
    let r = run_with(&s.url(), &base);
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("connection lost"), "{}", r.stderr);

    let r = run_with(&s.refused_url(), &base);
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());

    s.inject_for("CreateRoom", Fault::Status(502), 1);
    let r = run_with(&s.url(), &base);
    assert_eq!(r.code, 0, "one 502 is retried: {}", r.stderr);
    assert!(verifier().verify(r.stdout.trim()).is_ok());

    let r = run_with(
        &s.url(),
        &[
            "token",
            "create",
            "--identity",
            "a",
            "--create-room-if-not-exists",
        ],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("pass --room"), "{}", r.stderr);
    let r = run_with("", &base);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("LIVEKIT_URL"), "{}", r.stderr);
    // An invalid token is refused before anything happens on the server.
    s.clear_request_log();
    let r = run_with(
        &s.url(),
        &[
            "token",
            "create",
            "--room",
            "r",
            "--create-room-if-not-exists",
        ],
    );
    assert_eq!(r.code, 2);
    assert!(
        s.request_log().is_empty(),
        "no RoomService call for a token that cannot be minted"
    );
}

#[test]
fn fifty_concurrent_create_if_not_exists_leave_one_room_and_fifty_tokens() {
    let s = server();
    let url = s.url();
    let children: Vec<_> = (0..50)
        .map(|i| {
            let identity = format!("user-{i}");
            command(
                &url,
                &[
                    "token",
                    "create",
                    "--identity",
                    &identity,
                    "--room",
                    "party",
                    "--create-room-if-not-exists",
                ],
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let verifier = verifier();
    let mut identities = Vec::new();
    for child in children {
        let r = to_run(child.wait_with_output().unwrap());
        assert_eq!(r.code, 0, "{}", r.stderr);
        let claims = verifier.verify(r.stdout.trim()).unwrap().claims;
        assert_eq!(claims.room(), "party");
        identities.push(claims.sub);
    }
    identities.sort();
    identities.dedup();
    assert_eq!(identities.len(), 50);
    let rooms = s.rooms();
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0].room.name, "party");
    assert_eq!(s.attempts("CreateRoom"), 50);
}
