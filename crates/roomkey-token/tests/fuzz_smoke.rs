//! Stable-Rust smoke run of the fuzz targets (`fuzz/`, which needs nightly cargo-fuzz).
//!
//! Runs the very same target functions (`tests/fuzz_targets/mod.rs`) over the committed seed
//! corpus (`fuzz/corpus/*/seed-*`) and over a few thousand deterministic pseudo-random
//! mutations of it: bit flips, byte edits, insertions, deletions, duplications, splices,
//! dictionary tokens, type-swapping edits of one JSON node (an object becomes an array, a
//! number a string, …), and such edits under the base64 of a token's payload (which the
//! `verify` target then re-signs, so the mutation reaches the claims and time checks). A target
//! panics on a crash or a broken invariant; this test runs every input anyway and then fails
//! listing each distinct failure (by panic location) with the first input that caused it.
//!
//! `ROOMKEY_FUZZ_SMOKE_ITERS=N` changes the number of mutations per target (default 10 000).

mod fuzz_support;
mod fuzz_targets;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fuzz_support::*;
use roomkey_token::{
    AccessToken, ApiSecret, KeyPair, RoomAgentDispatch, RoomConfiguration, VideoGrant,
};

/// Seeds made here, so the run means something even without the committed corpus.
fn built_in_token_seeds() -> Vec<Vec<u8>> {
    let key = KeyPair::new(fuzz_targets::KEY, &ApiSecret::new(fuzz_targets::SECRET)).unwrap();
    let mut video = VideoGrant::join("standup");
    video.can_publish = Some(false);
    let mut config = RoomConfiguration::default();
    config.empty_timeout = 30;
    config.agents = vec![RoomAgentDispatch::new("triage", "{}")];
    let tokens = [
        AccessToken::new().with_identity("alice").with_video(video),
        AccessToken::new()
            .with_identity("bob")
            .with_attribute("k", "v")
            .with_room_config(config),
        AccessToken::new().with_sha256("CoEQz1chqJ9bnZRcORddjplkvpjmPujmLTR42DbefYI="),
    ];
    tokens
        .iter()
        .map(|t| t.sign_at(&key, fuzz_targets::NOW).unwrap().into_bytes())
        .collect()
}

#[test]
fn verify_target_smoke() {
    let mut seeds = load_seeds("verify");
    let committed = seeds.len();
    if corpus_dir("verify").exists() {
        assert!(
            committed >= 10,
            "only {committed} seeds in {}",
            corpus_dir("verify").display()
        );
    }
    seeds.extend(built_in_token_seeds());
    let json_seeds = load_seeds("decode_claims");
    let mut failures = Failures::default();
    for input in seeds.iter().chain(edge_inputs().iter()) {
        failures.run(fuzz_targets::verify, input);
    }
    let mut rng = Rng(0x5EED_0001);
    for _ in 0..iterations() {
        let seed = rng.pick(&seeds).clone();
        let input = if rng.below(2) == 0 {
            mutate_token_json(&mut rng, &seed, &json_seeds).unwrap_or(seed)
        } else {
            let mut data = seed;
            mutate(&mut rng, &mut data, &seeds);
            data
        };
        failures.run(fuzz_targets::verify, &input);
    }
    failures.assert_none("verify");
    let re_signed = fuzz_targets::RE_SIGNED.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        re_signed >= 10,
        "only {re_signed} accepted tokens were signed again and compared"
    );
}

#[test]
fn decode_claims_target_smoke() {
    let mut seeds = load_seeds("decode_claims");
    if corpus_dir("decode_claims").exists() {
        assert!(seeds.len() >= 10, "only {} seeds", seeds.len());
    }
    for token in built_in_token_seeds() {
        let text = String::from_utf8(token).unwrap();
        let payload = text.split('.').nth(1).unwrap();
        seeds.push(URL_SAFE_NO_PAD.decode(payload).unwrap());
    }
    let mut failures = Failures::default();
    for input in seeds.iter().chain(edge_inputs().iter()) {
        failures.run(fuzz_targets::decode_claims, input);
    }
    let mut rng = Rng(0x5EED_0002);
    for _ in 0..iterations() {
        let mut data = rng.pick(&seeds).clone();
        if rng.below(3) == 0 {
            data = mutate_json_value(&mut rng, &data).unwrap_or(data);
        } else {
            mutate(&mut rng, &mut data, &seeds);
        }
        failures.run(fuzz_targets::decode_claims, &data);
    }
    failures.assert_none("decode_claims");
}

/// The targets' own invariants hold on inputs where the answer is known.
#[test]
fn targets_accept_the_known_good_seeds() {
    let key = KeyPair::new(fuzz_targets::KEY, &ApiSecret::new(fuzz_targets::SECRET)).unwrap();
    let verifier = roomkey_token::Verifier::new(roomkey_token::KeySet::single(key));
    for seed in built_in_token_seeds() {
        let token = String::from_utf8(seed).unwrap();
        assert!(verifier.verify_at(&token, fuzz_targets::NOW).is_ok());
    }
    let good = std::fs::read_to_string(corpus_dir("verify").join("seed-go-join.jwt"));
    if let Ok(good) = good {
        assert!(
            verifier.verify_at(&good, fuzz_targets::NOW).is_ok(),
            "seed-go-join.jwt"
        );
    }
}

#[test]
fn webhook_target_smoke() {
    smoke(
        "webhook",
        fuzz_targets::webhook,
        Vec::new(),
        0x5EED_0003,
        10_000,
    );
}

#[test]
fn inspect_target_smoke() {
    let mut extra = built_in_token_seeds();
    extra.extend(load_seeds("verify"));
    smoke("inspect", fuzz_targets::inspect, extra, 0x5EED_0004, 10_000);
}

#[test]
fn keys_file_target_smoke() {
    // No YAML library here (it is a fuzz-only dependency): the parser's own properties only.
    smoke(
        "keys_file",
        |data| fuzz_targets::keys_file(data, None),
        Vec::new(),
        0x5EED_0005,
        10_000,
    );
}
