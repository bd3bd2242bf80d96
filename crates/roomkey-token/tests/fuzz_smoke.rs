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

mod fuzz_targets;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use roomkey_token::{
    AccessToken, ApiSecret, KeyPair, RoomAgentDispatch, RoomConfiguration, VideoGrant,
};
use serde_json::Value;

/// SplitMix64: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next() % n as u64).unwrap()
        }
    }
    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const INTERESTING: &[u8] = b".=\"{}[]:,\\ \n\t\0-_+/09Azu\x7f\x80\xc3\xff";

/// JSON and JWS fragments worth splicing in (the fuzz/dict files hold the same ideas).
const TOKENS: &[&str] = &[
    ".",
    "=",
    "eyJ",
    "null",
    "true",
    "false",
    "\"\"",
    "{}",
    "[]",
    "-1",
    "0.5",
    "1e400",
    "18446744073709551616",
    "\\u0000",
    "\\ud800",
    "\"iss\":",
    "\"exp\":",
    "\"nbf\":",
    "\"sub\":",
    "\"video\":",
    "\"sip\":",
    "\"roomConfig\":",
    "\"agents\":",
    "\"attributes\":",
    "\"kind\":",
    "\"kindDetails\":",
    "\"canPublish\":",
    "\"roomJoin\":",
    "\"emptyTimeout\":",
    "\"egress\":",
    "\"restartPolicy\":",
    "\"JRP_NEVER\"",
    "\"camera\"",
    "\"APIfuzz\"",
    "1700000000",
    "[[[[[[[[",
    "]]]]]]]]",
    "\"alg\":\"none\"",
    "\"crit\":[]",
];

/// One random edit of `data` (`others` is used for splicing).
fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, others: &[Vec<u8>]) {
    let len = data.len();
    match rng.below(10) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = rng.byte();
        }
        2 if len > 0 => {
            let i = rng.below(len);
            data[i] = *rng.pick(INTERESTING);
        }
        3 => {
            let i = rng.below(len + 1);
            let n = 1 + rng.below(4);
            let bytes: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
            data.splice(i..i, bytes);
        }
        4 if len > 0 => {
            let i = rng.below(len);
            let n = (1 + rng.below(8)).min(len - i);
            data.drain(i..i + n);
        }
        5 if len > 0 => {
            let i = rng.below(len);
            let n = (1 + rng.below(16)).min(len - i);
            let copy = data[i..i + n].to_vec();
            let at = rng.below(len + 1);
            data.splice(at..at, copy);
        }
        6 if !others.is_empty() => {
            // Crossover: our prefix, another input's suffix.
            let other = rng.pick(others);
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        7 => {
            let i = rng.below(len + 1);
            let t = rng.pick(TOKENS).as_bytes().to_vec();
            data.splice(i..i, t);
        }
        8 if len > 0 => data.truncate(rng.below(len)),
        _ => {
            let i = rng.below(len + 1);
            data.insert(i, *rng.pick(INTERESTING));
        }
    }
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>, others: &[Vec<u8>]) {
    for _ in 0..1 + rng.below(4) {
        mutate_once(rng, data, others);
    }
}

/// A structure-aware edit: parse `data` as JSON, replace one node (chosen uniformly) by a value
/// of another type (an object by the array of its values, a scalar by a string, a number, a
/// bool, null, or the node wrapped in an array or object), and serialize again.
fn mutate_json_value(rng: &mut Rng, data: &[u8]) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(data).ok()?;
    let count = count_nodes(&value);
    let mut target = rng.below(count);
    let choice = rng.below(8);
    let number = *rng.pick(&[
        "0",
        "-1",
        "1.5",
        "18446744073709551615",
        "-9223372036854775808",
        "4294967296",
        "1e300",
    ]);
    let text = *rng.pick(&[
        "",
        "camera",
        "JRP_NEVER",
        "\u{0}",
        "é",
        "APIfuzz",
        "1700000000",
    ]);
    replace_node(&mut value, &mut target, &|old: &Value| match choice {
        0 => match old {
            Value::Object(m) => Value::Array(m.values().cloned().collect()),
            Value::Array(a) => Value::Object(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| (i.to_string(), v.clone()))
                    .collect(),
            ),
            _ => Value::Null,
        },
        1 => Value::String(old.to_string()),
        2 => serde_json::from_str(number).unwrap(),
        3 => Value::Bool(old.is_null()),
        4 => Value::Null,
        5 => Value::Array(vec![old.clone()]),
        6 => serde_json::json!({ "x": old }),
        _ => Value::String(text.to_owned()),
    });
    serde_json::to_vec(&value).ok()
}

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        Value::Object(m) => m.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Replaces the `target`-th node in pre-order (the root is never replaced, so that a payload
/// stays an object).
fn replace_node(v: &mut Value, target: &mut usize, with: &dyn Fn(&Value) -> Value) -> bool {
    let children: Vec<&mut Value> = match v {
        Value::Array(a) => a.iter_mut().collect(),
        Value::Object(m) => m.values_mut().collect(),
        _ => return false,
    };
    for child in children {
        if *target == 0 {
            *child = with(child);
            return true;
        }
        *target -= 1;
        if replace_node(child, target, with) {
            return true;
        }
    }
    false
}

/// For a token: mutate the JSON under the payload's (or header's) base64, then re-encode. The
/// `verify` target re-signs whatever precedes the last dot, so the edit gets past the MAC.
fn mutate_token_json(rng: &mut Rng, token: &[u8], json_seeds: &[Vec<u8>]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(token).ok()?;
    let mut parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 3 {
        return None;
    }
    let which = if rng.below(4) == 0 { 0 } else { 1 };
    let mut json = URL_SAFE_NO_PAD.decode(parts[which]).ok()?;
    match rng.below(3) {
        0 => json = mutate_json_value(rng, &json).unwrap_or(json),
        _ => mutate(rng, &mut json, json_seeds),
    }
    let encoded = URL_SAFE_NO_PAD.encode(&json);
    parts[which] = &encoded;
    Some(parts.join(".").into_bytes())
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

/// The committed seeds (`seed-*`), or none when the fuzz directory is absent (a packaged crate).
fn load_seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = corpus_dir(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seed-"))
        })
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

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

fn iterations() -> usize {
    std::env::var("ROOMKEY_FUZZ_SMOKE_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

thread_local! {
    /// Set while a target runs: its panics are recorded here instead of printed.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let location = info
                    .location()
                    .map_or_else(String::new, |l| format!("{}:{}", l.file(), l.line()));
                let message = info
                    .payload()
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| {
                        info.payload()
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                    })
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some((location, message)));
            } else {
                default(info);
            }
        }));
    });
}

/// Distinct failures (by panic location), each with the first input that caused it.
#[derive(Default)]
struct Failures {
    by_location: BTreeMap<String, (String, Vec<u8>, usize)>,
}

impl Failures {
    /// Runs `target` on `input`, recording a panic instead of propagating it.
    fn run(&mut self, target: fn(&[u8]), input: &[u8]) {
        install_quiet_hook();
        QUIET.with(|q| q.set(true));
        let outcome = catch_unwind(AssertUnwindSafe(|| target(input)));
        QUIET.with(|q| q.set(false));
        if outcome.is_err() {
            let (location, message) = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_default();
            let entry = self
                .by_location
                .entry(location)
                .or_insert_with(|| (message, input.to_vec(), 0));
            entry.2 += 1;
        }
    }

    /// Fails the test listing every distinct failure with a reproducer.
    fn assert_none(&self, name: &str) {
        if self.by_location.is_empty() {
            return;
        }
        let mut report = format!(
            "fuzz target {name}: {} distinct failure(s)\n",
            self.by_location.len()
        );
        for (location, (message, input, count)) in &self.by_location {
            let message: String = message.chars().take(400).collect();
            report.push_str(&format!(
                "\n- at {location} ({count} inputs): {message}\n  first input (as text): {:?}\n",
                String::from_utf8_lossy(input)
            ));
        }
        panic!("{report}");
    }
}

fn edge_inputs() -> Vec<Vec<u8>> {
    vec![
        Vec::new(),
        b".".to_vec(),
        b"..".to_vec(),
        b"...".to_vec(),
        b"\0".to_vec(),
        vec![0xff; 64],
        b"{}".to_vec(),
        b"[".repeat(10_000),
        b"{\"a\":".repeat(1000),
        "A".repeat(100_000).into_bytes(),
    ]
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
