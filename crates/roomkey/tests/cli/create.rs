//! `roomkey token create`: the token, its claims from every flag, credentials, validation, help.

use super::*;

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
