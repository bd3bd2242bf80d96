//! Any text → `KeySet::parse`, compared with `serde_yaml` where both accept.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| roomkey_token_fuzz::keys_file(data));
