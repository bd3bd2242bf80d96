//! roomkey's tokens in every SDK's verifier, and its refusals in theirs.

use super::*;

/// roomkey mints every spec; the Node, Python, Rust and Go verifiers accept every token, and
/// each one's decoded claims mean what the spec means for every field that SDK models. Go's
/// `ClaimGrants`, written back as protocol's JSON, is roomkey's payload less the registered
/// claims and what Go has no field for.
#[test]
fn roomkey_tokens_verify_in_every_sdk() {
    let specs = load_specs();
    let now = now_unix();
    let key = key();
    let tokens: Vec<(String, String)> = specs
        .iter()
        .map(|s| (s.id.clone(), s.roomkey_token(now, &key)))
        .collect();
    let verdicts = ScriptVerdicts::of(&tokens);
    let rust = lk::TokenVerifier::with_api_key(API_KEY, API_SECRET);

    let mut problems = Vec::new();
    let mut python_reads_data_true = BTreeSet::new();
    for ((spec, (_, token)), (node, python, go)) in
        specs.iter().zip(&tokens).zip(verdicts.per_token())
    {
        let ours = verifier()
            .verify_at(token, now)
            .unwrap_or_else(|e| panic!("{}: roomkey rejects its own token: {e}", spec.id));
        let payload: Value = serde_json::from_str(ours.payload()).expect("payload JSON");
        let meaning = |sdk| expected_decoded_meaning(sdk, &ours.claims);

        // Node: TokenVerifier returns the raw payload, which must be ours exactly.
        match node {
            Ok(got) if got == payload => {}
            Ok(got) => problems.push(format!(
                "{}: Node's payload differs from roomkey's:\n{got}\n{payload}",
                spec.id
            )),
            Err(e) => problems.push(format!("{}: Node TokenVerifier rejects it: {e}", spec.id)),
        }

        // Python: its Claims dataclass, read with Python's own defaults.
        match python {
            Ok(got) => {
                let mut expected = meaning(Sdk::Python);
                // Python's decoder (access_token.py) fills an absent canPublishData with True,
                // where the server uses canPublish.
                let video = ours.claims.video.clone().unwrap_or_default();
                if video.can_publish_data.is_none() {
                    if expected["video.canPublishData"] == false {
                        python_reads_data_true.insert(spec.id.clone());
                    }
                    expected.insert("video.canPublishData".into(), json!(true));
                }
                problems.extend(meaning_problem(
                    &spec.id,
                    "Python reads a different meaning",
                    &expected,
                    &python_meaning(&got),
                    &format!("\n  python claims: {got}"),
                ));
            }
            Err(e) => problems.push(format!("{}: Python TokenVerifier rejects it: {e}", spec.id)),
        }

        // Rust: livekit_api::access_token::TokenVerifier, read through its getters.
        match rust.verify(token) {
            Ok(got) => {
                problems.extend(meaning_problem(
                    &spec.id,
                    "the Rust SDK reads a different meaning",
                    &meaning(Sdk::Rust),
                    &rust_sdk_meaning(&got),
                    "",
                ));
                if got.iss != API_KEY
                    || Some(i64::try_from(got.exp).expect("exp")) != ours.claims.exp
                    || Some(i64::try_from(got.nbf).expect("nbf")) != ours.claims.nbf
                {
                    problems.push(format!("{}: the Rust SDK reads other iss/exp/nbf", spec.id));
                }
            }
            Err(e) => problems.push(format!(
                "{}: the Rust SDK's TokenVerifier rejects it: {e}",
                spec.id
            )),
        }

        // Go: ParseAPIToken + Verify, the server's own path. Its reading is the server's, so
        // the meaning must be the same with no exception.
        match go {
            Ok(got) => {
                problems.extend(meaning_problem(
                    &spec.id,
                    "Go reads a different meaning",
                    &meaning(Sdk::Go),
                    &go_meaning(&got),
                    &format!("\n  go: {got}"),
                ));
                let mut want = payload.clone();
                for path in ["iss", "sub", "exp", "nbf", "iat"]
                    .iter()
                    .chain(Sdk::Go.cannot_mint())
                {
                    remove_path(&mut want, path);
                }
                if with_canonical_room_config(got["claims"].clone())
                    != with_canonical_room_config(want.clone())
                {
                    problems.push(format!(
                        "{}: Go's ClaimGrants differ from roomkey's claims:\n  go:      {}\n  roomkey: {want}",
                        spec.id, got["claims"]
                    ));
                }
                let mut registered = json!({
                    "iss": API_KEY, "sub": ours.claims.sub,
                    "exp": ours.claims.exp, "nbf": ours.claims.nbf, "iat": ours.claims.iat,
                });
                if ours.claims.sub.is_empty() {
                    // golang-jwt omits an empty sub (omitempty), as roomkey does.
                    remove_path(&mut registered, "sub");
                }
                if got["registered"] != registered {
                    problems.push(format!(
                        "{}: Go reads the registered claims {}, expected {registered}",
                        spec.id, got["registered"]
                    ));
                }
            }
            Err(e) => problems.push(format!("{}: Go's Verify rejects it: {e}", spec.id)),
        }
    }
    fail_if_any("roomkey tokens in the SDK verifiers", &problems);
    // Python reads those tokens as "may publish data".
    assert_python_hazard_is_exactly(&python_reads_data_true, &specs);
}

/// A token signed with the wrong secret, an expired one and a not-yet-valid one are rejected
/// by all four SDK verifiers (and by roomkey), for the right reason; a good one is accepted.
#[test]
fn sdk_verifiers_reject_wrong_secret_and_expired() {
    let specs = load_specs();
    let spec = specs
        .iter()
        .find(|s| s.id == "spec12-alice-viewer")
        .expect("spec12 spec");
    let now = now_unix();
    let wrong = KeyPair::new(API_KEY, &ApiSecret::new(WRONG_SECRET)).expect("key");
    let hour = spec.with_ttl(3600);
    let cases: Vec<(&str, String)> = vec![
        ("good", spec.roomkey_token(now, &key())),
        ("wrong-secret", spec.roomkey_token(now, &wrong)),
        ("expired", hour.roomkey_token(now - 7200, &key())),
        ("not-yet-valid", hour.roomkey_token(now + 3600, &key())),
    ];
    let verdicts = ScriptVerdicts::of(&cases);
    let rust = lk::TokenVerifier::with_api_key(API_KEY, API_SECRET);

    // (case, roomkey error, Node error code, Python exception, jsonwebtoken error kind,
    //  golang-jwt sentinel that Go's Verify wraps)
    type Want = Option<&'static str>;
    let expect: [(&str, Want, Want, Want, Want, Want); 4] = [
        ("good", None, None, None, None, None),
        (
            "wrong-secret",
            Some("BadSignature"),
            Some("ERR_JWS_SIGNATURE_VERIFICATION_FAILED"),
            Some("InvalidSignatureError"),
            Some("InvalidSignature"),
            Some("ErrTokenSignatureInvalid"),
        ),
        (
            "expired",
            Some("Expired"),
            Some("ERR_JWT_EXPIRED"),
            Some("ExpiredSignatureError"),
            Some("ExpiredSignature"),
            Some("ErrTokenExpired"),
        ),
        (
            "not-yet-valid",
            Some("NotYetValid"),
            Some("ERR_JWT_CLAIM_VALIDATION_FAILED"),
            Some("ImmatureSignatureError"),
            Some("ImmatureSignature"),
            Some("ErrTokenNotValidYet"),
        ),
    ];
    let mut problems = Vec::new();
    for (i, (case, rk, node_err, py_err, rust_err, go_err)) in expect.iter().enumerate() {
        let token = &cases[i].1;
        let check =
            |who: &str, result: Result<(), String>, want: &Option<&str>| match (result, want) {
                (Ok(()), None) => None,
                (Err(e), Some(w)) if e.contains(w) => None,
                (Ok(()), Some(w)) => Some(format!("{case}: {who} accepts it (wanted {w})")),
                (Err(e), want) => Some(format!("{case}: {who} says {e:?}, wanted {want:?}")),
            };
        let roomkey = verifier()
            .verify_at(token, now)
            .map(|_| ())
            .map_err(|e: VerifyError| format!("{e:?}"));
        let rust_result = rust.verify(token).map(|_| ()).map_err(|e| match e {
            lk::AccessTokenError::Encoding(e) => format!("{:?}", e.kind()),
            other => format!("{other:?}"),
        });
        problems.extend(
            [
                check("roomkey", roomkey, rk),
                check("Node", verdicts.node[i].clone().map(|_| ()), node_err),
                check("Python", verdicts.python[i].clone().map(|_| ()), py_err),
                check("Rust SDK", rust_result, rust_err),
                check("Go", verdicts.go[i].clone().map(|_| ()), go_err),
            ]
            .into_iter()
            .flatten(),
        );
    }
    fail_if_any("negative interop", &problems);
}
