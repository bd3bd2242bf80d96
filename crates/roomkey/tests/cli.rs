//! Runs the `roomkey` binary and checks stdout, stderr and the exit code.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const NOW: i64 = 1_700_000_000;
const KEY: &str = "APIcli";
const SECRET: &str = "cli-secret-0123456789abcdefghijklmnopqrstuvwxyz";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roomkey"));
    cmd.args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn roomkey");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Environment variables for a run.
type Env<'a> = &'a [(&'a str, &'a str)];

const CREDS: Env<'static> = &[("LIVEKIT_API_KEY", KEY), ("LIVEKIT_API_SECRET", SECRET)];

/// Mints with fixed time and credentials from the environment; returns the `--json` object.
fn mint_json(extra: &[&str]) -> Value {
    let mut args = vec!["token", "create", "--json", "--now", "1700000000"];
    args.extend_from_slice(extra);
    let r = run(&args, CREDS, None);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

fn claims(extra: &[&str]) -> Value {
    mint_json(extra)["claims"].clone()
}

/// Mints like [`mint_json`] and returns the token alone.
fn mint_token(extra: &[&str]) -> String {
    mint_json(extra)["token"].as_str().unwrap().to_owned()
}

/// `roomkey token create ARGS` with these environment variables.
fn create(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec!["token", "create"];
    all.extend_from_slice(args);
    run(&all, env, None)
}

/// `roomkey token verify ARGS` with these environment variables.
fn verify(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec!["token", "verify"];
    all.extend_from_slice(args);
    run(&all, env, None)
}

/// `roomkey token verify --now NOW TOKEN`.
fn verify_at(now: &str, token: &str, env: &[(&str, &str)]) -> Run {
    verify(&["--now", now, token], env)
}

/// Asserts a usage or configuration error (exit 2) that prints no token and says `needle`.
#[track_caller]
fn assert_usage_error(case: &str, r: &Run, needle: &str) {
    assert_eq!(r.code, 2, "{case}: {}", r.stderr);
    assert!(r.stdout.is_empty(), "{case}: no token: {}", r.stdout);
    assert!(r.stderr.contains(needle), "{case}: {}", r.stderr);
}

#[test]
fn create_prints_the_token_alone_and_the_summary_on_stderr() {
    let r = create(&["--identity", "alice", "--room", "standup"], &[]);
    assert_eq!(r.code, 0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].split('.').count(), 3);
    assert!(
        r.stderr
            .contains("Successfully generated access token for participant to join the call.")
    );
    assert!(
        r.stderr.contains("devkey/secret"),
        "dev notice: {}",
        r.stderr
    );
    // It verifies with the development pair.
    let v = verify(&[lines[0]], &[]);
    assert_eq!(v.code, 0, "{}", v.stderr);
    assert!(v.stdout.contains("identity    alice"));
}

#[test]
fn json_output_has_the_documented_fields() {
    let j = mint_json(&[
        "--identity",
        "alice",
        "--name",
        "Alice",
        "--room",
        "standup",
        "--ttl",
        "600",
    ]);
    assert_eq!(j["identity"], "alice");
    assert_eq!(j["name"], "Alice");
    assert_eq!(j["room"], "standup");
    assert_eq!(j["issued_at"], NOW);
    assert_eq!(j["expires_at"], NOW + 600);
    assert_eq!(
        j["claims"],
        json!({"iss": KEY, "sub": "alice", "identity": "alice", "name": "Alice",
               "iat": NOW, "nbf": NOW, "exp": NOW + 600,
               "video": {"roomJoin": true, "room": "standup"}})
    );
    // The claims are exactly the token's payload.
    let token = j["token"].as_str().unwrap();
    let v = verify(&["--json", "--now", "1700000001", token], CREDS);
    assert_eq!(v.code, 0, "{}", v.stderr);
    let vj: Value = serde_json::from_str(&v.stdout).unwrap();
    assert_eq!(vj["claims"], j["claims"]);
    assert_eq!(vj["valid"], true);
}

#[test]
fn every_permission_flag_sets_its_claim_and_absent_means_unset() {
    let flags = [
        ("--can-publish", "canPublish"),
        ("--can-subscribe", "canSubscribe"),
        ("--can-publish-data", "canPublishData"),
        ("--hidden", "hidden"),
        ("--room-create", "roomCreate"),
        ("--room-list", "roomList"),
        ("--room-record", "roomRecord"),
        ("--room-admin", "roomAdmin"),
        ("--ingress-admin", "ingressAdmin"),
        ("--can-update-own-metadata", "canUpdateOwnMetadata"),
        ("--recorder", "recorder"),
        ("--agent", "agent"),
        ("--can-subscribe-metrics", "canSubscribeMetrics"),
        ("--can-manage-agent-session", "canManageAgentSession"),
    ];
    let tri_state = [
        "canPublish",
        "canSubscribe",
        "canPublishData",
        "canUpdateOwnMetadata",
        "canSubscribeMetrics",
        "canManageAgentSession",
    ];
    for (flag, claim) in flags {
        for form in [flag.to_owned(), format!("{flag}=true")] {
            let c = claims(&["--identity", "a", &form]);
            assert_eq!(c["video"][claim], true, "{form}");
        }
        let c = claims(&["--identity", "a", &format!("{flag}=false")]);
        if tri_state.contains(&claim) {
            assert_eq!(
                c["video"][claim], false,
                "{flag}=false is kept: it differs from unset"
            );
        } else {
            assert!(
                c["video"].get(claim).is_none(),
                "{flag}=false is the default and is omitted"
            );
        }
        let c = claims(&["--identity", "a"]);
        assert!(
            c["video"].get(claim).is_none(),
            "{claim} absent when the flag is absent"
        );
    }
}

#[test]
fn other_grants_and_participant_flags() {
    let c = claims(&[
        "--identity",
        "a",
        "--room",
        "r",
        "--destination-room",
        "r2",
        "--allow-source",
        "camera,microphone",
        "--allow-source",
        "screen_share",
        "--attribute",
        "role=host",
        "--attribute",
        "empty=",
        "--kind",
        "agent",
        "--kind-detail",
        "cloud_agent,forwarded",
        "--sip-admin",
        "--sip-call=false",
        "--agent-dispatch-admin",
        "--agent-admin=false",
        "--inference",
        "--observability",
        "--room-preset",
        "big",
        "--sha256",
        "abc=",
        "--metadata",
        "{\"x\":1}",
    ]);
    assert_eq!(c["video"]["destinationRoom"], "r2");
    assert_eq!(
        c["video"]["canPublishSources"],
        json!(["camera", "microphone", "screen_share"])
    );
    assert_eq!(c["attributes"], json!({"role": "host", "empty": ""}));
    assert_eq!(c["kind"], "agent");
    assert_eq!(c["kindDetails"], json!(["cloud_agent", "forwarded"]));
    assert_eq!(c["sip"], json!({"admin": true}));
    assert_eq!(c["agent"], json!({"dispatchAdmin": true}));
    assert_eq!(c["inference"], json!({"perform": true}));
    assert_eq!(c["observability"], json!({"write": true}));
    assert_eq!(c["roomPreset"], "big");
    assert_eq!(c["sha256"], "abc=");
    assert_eq!(c["metadata"], "{\"x\":1}");
}

#[test]
fn join_false_without_other_flags_has_no_video_grant() {
    let c = claims(&["--join=false"]);
    assert!(c.get("video").is_none());
    let c = claims(&["--join=false", "--room-create", "--room-list"]);
    assert_eq!(c["video"], json!({"roomCreate": true, "roomList": true}));
}

#[test]
fn ttl_accepts_seconds_and_durations() {
    for (ttl, secs) in [("90", 90), ("10m", 600), ("1h30m", 5400), ("2d", 172_800)] {
        let j = mint_json(&["--identity", "a", "--ttl", ttl]);
        assert_eq!(j["expires_at"], NOW + secs, "{ttl}");
    }
    assert_eq!(
        mint_json(&["--identity", "a"])["expires_at"],
        NOW + 6 * 3600
    );
    for (ttl, says) in [("10x", "unknown time unit \"x\""), ("0", "TTL")] {
        let r = create(&["--identity", "a", "--ttl", ttl], CREDS);
        assert_usage_error(ttl, &r, says);
    }
}

#[test]
fn agent_dispatch_and_room_config() {
    let c = claims(&[
        "--identity",
        "a",
        "--room",
        "r",
        "--dispatch-agent",
        "triage",
        "--job-metadata",
        "{\"lang\":\"de\"}",
        "--room-config",
        "{\"emptyTimeout\":60,\"max_participants\":\"5\"}",
    ]);
    assert_eq!(
        c["roomConfig"],
        json!({"emptyTimeout": 60, "maxParticipants": 5,
               "agents": [{"agentName": "triage", "metadata": "{\"lang\":\"de\"}"}]})
    );
    for (config, says) in [
        (
            "{\"emptyTimeOut\":1}",
            "unknown field \"emptyTimeOut\"; did you mean \"emptyTimeout\"?",
        ),
        // Nested keys too: a misspelled agent field would dispatch an agent without its name.
        (
            "{\"agents\":[{\"agentname\":\"triage\"}]}",
            "unknown field \"agents.0.agentname\"; did you mean \"agent_name\"?",
        ),
    ] {
        let r = create(&["--identity", "a", "--room-config", config], CREDS);
        assert_usage_error(config, &r, says);
    }
    let dir = tempdir();
    let path = dir.join("config.json");
    std::fs::write(
        &path,
        r#"{"agents":[{"agentName":"x","restartPolicy":"JRP_NEVER"}]}"#,
    )
    .unwrap();
    let c = claims(&["--identity", "a", "--room-config", path.to_str().unwrap()]);
    assert_eq!(c["roomConfig"]["agents"][0]["restartPolicy"], "JRP_NEVER");
}

#[test]
fn sensitive_credentials_are_refused_unless_allowed() {
    let config = r#"{"egress":{"tracks":{"filepath":"x","s3":{"bucket":"b","secret":"hunter2"}}}}"#;
    let r = create(&["--identity", "a", "--room-config", config], CREDS);
    assert_usage_error("a secret", &r, "roomConfig.egress.tracks.s3.secret");
    assert!(!r.stderr.contains("hunter2"));
    let c = claims(&[
        "--identity",
        "a",
        "--room-config",
        config,
        "--allow-sensitive-credentials",
    ]);
    assert_eq!(
        c["roomConfig"]["egress"]["tracks"]["s3"]["secret"],
        "hunter2"
    );
}

#[test]
fn validation_errors_say_what_to_fix_and_print_no_token() {
    let cases: &[(&[&str], &str)] = &[
        (&["--room", "r"], "needs a participant identity"),
        (
            &["--identity", &"x".repeat(257)],
            "over the LiveKit server's limit of 256",
        ),
        (
            &["--identity", "a", "--room", &"r".repeat(257)],
            "video.room is 257 bytes",
        ),
        (
            &[
                "--identity",
                "a",
                "--attribute",
                &format!("k={}", "v".repeat(65536)),
            ],
            "attributes take",
        ),
        (&["--identity", "a", "--allow-source", "webcam"], "webcam"),
        (&["--identity", "a", "--kind", "robot"], "robot"),
        (&["--identity", "a", "--kind-detail", "x"], "x"),
        (&["--identity", "a", "--attribute", "novalue"], "KEY=VALUE"),
    ];
    for (args, needle) in cases {
        let r = create(args, CREDS);
        assert_usage_error(&format!("{args:?}"), &r, needle);
    }
}

#[test]
fn join_without_room_warns() {
    let r = create(&["--identity", "a"], CREDS);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("join any room"), "{}", r.stderr);
    let r = create(&["--identity", "a", "--room", "r"], CREDS);
    assert!(!r.stderr.contains("join any room"));
}

#[test]
fn credentials_from_flags_files_and_env() {
    let dir = tempdir();
    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let secret_path = secret_file.to_str().unwrap();
    let r = create(
        &[
            "--identity",
            "a",
            "--api-key",
            KEY,
            "--api-secret-file",
            secret_path,
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let token = serde_json::from_str::<Value>(&r.stdout).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = verify(&[&token], CREDS);
    assert_eq!(
        v.code, 0,
        "trailing newline of the secret file is dropped: {}",
        v.stderr
    );
    assert!(!r.stderr.contains("devkey"));

    let r = create(
        &["--identity", "a", "--api-key", KEY, "--api-secret", SECRET],
        &[],
    );
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("process list"), "{}", r.stderr);

    // Half a pair names the other half.
    for (env, says) in [
        (("LIVEKIT_API_KEY", KEY), "LIVEKIT_API_SECRET"),
        (("LIVEKIT_API_SECRET", SECRET), "LIVEKIT_API_KEY"),
    ] {
        let r = create(&["--identity", "a"], &[env]);
        assert_usage_error(env.0, &r, says);
    }

    let r = create(
        &["--identity", "a"],
        &[("LIVEKIT_API_KEY", KEY), ("LIVEKIT_API_SECRET", "short")],
    );
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("5 bytes long"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("short"),
        "the secret itself is never printed: {}",
        r.stderr
    );
}

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
fn help_teaches_with_the_action_descriptions() {
    let r = create(&["--help"], &[]);
    assert_eq!(r.code, 0);
    for text in [
        "Unique identity for the participant joining the call",
        "How long the access token should be valid for (in seconds)",
        "Whether the participant can publish audio/video tracks",
        "Permission to control ingress, not specific to any room or ingress",
        "Participant allowed to connect to LiveKit as Agent Framework worker",
        "Destination room which this participant can forward to",
        "LIVEKIT_API_SECRET",
        "Examples:",
    ] {
        assert!(r.stdout.contains(text), "missing {text:?}");
    }
}

/// A scratch directory, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> TempDir {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("roomkey-cli-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

#[test]
fn the_development_pair_is_only_for_a_local_server() {
    let minting = ["--identity", "a", "--room", "r"];
    let with = |more: &[&'static str]| [&minting[..], more].concat();
    // A remote URL without credentials: an error naming what to set, and no token.
    for env in [
        &[("LIVEKIT_URL", "wss://myproj.livekit.cloud")][..],
        &[("LIVEKIT_URL", "http://10.0.0.5:7880")][..],
    ] {
        let r = create(&minting, env);
        assert_usage_error(
            &format!("{env:?}"),
            &r,
            "no API key and secret for the LiveKit server at",
        );
        assert!(
            r.stderr.contains("LIVEKIT_API_KEY and LIVEKIT_API_SECRET")
                && r.stderr.contains("--dev"),
            "{}",
            r.stderr
        );
    }
    // A URL without a scheme is named as that mistake.
    let r = create(&minting, &[("LIVEKIT_URL", "localhost:7880")]);
    assert_usage_error("no scheme", &r, "has no scheme");
    let r = create(&with(&["--url", "https://myproj.livekit.cloud"]), &[]);
    assert_eq!(r.code, 2, "--url: {}", r.stderr);
    let r = verify(&["x"], &[("LIVEKIT_URL", "wss://a.example")]);
    assert_usage_error("verify", &r, "no API key and secret");

    // No URL, a loopback URL, or --dev: the development pair, and the token says so.
    let dev_issuer = |r: &Run| {
        assert_eq!(r.code, 0, "{}", r.stderr);
        let (_, payload) = roomkey_token::dangerous::decode_unverified(r.stdout.trim()).unwrap();
        serde_json::from_str::<Value>(&payload).unwrap()["iss"].clone()
    };
    for env in [
        &[][..],
        &[("LIVEKIT_URL", "ws://localhost:7880")][..],
        &[("LIVEKIT_URL", "http://127.0.0.1:7880")][..],
    ] {
        let r = create(&minting, env);
        assert_eq!(dev_issuer(&r), "devkey", "{env:?}");
        assert!(
            r.stderr.contains("using the development pair"),
            "{env:?}: {}",
            r.stderr
        );
    }
    let r = create(
        &with(&["--dev"]),
        &[("LIVEKIT_URL", "wss://myproj.livekit.cloud")],
    );
    assert_eq!(dev_issuer(&r), "devkey");
    // Half a pair is an error that names where the half came from.
    for (case, args, env, says) in [
        (
            "key from the environment",
            with(&[]),
            &[("LIVEKIT_API_KEY", KEY)][..],
            "an API key is set (from LIVEKIT_API_KEY) but no secret",
        ),
        (
            "key from a flag",
            with(&["--api-key", KEY]),
            &[],
            "(from --api-key)",
        ),
        (
            "secret from the environment",
            with(&[]),
            &[("LIVEKIT_API_SECRET", SECRET)],
            "an API secret is set (from LIVEKIT_API_SECRET) but no key",
        ),
    ] {
        assert_usage_error(case, &create(&args, env), says);
    }
    // --dev with credentials is a contradiction, not a choice.
    let r = create(&with(&["--dev", "--api-key", "APIx"]), &[]);
    assert_eq!(r.code, 2, "--dev with a key: {}", r.stderr);
}

/// A token with these claims, signed with the test pair by hand (no roomkey code), so that
/// claims roomkey would never mint can be put in front of `token verify`.
fn hand_signed(claims: &str) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signing_input = format!(
        "{}.{}",
        b64.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64.encode(claims)
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        b64.encode(mac.finalize().into_bytes())
    )
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

/// `roomkey token inspect ARGS` with these environment variables and standard input.
fn inspect(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let mut all = vec!["token", "inspect"];
    all.extend_from_slice(args);
    run(&all, env, stdin)
}

fn finding_codes(report: &Value) -> Vec<&str> {
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
