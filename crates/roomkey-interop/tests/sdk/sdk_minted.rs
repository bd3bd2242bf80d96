//! Tokens minted by the SDKs, decoded by roomkey.

use super::*;

/// The mint scripts drive the SDKs faithfully, clock pinning included: for the worked example
/// (key `APIexample`, alice/Alice/standup, canPublish false, 6 h, T = 1700000000) they
/// reproduce byte for byte the Node and Python tokens those SDKs minted with a pinned clock,
/// and the Go helper the Go token (derived by hand from auth/accesstoken.go and encoding/json's
/// rules, never run). roomkey-token's tests use the same tokens.
#[test]
fn mint_scripts_reproduce_the_spec_section_12_tokens() {
    // Written as text: Node keeps the caller's key order, and its expected token came from
    // `addGrant({roomJoin:true, room:'standup', canPublish:false})`.
    let input = r#"{"apiKey":"APIexample","apiSecret":"example-secret-0123456789abcdefghij","now":1700000000,
        "specs":[{"id":"spec12","ttl":21600,"claims":{"sub":"alice","name":"Alice",
        "video":{"roomJoin":true,"room":"standup","canPublish":false}}}]}"#;
    let expected = [
        (
            Sdk::Node,
            "eyJhbGciOiJIUzI1NiJ9.eyJuYW1lIjoiQWxpY2UiLCJ2aWRlbyI6eyJyb29tSm9pbiI6dHJ1ZSwicm9vbSI6InN0YW5kdXAiLCJjYW5QdWJsaXNoIjpmYWxzZX0sImlzcyI6IkFQSWV4YW1wbGUiLCJleHAiOjE3MDAwMjE2MDAsIm5iZiI6MTcwMDAwMDAwMCwic3ViIjoiYWxpY2UifQ.3kk7FMJem3quqcjYqPsU6Ny80YA3BlYGIK0dhJFF74o",
        ),
        (
            Sdk::Python,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiQWxpY2UiLCJ2aWRlbyI6eyJyb29tSm9pbiI6dHJ1ZSwicm9vbSI6InN0YW5kdXAiLCJjYW5QdWJsaXNoIjpmYWxzZSwiY2FuU3Vic2NyaWJlIjp0cnVlLCJjYW5QdWJsaXNoRGF0YSI6dHJ1ZX0sInN1YiI6ImFsaWNlIiwiaXNzIjoiQVBJZXhhbXBsZSIsIm5iZiI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDIxNjAwfQ.rBNEvvCuGhUFeoja9qzRLntxgOVcmf9PuOpKYeaLgVE",
        ),
        (
            Sdk::Go,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJBUElleGFtcGxlIiwic3ViIjoiYWxpY2UiLCJleHAiOjE3MDAwMjE2MDAsIm5iZiI6MTcwMDAwMDAwMCwiaWF0IjoxNzAwMDAwMDAwLCJpZGVudGl0eSI6ImFsaWNlIiwibmFtZSI6IkFsaWNlIiwidmlkZW8iOnsicm9vbUpvaW4iOnRydWUsInJvb20iOiJzdGFuZHVwIiwiY2FuUHVibGlzaCI6ZmFsc2V9fQ.Dk_7RblLODcc1NhrDvuBFNxB1b_U1O2lnaN5mVGKDj0",
        ),
    ];
    for (sdk, token) in expected {
        let out = Helper::new(sdk, "mint").run_text(input.to_owned());
        assert_eq!(
            out[0]["token"],
            token,
            "{} mint of the alice/standup example input",
            sdk.name()
        );
        assert_eq!(out[0]["unsupported"], json!([]));
    }
}

/// The Node SDK mints every spec (what it can express); roomkey verifies each token and decodes
/// exactly the claims roomkey itself signs for that input, less `iat`/`identity` and what Node
/// cannot express, with roomConfig's default values normalised.
#[test]
fn node_minted_tokens_decode_like_roomkey_mints() {
    let specs = load_specs();
    let now = now_unix();
    let problems = check_script_minted(Sdk::Node, &specs, now, |spec, token, _, problems| {
        let payload = payload_json(token);
        if payload.get("iat").is_some() || payload.get("identity").is_some() {
            problems.push(format!(
                "{}: Node wrote iat or identity: {payload}",
                spec.id
            ));
        }
        // The same input means the same to the server, whoever minted it (nothing Node can
        // express is read differently).
        if let Ok(v) = verifier().verify_at(token, now) {
            let mut ours = server_meaning(&spec.roomkey_builder().claims_at(API_KEY, now));
            let mut theirs = server_meaning(&v.claims);
            for path in Sdk::Node.cannot_mint() {
                let prefix = format!("{path}.");
                ours.retain(|k, _| k != path && !k.starts_with(&prefix));
                theirs.retain(|k, _| k != path && !k.starts_with(&prefix));
            }
            problems.extend(meaning_problem(
                &spec.id,
                "Node's token means something else",
                &ours,
                &theirs,
                "",
            ));
        }
    });
    fail_if_any("Node-minted tokens", &problems);
}

/// The Python SDK mints every spec; roomkey verifies each token and decodes the expected
/// claims. The documented canPublishData hazard is asserted explicitly.
#[test]
fn python_minted_tokens_decode_to_expected_claims() {
    let specs = load_specs();
    let mut data_permission_differs = BTreeSet::new();
    let problems = check_script_minted(
        Sdk::Python,
        &specs,
        now_unix(),
        |spec, token, checked, problems| {
            // Python always writes `sub`, "" when there is no identity (its `to_jwt`).
            if payload_json(token).get("sub").is_none() {
                problems.push(format!("{}: Python wrote no sub", spec.id));
            }
            let Ok(got) = checked else { return };
            let ours = spec.claims();
            if let (Some(a), Some(b)) = (&ours.video, &got.video) {
                if a.effective_can_publish_data() != b.effective_can_publish_data() {
                    data_permission_differs.insert(spec.id.clone());
                    assert!(!a.effective_can_publish_data() && b.effective_can_publish_data());
                }
                // Every other effective permission is the same.
                assert_eq!(
                    a.effective_can_publish(),
                    b.effective_can_publish(),
                    "{}",
                    spec.id
                );
                assert_eq!(
                    a.effective_can_subscribe(),
                    b.effective_can_subscribe(),
                    "{}",
                    spec.id
                );
            }
        },
    );
    fail_if_any("Python-minted tokens", &problems);
    // Python writes canPublishData:true for those specs, so its participant may publish data
    // where roomkey's (and Go's, Node's, Rust 0.10's) may not.
    assert_python_hazard_is_exactly(&data_permission_differs, &specs);
}

/// The Rust SDK (`livekit-api` 0.10.0) mints every spec with its builder; roomkey verifies each
/// token and decodes the expected claims. livekit-token 0.3.0 made the tri-state permissions
/// `Option<bool>`, so Rust 0.6's hazard (always writing `canPublishData: true`) is gone:
/// asserted by exact equality.
#[test]
fn rust_sdk_minted_tokens_decode_to_expected_claims() {
    let specs = load_specs();
    let mut problems = Vec::new();
    for spec in &specs {
        let before = now_unix();
        let (token, unsupported) = rust_sdk_mint(spec);
        let after = now_unix();
        problems.extend(unsupported_problem(Sdk::Rust, spec, &unsupported));
        let payload = payload_json(&token);
        let nbf = payload["nbf"].as_i64().expect("nbf");
        let exp = payload["exp"].as_i64().expect("exp");
        let ttl = i64::try_from(spec.ttl).expect("ttl");
        // with_api_key reads the clock for nbf, with_ttl again for exp.
        if !(before..=after).contains(&nbf) || !(nbf + ttl..=after + ttl).contains(&exp) {
            problems.push(format!(
                "{}: nbf {nbf} / exp {exp} not around {before}..{after} + {ttl}",
                spec.id
            ));
            continue;
        }
        let expected = expected_minted_claims(Sdk::Rust, spec, nbf, exp);
        if let Err(e) = check_minted(Sdk::Rust, spec, &token, after, &expected) {
            problems.push(e);
        }
    }
    fail_if_any("Rust-SDK-minted tokens", &problems);
}

/// Go (`auth.AccessToken` of the pinned protocol) mints every spec; roomkey verifies each token
/// and decodes exactly the claims roomkey signs for that input — `iat` and the `identity` copy
/// included, since roomkey writes what Go writes — less what Go cannot express. The payloads
/// are equal as JSON (key order differs: roomkey writes the times before `sub`).
#[test]
fn go_minted_tokens_decode_like_roomkey_mints() {
    let specs = load_specs();
    let now = now_unix();
    let key = key();
    let problems = check_script_minted(Sdk::Go, &specs, now, |spec, token, _, problems| {
        let mut ours = payload_json(&spec.roomkey_token(now, &key));
        for path in Sdk::Go.cannot_mint() {
            remove_path(&mut ours, path);
        }
        let theirs = payload_json(token);
        if with_canonical_room_config(theirs.clone()) != with_canonical_room_config(ours.clone()) {
            problems.push(format!(
                "{}: Go's payload differs from roomkey's:\n  go:      {theirs}\n  roomkey: {ours}",
                spec.id
            ));
        }
    });
    fail_if_any("Go-minted tokens", &problems);

    // With no pinned clock the helper returns AccessToken.ToJWT's own token: iat = nbf = the
    // real time, exp = nbf + ttl.
    let before = now_unix();
    let live = script_mint(Sdk::Go, &specs[..2], None);
    let after = now_unix();
    for (spec, m) in specs.iter().zip(&live) {
        let p = payload_json(&m.token);
        let nbf = p["nbf"].as_i64().expect("nbf");
        assert!((before..=after).contains(&nbf), "{}: nbf {nbf}", spec.id);
        assert_eq!(p["iat"], nbf, "{}", spec.id);
        assert_eq!(
            p["exp"].as_i64(),
            Some(nbf + i64::try_from(spec.ttl).expect("ttl")),
            "{}",
            spec.id
        );
        let expected = expected_minted_claims(
            Sdk::Go,
            spec,
            nbf,
            nbf + i64::try_from(spec.ttl).expect("ttl"),
        );
        check_minted(Sdk::Go, spec, &m.token, after, &expected).unwrap_or_else(|e| panic!("{e}"));
    }
}
