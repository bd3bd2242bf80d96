//! Expected claims of SDK-minted tokens.

use super::*;

/// The claims a token minted by `sdk` for `spec` must decode to in roomkey: roomkey's own claims
/// for the spec (`claims_at`), with only the documented, meaning-preserving differences
/// applied, and the SDK's documented meaning changes made explicit:
/// - no SDK but Go writes `iat` or Go's `identity` copy (auth/accesstoken.go; both are
///   ignored by verifiers);
/// - claims the SDK cannot express are left out;
/// - Rust: a grant object with nothing set is not written at all (`skip_serializing_if`), which
///   grants the same as an empty one;
/// - Python: `VideoGrants` always writes `canPublish`, `canSubscribe` and `canPublishData`,
///   defaulting to true — for `canPublishData` this **changes the meaning** when
///   canPublish is false ([`python_hazard_specs`]).
pub(crate) const GRANT_CLAIMS: &[&str] = &[
    "video",
    "sip",
    "agent",
    "agentEndpoint",
    "agentThread",
    "inference",
    "observability",
];

pub(crate) fn expected_minted_claims(sdk: Sdk, spec: &Spec, nbf: i64, exp: i64) -> Claims {
    let ttl = u64::try_from(exp - nbf).expect("exp after nbf");
    let ours = AccessToken::from_claims(spec.claims())
        .with_ttl(Duration::from_secs(ttl))
        .claims_at(API_KEY, nbf);
    let mut v = serde_json::to_value(&ours).expect("claims serialize");
    if sdk != Sdk::Go {
        remove_path(&mut v, "iat");
        remove_path(&mut v, "identity");
    }
    for path in sdk.cannot_mint() {
        remove_path(&mut v, path);
    }
    if sdk == Sdk::Rust {
        let obj = v.as_object_mut().expect("object");
        for grant in GRANT_CLAIMS {
            if obj
                .get(*grant)
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
            {
                obj.remove(*grant);
            }
        }
    }
    let mut c: Claims = serde_json::from_value(v).expect("expected claims parse");
    if sdk == Sdk::Python {
        if let Some(video) = c.video.as_mut() {
            video.can_publish.get_or_insert(true);
            video.can_subscribe.get_or_insert(true);
            video.can_publish_data.get_or_insert(true);
        }
    }
    normalize_egress(&mut c);
    c
}

/// Specs where the Python SDK, given the same input, writes a token with a different effective
/// canPublishData than roomkey (and Go, Node, Rust 0.10): canPublish false, canPublishData unset.
/// Python's VideoGrants defaults can_publish_data to True and writes it, where the server would
/// take canPublish's value for an absent one (auth/grants.go `GetCanPublishData`).
pub(crate) fn python_hazard_specs(specs: &[Spec]) -> BTreeSet<String> {
    specs
        .iter()
        .filter(|s| {
            s.claims()
                .video
                .is_some_and(|v| v.can_publish == Some(false) && v.can_publish_data.is_none())
        })
        .map(|s| s.id.clone())
        .collect()
}

/// Asserts the documented Python canPublishData hazard rather than hiding it: the specs where
/// Python's reading or writing of canPublishData differs (`found`) are exactly those with
/// canPublish false and canPublishData unset, the worked example among them.
#[track_caller]
pub(crate) fn assert_python_hazard_is_exactly(found: &BTreeSet<String>, specs: &[Spec]) {
    assert_eq!(found, &python_hazard_specs(specs));
    assert!(found.contains("spec12-alice-viewer"));
}

/// The claim paths of `spec` that `sdk` cannot mint.
pub(crate) fn expected_unsupported(sdk: Sdk, spec: &Spec) -> Vec<String> {
    let mut v: Vec<String> = sdk
        .cannot_mint()
        .iter()
        .filter(|p| spec.has(p))
        .map(|p| (*p).to_owned())
        .collect();
    v.sort();
    v
}

pub(crate) fn claims_json(c: &Claims) -> String {
    serde_json::to_string_pretty(c).expect("claims serialize")
}

/// Checks one SDK-minted token in roomkey: header, verification, claims. Returns the decoded
/// claims, or the problems found.
pub(crate) fn check_minted(
    sdk: Sdk,
    spec: &Spec,
    token: &str,
    verify_at: i64,
    expected: &Claims,
) -> Result<Claims, String> {
    let header = token.split('.').next().unwrap_or_default();
    if header != sdk.header() {
        return Err(format!(
            "{}: header {header} is not the {} header {}",
            spec.id,
            sdk.name(),
            sdk.header()
        ));
    }
    let verified = verifier()
        .verify_at(token, verify_at)
        .map_err(|e| format!("{}: roomkey rejects the {} token: {e}", spec.id, sdk.name()))?;
    let mut got = verified.claims.clone();
    normalize_egress(&mut got);
    if &got != expected {
        return Err(format!(
            "{}: {} token decodes to\n{}\nexpected\n{}\npayload: {}",
            spec.id,
            sdk.name(),
            claims_json(&got),
            claims_json(expected),
            verified.payload()
        ));
    }
    Ok(verified.claims)
}

pub(crate) fn fail_if_any(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s):\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// A problem when `sdk` says it could not express other claims of `spec` than the ones it cannot.
pub(crate) fn unsupported_problem(sdk: Sdk, spec: &Spec, said: &[String]) -> Option<String> {
    let mut said = said.to_vec();
    said.sort();
    let want = expected_unsupported(sdk, spec);
    (said != want).then(|| {
        format!(
            "{}: {} says it cannot express {said:?}, expected {want:?}",
            spec.id,
            sdk.name()
        )
    })
}

/// Mints every spec with `sdk`'s mint helper (Node, Python or Go), its clock pinned to `now`,
/// and checks each token as every SDK's is checked: the claims the helper could not express,
/// and [`check_minted`] against [`expected_minted_claims`]. Then `more` adds what is particular
/// to the SDK, given the spec, its token and [`check_minted`]'s outcome. Returns the problems.
pub(crate) fn check_script_minted(
    sdk: Sdk,
    specs: &[Spec],
    now: i64,
    mut more: impl FnMut(&Spec, &str, Result<Claims, String>, &mut Vec<String>),
) -> Vec<String> {
    let minted = script_mint(sdk, specs, Some(now));
    let mut problems = Vec::new();
    for (spec, m) in specs.iter().zip(&minted) {
        problems.extend(unsupported_problem(sdk, spec, &m.unsupported));
        let ttl = i64::try_from(spec.ttl).expect("ttl");
        let expected = expected_minted_claims(sdk, spec, now, now + ttl);
        let checked = check_minted(sdk, spec, &m.token, now, &expected);
        if let Err(e) = &checked {
            problems.push(e.clone());
        }
        more(spec, &m.token, checked, &mut problems);
    }
    problems
}
