//! Target `keys_file`: `KeySet::parse`, the hand-written reader of the LiveKit server's keys
//! format (a flat YAML mapping of API key to secret). Properties: it never panics; a text it
//! accepts has at least one key, listed once; and where a YAML library (given by the caller:
//! the cargo-fuzz binary passes `serde_yaml`, the stable smoke run has none) reads the same
//! text as a mapping of strings to strings, both have the same keys, and each key's secret is
//! the one the library read (a token signed with the parsed pair carries the HS256 tag of the
//! library's secret).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use roomkey_token::{AccessToken, KeySet};

use super::NOW;

/// A YAML library's reading of a text: `Some` pairs when it is a mapping of strings to strings.
pub type YamlOracle = fn(&str) -> Option<Vec<(String, String)>>;

pub fn keys_file(data: &[u8], yaml: Option<YamlOracle>) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = KeySet::parse(text) else {
        return;
    };
    let keys = parsed.api_keys();
    assert!(!keys.is_empty(), "accepted with no key");
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "a key listed twice");
    let Some(pairs) = yaml.and_then(|read| read(text)) else {
        return;
    };
    let mut theirs: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    theirs.sort_unstable();
    assert_eq!(keys, theirs, "the keys differ from the YAML library's");
    for (key, secret) in &pairs {
        let pair = parsed.get(key).expect("listed");
        let token = AccessToken::new().sign_at(pair, NOW).expect("signs");
        let dot = token.rfind('.').expect("a JWT");
        let tag = URL_SAFE_NO_PAD
            .decode(&token[dot + 1..])
            .expect("base64url");
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any");
        mac.update(&token.as_bytes()[..dot]);
        assert!(
            mac.verify_slice(&tag).is_ok(),
            "the secret of {key:?} differs from the YAML library's {secret:?}"
        );
    }
}
