//! Any text → `roomkey_server::Config::parse`, and again after a TOML round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| roomkey_token_fuzz::config(data));
