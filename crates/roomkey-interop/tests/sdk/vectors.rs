//! Committed vectors.

use super::*;

pub(crate) fn vector_file() -> PathBuf {
    repo_root().join(VECTOR_FILE)
}

/// Mints the vector specs with every SDK at the fixed times, checks each token in roomkey, and
/// returns the vector file's JSON.
pub(crate) fn generate_vectors(specs: &[Spec]) -> Value {
    let ttl = u64::try_from(VECTOR_EXP - VECTOR_NBF).expect("ttl");
    let chosen: Vec<Spec> = VECTOR_SPECS
        .iter()
        .map(|id| {
            specs
                .iter()
                .find(|s| s.id == *id)
                .unwrap_or_else(|| panic!("vector spec {id}"))
                .with_ttl(ttl)
        })
        .collect();
    let mut vectors = Vec::new();
    let mut problems = Vec::new();
    for sdk in Sdk::VECTOR_SDKS {
        let minted: Vec<(String, Vec<String>)> = match sdk {
            Sdk::Node | Sdk::Python => script_mint(sdk, &chosen, Some(VECTOR_NBF))
                .into_iter()
                .map(|m| (m.token, m.unsupported))
                .collect(),
            Sdk::Rust => chosen
                .iter()
                .map(|s| rust_sdk_mint_at(s, VECTOR_NBF, VECTOR_EXP))
                .collect(),
            Sdk::Go => unreachable!("Go is not in the committed vectors"),
        };
        for (spec, (token, mut unsupported)) in chosen.iter().zip(minted) {
            unsupported.sort();
            let expected = expected_minted_claims(sdk, spec, VECTOR_NBF, VECTOR_EXP);
            match check_minted(sdk, spec, &token, VECTOR_VERIFY_AT, &expected) {
                Ok(claims) => vectors.push(json!({
                    "sdk": sdk.name(),
                    "spec": spec.id,
                    "token": token,
                    "unsupported": unsupported,
                    "claims": claims,
                })),
                Err(e) => problems.push(e),
            }
        }
    }
    fail_if_any("vector generation", &problems);
    json!({
        "about": "LiveKit access tokens minted by the official SDKs at fixed times, for roomkey-token's tests (tests/sdk_vectors.rs). `claims` is what roomkey's Verifier must decode (roomkey's Claims serialization). `unsupported` lists spec claims the SDK cannot express, left out of its token. The specs are interop/specs.json.",
        "generator": "interop/gen-vectors.sh (ROOMKEY_REGEN_VECTORS=1 cargo test -p roomkey-interop --test sdk committed_vectors)",
        "sdks": {
            "node": Sdk::Node.package(),
            "python": Sdk::Python.package(),
            "rust": Sdk::Rust.package(),
        },
        "rustNote": "livekit-token has no clock injection: its builder mints the token, and the SDK's own Claims are re-signed at the fixed times exactly as AccessToken::to_jwt signs (jsonwebtoken::encode, Header::new(HS256)).",
        "apiKey": API_KEY,
        "apiSecret": API_SECRET,
        "nbf": VECTOR_NBF,
        "exp": VECTOR_EXP,
        "verifyAt": VECTOR_VERIFY_AT,
        "vectors": vectors,
    })
}

/// The committed vectors are what the pinned SDKs mint today (byte for byte for Node; Python
/// and Rust write map entries in random order, so their payloads are compared as JSON). With
/// `ROOMKEY_REGEN_VECTORS=1` the file is rewritten instead.
#[test]
fn committed_vectors_match_the_pinned_sdks() {
    let specs = load_specs();
    let fresh = generate_vectors(&specs);
    let path = vector_file();
    if std::env::var_os("ROOMKEY_REGEN_VECTORS").is_some_and(|v| v == "1") {
        let mut text = serde_json::to_string_pretty(&fresh).expect("vectors serialize");
        text.push('\n');
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write vectors");
        eprintln!(
            "wrote {} vectors to {}",
            fresh["vectors"].as_array().map_or(0, Vec::len),
            path.display()
        );
        return;
    }
    let hint = "run `interop/gen-vectors.sh` to regenerate them";
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; {hint}", path.display()));
    let committed: Value = serde_json::from_str(&text).expect("vector file is JSON");
    for field in ["sdks", "apiKey", "apiSecret", "nbf", "exp", "verifyAt"] {
        assert_eq!(
            committed[field], fresh[field],
            "vector file field {field} is stale; {hint}"
        );
    }
    let committed = committed["vectors"].as_array().expect("vectors");
    let fresh = fresh["vectors"].as_array().expect("vectors");
    assert_eq!(committed.len(), fresh.len(), "number of vectors; {hint}");
    assert!(fresh.len() >= 20);
    let mut problems = Vec::new();
    for (c, f) in committed.iter().zip(fresh) {
        let what = format!("{} {}", f["sdk"], f["spec"]);
        for field in ["sdk", "spec", "unsupported", "claims"] {
            if c[field] != f[field] {
                problems.push(format!(
                    "{what}: {field} differs:\ncommitted {}\nnow       {}",
                    c[field], f[field]
                ));
            }
        }
        let (ct, ft) = (
            c["token"].as_str().unwrap_or(""),
            f["token"].as_str().unwrap_or(""),
        );
        // Node's output is deterministic. Python (protobuf maps in MessageToDict) and Rust
        // (HashMap) write map entries in an order that changes from run to run, so for them the
        // header and the payload's JSON are compared, and the signature is checked by roomkey.
        let same = if f["sdk"] == "node" {
            ct == ft
        } else {
            ct.split('.').next() == ft.split('.').next() && payload_json(ct) == payload_json(ft)
        };
        if !same {
            problems.push(format!(
                "{what}: token differs:\ncommitted {ct}\nnow       {ft}"
            ));
        }
    }
    if !problems.is_empty() {
        problems.push(hint.to_owned());
    }
    fail_if_any("committed vectors are stale", &problems);
}
