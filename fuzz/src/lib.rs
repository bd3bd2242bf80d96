//! The targets' bodies live next to the stable smoke harness that runs them without nightly
//! (`crates/roomkey-token/tests/fuzz_smoke.rs`), so both always exercise the same code.

#[path = "../../crates/roomkey-token/tests/fuzz_targets/mod.rs"]
mod targets;

pub use targets::{HEADER_B64, KEY, NOW, SECRET, decode_claims, sign, verify};
