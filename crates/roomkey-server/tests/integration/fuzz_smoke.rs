//! Stable-Rust smoke run of roomkey-server's fuzz targets (`fuzz/fuzz_targets/{config,
//! token_endpoint,headers,oidc,jwks}.rs`), as roomkey-token's `tests/fuzz_smoke.rs` runs its own: the very same
//! target functions (`tests/fuzz_targets/mod.rs`) over the committed corpus
//! (`fuzz/corpus/<target>/{seed,min}-*`) and over deterministic mutations of it
//! (`ROOMKEY_FUZZ_SMOKE_ITERS=N`), failing with each distinct failure and its first input.

#[path = "../../../roomkey-token/tests/fuzz_support/mod.rs"]
mod fuzz_support;
#[path = "../fuzz_targets/mod.rs"]
mod fuzz_targets;

use fuzz_support::smoke;

#[test]
fn config_target_smoke() {
    let extra = vec![
        fuzz_targets::endpoint_config().into_bytes(),
        super::common::base_config("").into_bytes(),
    ];
    smoke("config", fuzz_targets::config, extra, 0x5EED_0006, 3_000);
}

#[test]
fn token_endpoint_target_smoke() {
    smoke(
        "token_endpoint",
        fuzz_targets::token_endpoint,
        Vec::new(),
        0x5EED_0007,
        3_000,
    );
}

#[test]
fn headers_target_smoke() {
    let key = fuzz_targets::CALLER_KEY;
    let extra = [
        format!("Bearer {key}\n203.0.113.7\napplication/json"),
        format!("bearer  {key} \n10.0.0.1, [2001:db8::1]:4711\napplication/json; charset=utf-8"),
        format!("Basic {key}\n198.51.100.2:80\ntext/plain"),
        format!("Bearer {key}\nunknown\napplication/json"),
    ];
    smoke(
        "headers",
        fuzz_targets::headers,
        extra.into_iter().map(String::into_bytes).collect(),
        0x5EED_0008,
        3_000,
    );
}

#[test]
fn oidc_target_smoke() {
    // Each signed seed gets a token, and each header-and-payload seed gets one once signed.
    for seed in fuzz_targets::oidc_seeds() {
        assert_eq!(
            fuzz_targets::oidc_tokens_issued(&seed),
            1,
            "{}",
            String::from_utf8_lossy(&seed)
        );
    }
    // So does each committed session signed ahead (by openssl, `fuzz/corpus/oidc/seed-signed-*`).
    let committed = fuzz_support::corpus_dir("oidc");
    for entry in std::fs::read_dir(&committed).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("seed-signed-") {
            let issued = fuzz_targets::oidc_tokens_issued(&std::fs::read(&path).unwrap());
            assert_eq!(issued, 1, "{name}");
        }
    }
    let late = fuzz_targets::oidc_expired_within_leeway();
    assert_eq!(fuzz_targets::oidc_tokens_issued(&late), 0);
    let mut seeds = fuzz_targets::oidc_seeds();
    seeds.push(late);
    smoke(
        "oidc",
        fuzz_targets::oidc,
        seeds,
        0x5EED_0009,
        1_000, // (each runs two ES256 signatures and checks)
    );
}

#[test]
fn jwks_target_smoke() {
    let data = |name: &str| {
        std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    };
    let ec: serde_json::Value =
        serde_json::from_slice(&data("test-only-ec-p256.jwk.json")).unwrap();
    let rsa: serde_json::Value = serde_json::from_slice(&data("test-only-rsa-a.jwk.json")).unwrap();
    let documents = [
        serde_json::json!({"keys": [ec, rsa]}),
        serde_json::json!({"keys": [
            {"kid": "a", "kty": "oct", "k": "c2VjcmV0"}, rsa, {"kid": "enc", "use": "enc", "kty": "EC", "crv": "P-256"}
        ]}),
        serde_json::json!({"keys": [
            {"kid": "x", "alg": "RS512", "kty": "RSA", "n": "AQAB", "e": "AQAB"}, {"kid": "x", "kty": "EC", "crv": "P-384"}
        ]}),
    ];
    smoke(
        "jwks",
        fuzz_targets::jwks,
        documents
            .iter()
            .map(|d| d.to_string().into_bytes())
            .collect(),
        0x5EED_000A,
        3_000,
    );
}
