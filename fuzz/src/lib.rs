//! The targets' bodies live next to the stable smoke harnesses that run them without cargo-fuzz
//! (`crates/roomkey-token/tests/fuzz_smoke.rs`, `crates/roomkey-server/tests/integration/
//! fuzz_smoke.rs`), so both always exercise the same code.

#[path = "../../crates/roomkey-token/tests/fuzz_targets/mod.rs"]
mod targets;

#[path = "../../crates/roomkey-server/tests/fuzz_targets/mod.rs"]
mod server_targets;

pub use server_targets::{config, headers, jwks, oidc, token_endpoint};
pub use targets::{HEADER_B64, KEY, NOW, SECRET, decode_claims, inspect, sign, verify, webhook};

/// Target `keys_file`, with `serde_yaml` as the YAML library it is compared with.
pub fn keys_file(data: &[u8]) {
    targets::keys_file(data, Some(yaml_pairs));
}

/// `serde_yaml`'s reading of a text, when it is a mapping of strings to strings (numbers,
/// booleans and nulls are typed in YAML, so there is nothing to compare them with).
fn yaml_pairs(text: &str) -> Option<Vec<(String, String)>> {
    let value: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    let mapping = value.as_mapping()?;
    mapping
        .iter()
        .map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
        .collect()
}
