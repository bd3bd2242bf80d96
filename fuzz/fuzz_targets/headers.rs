//! Three lines → the `Authorization`, `X-Forwarded-For` and `Content-Type` of token and inspect
//! requests (see the target body).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| roomkey_token_fuzz::headers(data));
