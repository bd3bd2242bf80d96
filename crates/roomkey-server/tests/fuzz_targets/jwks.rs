//! Target `jwks`: the input as an identity provider's key set (a JWKS document), read as the
//! server reads a downloaded one. Properties:
//! - a document is refused exactly when it is not a JSON object with a `keys` array;
//! - every key kept is a signing key of a kind the server can check, as read here from the
//!   document: `kty` `RSA` for RS256, or `EC` on `crv` `P-256` for ES256; `use`, if any, is
//!   `sig`; `alg`, if any, is that algorithm; and its `kid` is the key's (or empty);
//! - keys are read one by one: the keys kept are exactly those each key's own one-key document
//!   keeps (a later key of the same `kid` replaces an earlier one), so one unreadable key never
//!   costs the others.

use roomkey_server::fuzz_hooks::jwks_usable_keys;
use serde_json::{Value, json};

pub fn jwks(data: &[u8]) {
    let kept = jwks_usable_keys(data);
    let document: Option<Value> = serde_json::from_slice(data).ok();
    let keys = document
        .as_ref()
        .and_then(|d| d.as_object())
        .and_then(|d| d.get("keys"))
        .and_then(Value::as_array);
    let (kept, keys) = match (kept, keys) {
        (Ok(kept), Some(keys)) => (kept, keys),
        (Err(_), None) => return,
        (Ok(_), None) => panic!("accepted a document without a keys array"),
        (Err(e), Some(_)) => panic!("refused a document with a keys array: {e}"),
    };

    let mut one_by_one: Vec<(String, String)> = Vec::new();
    for key in keys {
        let alone = jwks_usable_keys(json!({ "keys": [key] }).to_string().as_bytes())
            .expect("a one-key document is a JWKS");
        assert!(alone.len() <= 1, "one key became {alone:?}");
        if let Some((kid, alg)) = alone.into_iter().next() {
            usable_by_the_rules(key, &kid, &alg);
            one_by_one.retain(|(k, _)| *k != kid);
            one_by_one.push((kid, alg));
        }
    }
    one_by_one.sort_unstable();
    assert_eq!(kept, one_by_one, "keys kept together and one by one differ");
}

fn usable_by_the_rules(key: &Value, kid: &str, alg: &str) {
    let field = |name: &str| key.get(name).and_then(Value::as_str);
    let want = match (field("kty"), field("crv")) {
        (Some("RSA"), _) => "RS256",
        (Some("EC"), Some("P-256")) => "ES256",
        other => panic!("kept a key of kty/crv {other:?}"),
    };
    assert_eq!(alg, want, "algorithm of {key}");
    assert!(
        matches!(key.get("use"), None | Some(Value::Null)) || field("use") == Some("sig"),
        "kept a key for use {:?}",
        key.get("use")
    );
    assert!(
        matches!(key.get("alg"), None | Some(Value::Null)) || field("alg") == Some(want),
        "kept a key with alg {:?}",
        key.get("alg")
    );
    assert_eq!(kid, field("kid").unwrap_or(""), "kid of {key}");
}
