//! Arbitrary bytes → `serde_json::from_slice::<Claims>` and `dangerous::decode_unverified`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| roomkey_token_fuzz::decode_claims(data));
