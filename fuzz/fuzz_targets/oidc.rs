//! Any text → a session JWT from an identity provider, as given and re-signed (see the target
//! body).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| roomkey_token_fuzz::oidc(data));
