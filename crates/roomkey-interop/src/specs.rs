//! `interop/specs.json`: the token specs every reference mints and verifies.

use serde_json::Value;

use crate::paths::interop_dir;

/// One spec: claims in roomkey's (Go's) JSON form, without `iss`/`exp`/`nbf`/`iat`, and a TTL.
#[derive(Debug, Clone)]
pub struct SpecEntry {
    /// A name that says what the spec covers.
    pub id: String,
    /// Seconds from `nbf` to `exp`.
    pub ttl: u64,
    /// The claims.
    pub claims: Value,
}

impl SpecEntry {
    /// The value at a dotted path of the claims (`video.roomJoin`).
    pub fn get(&self, path: &str) -> Option<&Value> {
        path.split('.')
            .try_fold(&self.claims, |v, part| v.get(part))
    }
}

/// Reads every spec of `interop/specs.json`.
pub fn load() -> Vec<SpecEntry> {
    let path = interop_dir().join("specs.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let raw: Vec<Value> = serde_json::from_str(&text).expect("specs.json is a JSON array");
    raw.into_iter()
        .map(|s| SpecEntry {
            id: s["id"].as_str().expect("spec id").to_owned(),
            ttl: s["ttl"].as_u64().expect("spec ttl"),
            claims: s["claims"].clone(),
        })
        .collect()
}
