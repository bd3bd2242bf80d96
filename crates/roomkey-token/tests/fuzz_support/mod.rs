//! What the stable smoke runs of the fuzz targets share (`tests/fuzz_smoke.rs` here, and
//! `roomkey-server`'s `tests/integration/fuzz_smoke.rs`, which includes this file): a small
//! deterministic mutator, the committed corpus, and a collector of failures by panic location.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// SplitMix64: small, deterministic, good enough to pick mutations.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next() % n as u64).unwrap()
        }
    }
    pub fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub const INTERESTING: &[u8] = b".=\"{}[]:,\\ \n\t\0-_+/09Azu\x7f\x80\xc3\xff";

/// JSON and JWS fragments worth splicing in (the fuzz/dict files hold the same ideas).
pub const TOKENS: &[&str] = &[
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
pub fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, others: &[Vec<u8>]) {
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

pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, others: &[Vec<u8>]) {
    for _ in 0..1 + rng.below(4) {
        mutate_once(rng, data, others);
    }
}

/// A structure-aware edit: parse `data` as JSON, replace one node (chosen uniformly) by a value
/// of another type (an object by the array of its values, a scalar by a string, a number, a
/// bool, null, or the node wrapped in an array or object), and serialize again.
pub fn mutate_json_value(rng: &mut Rng, data: &[u8]) -> Option<Vec<u8>> {
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

pub fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        Value::Object(m) => m.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Replaces the `target`-th node in pre-order (the root is never replaced, so that a payload
/// stays an object).
pub fn replace_node(v: &mut Value, target: &mut usize, with: &dyn Fn(&Value) -> Value) -> bool {
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
pub fn mutate_token_json(rng: &mut Rng, token: &[u8], json_seeds: &[Vec<u8>]) -> Option<Vec<u8>> {
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

pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

/// The committed corpus: the hand-made seeds (`seed-*`) and the inputs `scripts/fuzz` kept after
/// minimising a run (`min-*`); none when the fuzz directory is absent (a packaged crate). Other
/// files there are what a local `cargo fuzz run` added, not committed.
pub fn load_seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = corpus_dir(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seed-") || n.starts_with("min-"))
        })
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

pub fn iterations() -> usize {
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

pub fn install_quiet_hook() {
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
pub struct Failures {
    by_location: BTreeMap<String, (String, Vec<u8>, usize)>,
}

impl Failures {
    /// Runs `target` on `input`, recording a panic instead of propagating it.
    pub fn run(&mut self, target: fn(&[u8]), input: &[u8]) {
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
    pub fn assert_none(&self, name: &str) {
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

pub fn edge_inputs() -> Vec<Vec<u8>> {
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

/// The smoke run of one target: every committed input of `fuzz/corpus/<name>/`, `extra` seeds,
/// the edge inputs, then [`iterations`] (at most `max_iters`) mutations of them (byte edits,
/// splices, and type-swapping edits of the JSON ones); fails listing each distinct failure.
pub fn smoke(name: &str, target: fn(&[u8]), extra: Vec<Vec<u8>>, rng_seed: u64, max_iters: usize) {
    let mut seeds = load_seeds(name);
    if corpus_dir(name).exists() {
        assert!(
            !seeds.is_empty(),
            "no seeds in {}",
            corpus_dir(name).display()
        );
    }
    seeds.extend(extra);
    let mut failures = Failures::default();
    for input in seeds.iter().chain(edge_inputs().iter()) {
        failures.run(target, input);
    }
    if seeds.is_empty() {
        seeds.push(Vec::new());
    }
    let mut rng = Rng(rng_seed);
    for _ in 0..iterations().min(max_iters) {
        let mut data = rng.pick(&seeds).clone();
        if rng.below(3) == 0 {
            data = mutate_json_value(&mut rng, &data).unwrap_or(data);
        } else {
            mutate(&mut rng, &mut data, &seeds);
        }
        failures.run(target, &data);
    }
    failures.assert_none(name);
}
