//! Any text → `inspect::inspect`, with and without keys (see the target body).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| roomkey_token_fuzz::inspect(data));
