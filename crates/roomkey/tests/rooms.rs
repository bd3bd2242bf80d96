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
        r.stderr.contains("rejected the token's signature")
            && r.stderr
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
