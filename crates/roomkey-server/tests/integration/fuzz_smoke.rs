//! Stable-Rust smoke run of roomkey-server's fuzz targets (`fuzz/fuzz_targets/{config,
//! token_endpoint}.rs`), as roomkey-token's `tests/fuzz_smoke.rs` runs its own: the very same
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
