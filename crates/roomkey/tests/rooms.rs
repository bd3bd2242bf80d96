//! `roomkey room …` and `token create --create-room-if-not-exists` when LiveKit fails (5xx
//! answers, slowness, dropped connections, a refused port, on roomkey-testserver) or the
//! configuration is wrong. What the commands do with a working LiveKit is tested against the
//! real server in `crates/roomkey-interop/tests/rooms.rs`.

use std::process::{Command, Output};
use std::time::Duration;

use roomkey_testserver::{Fault, TestServer, TestServerConfig};
use roomkey_token::{ApiSecret, KeyPair, KeySet, Verifier};

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

/// Asserts a failure (exit 2) whose message says `needle`.
#[track_caller]
fn assert_fails(case: &str, r: &Run, needle: &str) {
    assert_eq!(r.code, 2, "{case}: {}", r.stderr);
    assert!(r.stderr.contains(needle), "{case}: {}", r.stderr);
}

/// Asserts a failure (exit 2) that printed no token and whose message says `needle`.
#[track_caller]
fn assert_no_token(case: &str, r: &Run, needle: &str) {
    assert_fails(case, r, needle);
    assert!(r.stdout.is_empty(), "{case}: {}", r.stdout);
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
fn url_problems_are_configuration_errors() {
    for (url, says) in [
        ("", "pass --url or set LIVEKIT_URL"),
        ("localhost:7880", "write http://localhost:7880"),
    ] {
        assert_fails(url, &run_with(url, &["room", "list"]), says);
    }
    let s = server();
    let r = run_with("ignored", &["room", "list", "--url", &s.ws_url()]);
    assert_eq!(r.code, 0, "--url wins over LIVEKIT_URL: {}", r.stderr);
}

#[test]
fn unreachable_and_failing_servers() {
    let s = server();
    let r = run_with(&s.refused_url(), &["room", "list"]);
    assert_fails("refused", &r, "cannot reach the LiveKit server");
    assert!(r.stderr.contains("3 attempts"), "{}", r.stderr);

    s.inject_for("ListRooms", Fault::Status(503), 3);
    let r = run_with(&s.url(), &["room", "list"]);
    assert_fails("503", &r, "HTTP 503");
    assert_eq!(s.attempts("ListRooms"), 3);

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
    assert_fails("an empty secret file", &to_run(r), "is empty");

    let wrong = Command::new(env!("CARGO_BIN_EXE_roomkey"))
        .args(["room", "list", "--url", &s.url()])
        .env_clear()
        .env("LIVEKIT_API_KEY", "devkey")
        .env("LIVEKIT_API_SECRET", "wrong-secret")
        .output()
        .unwrap();
    let r = to_run(wrong);
    assert_fails("the wrong secret", &r, "rejected the token's signature");
    assert!(
        r.stderr
            .contains("the API secret (from LIVEKIT_API_SECRET)"),
        "{}",
        r.stderr
    );
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
    assert_no_token("503", &r, "no token was minted");
    assert!(r.stderr.contains("HTTP 503"), "{}", r.stderr);
    assert_eq!(s.attempts("CreateRoom"), 3);

    s.reset_attempts();
    s.inject_for("CreateRoom", Fault::Delay(Duration::from_secs(3)), 1);
    let mut args = base.to_vec();
    args.extend(["--timeout", "1s"]);
    let r = run_with(&s.url(), &args);
    assert_no_token("slow", &r, "did not answer CreateRoom within 1s");
    assert_eq!(s.attempts("CreateRoom"), 1);

    s.inject_for("CreateRoom", Fault::Drop, 3);
    assert_no_token("dropped", &run_with(&s.url(), &base), "connection lost");
    assert_no_token("refused", &run_with(&s.refused_url(), &base), "");

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
    assert_fails("no room", &r, "pass --room");
    assert_fails("no URL", &run_with("", &base), "LIVEKIT_URL");
    // An invalid token is refused before anything happens on the server.
    let before = s.total_requests();
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
    assert_eq!(
        s.total_requests(),
        before,
        "no RoomService call for a token that cannot be minted"
    );
}

#[test]
fn a_dispatch_that_may_have_been_created_says_so_and_is_not_sent_again() {
    let s = server();
    for fault in [Fault::Status(502), Fault::Drop] {
        s.reset_attempts();
        s.inject_for("CreateDispatch", fault, 1);
        let r = run_with(
            &s.url(),
            &[
                "dispatch",
                "create",
                "r",
                "--agent",
                "triage",
                "--wait-for-worker",
                "0s",
            ],
        );
        assert_ne!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains("cannot dispatch the agent in room r"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr
                .contains("may have been created all the same: check `roomkey dispatch list r`"),
            "{}",
            r.stderr
        );
        assert_eq!(s.attempts("CreateDispatch"), 1, "sent once: {}", r.stderr);
    }
}
