//! `AUTHORIZATION` newline `BODY` → `webhook::verify_webhook` against an independent oracle of the receiver rules.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| roomkey_token_fuzz::webhook(data));
