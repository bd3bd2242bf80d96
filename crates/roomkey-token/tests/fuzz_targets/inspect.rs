//! Target `inspect`: `inspect::inspect` on any text, as given and re-signed with the right key
//! (everything before the last `.` gets a correct HS256 tag), without keys and with them.
//! Properties: it never panics; `to_json()` always has its 8 keys; every finding has a
//! non-empty message and hint; without keys the signature is never `valid`; with keys it is
//! `valid` whenever `Verifier` (with a leeway that forgives any time) accepts the token, and
//! only when the tag is the HS256 of the first two parts under the secret of the token's `iss`.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use roomkey_token::inspect::{InspectOptions, Signature, inspect as inspect_token};
use roomkey_token::{Verifier, VerifyError};
use serde_json::Value;

use super::{KEY, NOW, SECRET, keys, sign};

const JSON_KEYS: [&str; 8] = [
    "findings",
    "header",
    "permissions",
    "claims",
    "server",
    "signature",
    "size",
    "times",
];

pub fn inspect(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check(&text);
    if let Some(dot) = text.rfind('.') {
        let input = &text[..dot];
        check(&format!("{input}.{}", sign(input.trim_start())));
    }
}

fn check(token: &str) {
    let options = InspectOptions::at(NOW);
    let unchecked = inspect_token(token, None, options);
    assert_ne!(unchecked.signature, Signature::Valid, "valid without keys");
    judge(&unchecked);

    let checked = inspect_token(token, Some(keys()), options);
    judge(&checked);
    let bare = token.trim();
    let bare = bare.strip_prefix("Bearer ").unwrap_or(bare).trim();
    let verifier = Verifier::new(keys().clone()).with_leeway(Duration::from_secs(u64::MAX));
    let verified = verifier.verify_at(bare, 0);
    if matches!(verified, Ok(_) | Err(VerifyError::MissingExpiry)) {
        assert_eq!(
            checked.signature,
            Signature::Valid,
            "the verifier accepts the tag, inspect says {:?}",
            checked.signature
        );
    }
    if checked.signature == Signature::Valid {
        assert!(tag_matches(bare), "inspect says valid, the tag is wrong");
    }
}

fn judge(inspection: &roomkey_token::inspect::Inspection) {
    let json = inspection.to_json();
    let object = json.as_object().expect("to_json is an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = JSON_KEYS;
    want.sort_unstable();
    assert_eq!(keys, want, "to_json keys");
    for finding in &inspection.findings {
        assert!(
            !finding.message.trim().is_empty(),
            "empty message: {finding:?}"
        );
        assert!(!finding.hint.trim().is_empty(), "empty hint: {finding:?}");
    }
    assert_eq!(
        object["findings"].as_array().map(Vec::len),
        Some(inspection.findings.len())
    );
}

/// HS256 of the first two parts under the secret of `iss`, checked here from scratch.
fn tag_matches(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    let [_, payload, tag] = parts[..] else {
        return false;
    };
    let iss = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()
        .and_then(|p| serde_json::from_slice::<Value>(&p).ok())
        .and_then(|p| p.get("iss").and_then(Value::as_str).map(str::to_owned));
    if iss.as_deref() != Some(KEY) {
        return false;
    }
    let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("any length");
    mac.update(&token.as_bytes()[..token.rfind('.').expect("dots")]);
    mac.verify_slice(&tag).is_ok()
}
