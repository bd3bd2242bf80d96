//! `roomkey token verify`: exit codes and reasons, keys, what a token lets its holder do.

use super::*;

#[test]
fn verify_exit_codes_and_reasons() {
    let token = mint_token(&["--identity", "alice", "--room", "r", "--ttl", "600"]);
    let other = [
        ("LIVEKIT_API_KEY", KEY),
        (
            "LIVEKIT_API_SECRET",
            "another-secret-0123456789abcdefghijkl",
        ),
    ];
    // (case, the arguments, the environment, exit code, what stderr says: "" for anything)
    let cases: [(&str, Vec<&str>, Env<'_>, i32, &str); 7] = [
        ("valid", vec!["--now", "1700000100", &token], CREDS, 0, ""),
        (
            "expired",
            vec!["--now", "1700000661", &token],
            CREDS,
            1,
            "expired",
        ),
        // Within the default 60 s leeway, and outside a smaller one.
        (
            "within the leeway",
            vec!["--now", "1700000650", &token],
            CREDS,
            0,
            "",
        ),
        (
            "outside a smaller leeway",
            vec!["--now", "1700000650", "--leeway", "5s", &token],
            CREDS,
            1,
            "",
        ),
        (
            "another secret",
            vec!["--now", "1700000100", &token],
            &other,
            1,
            "signature does not match",
        ),
        (
            "no secret for the key",
            vec!["--now", "1700000100", &token],
            &[],
            1,
            "no secret is configured for API key \"APIcli\"",
        ),
        (
            "not a JWT",
            vec!["a.b"],
            CREDS,
            1,
            "3 dot-separated segments",
        ),
    ];
    for (case, args, env, code, says) in cases {
        let r = verify(&args, env);
        assert_eq!(r.code, code, "{case}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{case}: {}", r.stderr);
        if code != 0 {
            assert!(r.stdout.is_empty(), "{case}: {}", r.stdout);
        }
    }

    let json = verify(&["--json", "--now", "1800000000", &token], CREDS);
    assert_eq!(json.code, 1);
    let j: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(j["valid"], false);
    assert!(j["error"].as_str().unwrap().contains("expired"));
}

#[test]
fn verify_reads_stdin_keys_files_and_livekit_keys() {
    let token = mint_token(&["--identity", "alice", "--room", "r"]);
    let stdin = run(
        &["token", "verify", "--now", "1700000100"],
        CREDS,
        Some(&format!("{token}\n")),
    );
    assert_eq!(stdin.code, 0, "{}", stdin.stderr);
    let dash = run(
        &["token", "verify", "--now", "1700000100", "-"],
        CREDS,
        Some(&token),
    );
    assert_eq!(dash.code, 0);

    let dir = tempdir();
    let keys = dir.join("keys.yaml");
    std::fs::write(
        &keys,
        format!("# project keys\nAPIold: old-secret-0123456789abcdefghijklmnop\n{KEY}: {SECRET}\n"),
    )
    .unwrap();
    let with_keys_file = [
        "--now",
        "1700000100",
        "--keys-file",
        keys.to_str().unwrap(),
        &token,
    ];
    let r = verify(&with_keys_file, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o644)).unwrap();
        let r = verify(&with_keys_file, &[]);
        assert!(
            r.stderr.contains("keys file") && r.stderr.contains("chmod 600"),
            "{}",
            r.stderr
        );
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
        let r = verify(&with_keys_file, &[]);
        assert_eq!(r.code, 0);
        assert!(!r.stderr.contains("chmod"), "{}", r.stderr);
    }

    let env = [("LIVEKIT_KEYS", format!("{KEY}: {SECRET}"))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = verify_at("1700000100", &token, &env);
    assert_eq!(r.code, 0, "{}", r.stderr);

    std::fs::write(&keys, "APIa:no-space\n").unwrap();
    let r = verify(&["--keys-file", keys.to_str().unwrap(), &token], &[]);
    assert_usage_error("a broken keys file is a configuration error", &r, "line 1");
}

#[test]
fn verify_explains_effective_permissions() {
    let token = mint_token(&[
        "--identity",
        "viewer",
        "--room",
        "town-hall",
        "--can-publish=false",
    ]);
    let r = verify_at("1700000100", &token, CREDS);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("publish     no\n"), "{}", r.stdout);
    assert!(
        r.stdout.contains("data        no (default)"),
        "canPublishData follows canPublish: {}",
        r.stdout
    );
    assert!(r.stdout.contains("subscribe   yes (default)"));
    let j = verify(&["--json", "--now", "1700000100", &token], CREDS);
    let j: Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(j["effective"]["canPublishData"], false);
    assert_eq!(j["effective"]["canSubscribe"], true);
}

#[test]
fn untrusted_text_is_escaped_on_the_terminal() {
    let token = mint_token(&["--identity", "evil\u{1b}[2J\u{202e}x", "--room", "r"]);
    let r = verify_at("1700000100", &token, CREDS);
    assert_eq!(r.code, 0);
    assert!(
        !r.stdout.contains('\u{1b}') && !r.stdout.contains('\u{202e}'),
        "{:?}",
        r.stdout
    );
    assert!(r.stdout.contains("\\u{1b}[2J"));
}

#[test]
fn whatever_verifies_can_be_printed_and_deeper_claims_are_refused() {
    let nested = |depth: usize| {
        format!(
            r#"{{"iss":"{KEY}","sub":"a","exp":1700000600,"video":{{"roomJoin":true}},"x":{}1{}}}"#,
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    };
    // 64 levels (the object itself and 63 arrays): verified and printed, exit 0.
    let ok = verify(
        &["--json", "--now", "1700000100", &hand_signed(&nested(64))],
        CREDS,
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(
        serde_json::from_str::<Value>(&ok.stdout).is_ok(),
        "{}",
        ok.stdout
    );
    // Deeper, up to where the printer's JSON reader gave up before: refused as an invalid
    // token (exit 1) with its reason, not a usage error (exit 2) after verifying.
    for depth in [65, 127, 200] {
        let r = verify_at("1700000100", &hand_signed(&nested(depth)), CREDS);
        assert_eq!(r.code, 1, "{depth}: {}", r.stderr);
        assert!(
            r.stderr
                .contains(&format!("nested {depth} levels deep, deeper than the 64")),
            "{depth}: {}",
            r.stderr
        );
    }
    // Brackets inside strings are text, not nesting.
    let text = format!(
        r#"{{"iss":"{KEY}","sub":"a","exp":1700000600,"metadata":"{}"}}"#,
        "[{".repeat(100)
    );
    let r = verify_at("1700000100", &hand_signed(&text), CREDS);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn verify_shows_nbf_human_times_and_says_when_only_the_leeway_lets_a_token_pass() {
    let token = mint_token(&["--identity", "alice", "--room", "r", "--ttl", "600"]);
    let r = verify_at("1700000100", &token, CREDS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for needle in [
        "valid token\n",
        "not before  2023-11-14T22:13:20Z (",
        "1 min 40 s ago)",
        "expires at  2023-11-14T22:23:20Z (",
        "in 8 min 20 s)",
        "leeway      1 min on exp and nbf",
    ] {
        assert!(
            r.stdout.contains(needle),
            "{needle:?} missing:\n{}",
            r.stdout
        );
    }
    // Expired 30 s ago: valid, but the output says why and for how long.
    let r = verify_at("1700000630", &token, CREDS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("valid token, but only thanks to the clock leeway"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains(
            "the token expired 30 s ago (exp 2023-11-14T22:23:20Z); it is accepted only within \
             the 1 min leeway, for 30 s more"
        ),
        "{}",
        r.stderr
    );
    // Refused: human times, not unix seconds.
    let r = verify_at("1700003600", &token, CREDS);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(
            "the token expired 50 min ago (exp 2023-11-14T22:23:20Z), beyond the 60 s leeway"
        ),
        "{}",
        r.stderr
    );
}
