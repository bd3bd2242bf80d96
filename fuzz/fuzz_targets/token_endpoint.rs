//! Any bytes as the JSON body of both token endpoints of a restrictive profile.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| roomkey_token_fuzz::token_endpoint(data));
