//! Arbitrary bytes → `Verifier::verify_at` (as given, and re-signed with the right key).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| roomkey_token_fuzz::verify(data));
