//! Any bytes → an identity provider's key set, read as a downloaded one (see the target body).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| roomkey_token_fuzz::jwks(data));
