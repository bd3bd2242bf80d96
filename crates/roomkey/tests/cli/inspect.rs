//! `roomkey token inspect`: findings with or without the secret.

use super::*;

/// `roomkey token inspect ARGS` with these environment variables and standard input.
pub(crate) fn inspect(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let mut all = vec!["token", "inspect"];
    all.extend_from_slice(args);
    run(&all, env, stdin)
}

pub(crate) fn finding_codes(report: &Value) -> Vec<&str> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect()
}

#[test]
fn inspect_needs_no_secret_and_checks_the_signature_when_given_one() {
    let token = mint_token(&["--identity", "alice", "--room", "r", "--ttl", "600"]);
    // No credentials at all: decoded, explained, signature unchecked, exit 0.
    let r = inspect(&["--json", "--now", "1700000100", &token], &[], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["signature"], "unchecked");
    assert_eq!(finding_codes(&j), ["signature_unchecked"]);
    assert_eq!(j["claims"]["sub"], "alice");
    assert_eq!(j["server"], Value::Null);
    assert_eq!(j["permissions"]["video"]["canPublish"], true);
    // With the secret: valid, and nothing to report.
    let r = inspect(&["--json", "--now", "1700000100", &token], CREDS, None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["signature"], "valid");
    assert_eq!(finding_codes(&j), Vec::<&str>::new());
    // With another secret: invalid, exit 1, and the stderr line counts the errors.
    let other = [
        ("LIVEKIT_API_KEY", KEY),
        (
            "LIVEKIT_API_SECRET",
            "another-secret-0123456789abcdefghijkl",
        ),
    ];
    let r = inspect(&["--json", "--now", "1700000100", &token], &other, None);
    assert_eq!(r.code, 1);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["signature"], "invalid");
    assert_eq!(finding_codes(&j), ["bad_signature"]);
    assert!(
        r.stderr.contains("the token has 1 error finding"),
        "{}",
        r.stderr
    );
    // The development pair is never assumed: without credentials a dev token is unchecked.
    let dev = run(
        &["token", "create", "--identity", "a", "--room", "r", "--dev"],
        &[],
        None,
    );
    let r = inspect(&["--json", dev.stdout.trim()], &[], None);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["signature"], "unchecked");
}

#[test]
fn inspect_reads_standard_input_and_exits_1_on_errors_and_2_on_usage() {
    let token = mint_token(&["--identity", "alice", "--room", "r", "--ttl", "600"]);
    let bearer = format!("Bearer {token}\n");
    let r = inspect(&["--now", "1700000100", "-"], CREDS, Some(&bearer));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("token: signature valid\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("findings: none"), "{}", r.stdout);
    // Expired: an error finding, in the human report with its hint.
    let r = inspect(&["--now", "1700001000"], CREDS, Some(&token));
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("error   expired "), "{}", r.stdout);
    assert!(r.stdout.contains("hint: mint a new one"), "{}", r.stdout);
    // Garbage is a finding too, not a crash.
    let r = inspect(&["--json", "not-a-token"], &[], None);
    assert_eq!(r.code, 1);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(finding_codes(&j), ["malformed"]);
    assert_eq!(j["claims"], Value::Null);
    // Usage errors exit 2.
    let r = inspect(&["--leeway", "soon", &token], &[], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = inspect(&["--server", "localhost:7880", &token], &[], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("has no scheme"), "{}", r.stderr);
}

#[test]
fn inspect_finds_a_misspelled_grant_that_verify_lets_through() {
    // A payload no SDK would write: canPublish misspelled, so the server ignores it and the
    // participant may publish.
    let token = hand_signed(
        &json!({
            "iss": KEY, "sub": "viewer", "nbf": NOW, "exp": NOW + 600,
            "video": {"roomJoin": true, "room": "r", "canpublish": false}
        })
        .to_string(),
    );
    let r = verify_at("1700000100", &token, CREDS);
    assert_eq!(
        r.code, 0,
        "verify checks the signature and times only: {}",
        r.stderr
    );
    let r = inspect(&["--json", "--now", "1700000100", &token], CREDS, None);
    assert_eq!(r.code, 1);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    let f = &j["findings"][0];
    assert_eq!(f["code"], "unknown_claim");
    assert_eq!(f["severity"], "error");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("did you mean video.canPublish?"),
        "{f}"
    );
    assert_eq!(
        j["permissions"]["video"]["canPublish"], true,
        "what the server reads"
    );
}

#[test]
fn inspect_says_when_the_server_cannot_be_asked() {
    let token = mint_token(&["--identity", "alice", "--room", "r", "--ttl", "600"]);
    // Nothing listens on port 1 of loopback: the connection is refused at once.
    let r = inspect(
        &[
            "--json",
            "--now",
            "1700000100",
            "--server",
            "http://127.0.0.1:1",
            &token,
        ],
        CREDS,
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    let f = &j["findings"][0];
    assert_eq!(
        (&f["code"], &f["severity"]),
        (&json!("server_unreachable"), &json!("error"))
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("http://127.0.0.1:1"),
        "{f}"
    );
    assert_eq!(j["server"]["reachable"], false);
    // The token's own verdict is still there.
    assert_eq!(j["signature"], "valid");
    // LIVEKIT_URL asks the server too, and --no-server does not.
    let mut env = CREDS.to_vec();
    env.push(("LIVEKIT_URL", "http://127.0.0.1:1"));
    let r = inspect(&["--json", "--now", "1700000100", &token], &env, None);
    assert_eq!(r.code, 1);
    let r = inspect(
        &["--json", "--no-server", "--now", "1700000100", &token],
        &env,
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}
