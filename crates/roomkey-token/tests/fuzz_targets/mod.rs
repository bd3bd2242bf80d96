//! The fuzz targets' bodies, shared by the cargo-fuzz binaries (`fuzz/fuzz_targets/*.rs`,
//! nightly; `fuzz/src/lib.rs` includes this file) and by the stable smoke harness
//! (`tests/fuzz_smoke.rs`). Only crates that `roomkey-token` itself depends on are used here.
//!
//! Each target panics on a broken invariant, not just on a crash:
//! - `verify`: an accepted token carries our issuer, a valid `exp`/`nbf`, a UTF-8 header saying
//!   HS256, grant claims that are JSON objects, and a payload that re-parses to the same
//!   claims; `decode_unverified` agrees; signed again by roomkey, the claims verify to the same
//!   meaning; no error message echoes the secret or the token.
//! - `decode_claims`: claims that parse re-serialize to claims that parse to the same value,
//!   and `decode_unverified` on a token carrying the bytes as payload agrees with the parser.
//! - `webhook`, `inspect`, `keys_file`: see their modules.
#![allow(dead_code)]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use roomkey_token::{
    AccessToken, ApiSecret, Claims, KeyPair, KeySet, Verifier, VerifyError, dangerous,
};

/// The key the targets verify against.
pub const KEY: &str = "APIfuzz";
/// Its secret.
pub const SECRET: &str = "fuzz-secret-0123456789abcdefghijklmn";
/// The verification time.
pub const NOW: i64 = 1_700_000_000;
/// The header roomkey emits, encoded.
pub const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// The claims that hold grant objects; a verifier must never read them from anything else.
const OBJECT_CLAIMS: &[&str] = &[
    "video",
    "sip",
    "agent",
    "inference",
    "observability",
    "agentEndpoint",
    "agentThread",
    "roomConfig",
];

mod inspect;
mod keys_file;
mod webhook;

pub use inspect::inspect;
#[allow(unused_imports)] // `YamlOracle` is for the fuzz crate
pub use keys_file::{YamlOracle, keys_file};
pub use webhook::webhook;

/// The key set of [`KEY`].
pub fn keys() -> &'static KeySet {
    static K: OnceLock<KeySet> = OnceLock::new();
    K.get_or_init(|| KeySet::single(KeyPair::new(KEY, &ApiSecret::new(SECRET)).expect("valid key")))
}

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let key = KeyPair::new(KEY, &ApiSecret::new(SECRET)).expect("valid key");
        Verifier::new(KeySet::single(key))
    })
}

/// HS256 over `input` with [`SECRET`], base64url.
pub fn sign(input: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("any length");
    mac.update(input.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Target `verify`: the input as a token; then, if it has a dot, the part before the last dot
/// re-signed with the right key, so that the claims, issuer and time checks are reached too.
pub fn verify(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_token(&text);
    if let Some(dot) = text.rfind('.') {
        let input = &text[..dot];
        check_token(&format!("{input}.{}", sign(input)));
    }
}

/// Target `decode_claims`: the input as a claims payload.
pub fn decode_claims(data: &[u8]) {
    let parsed = serde_json::from_slice::<Claims>(data);
    if let Ok(claims) = &parsed {
        let json = serde_json::to_string(claims).expect("claims serialize");
        let again: Claims = serde_json::from_str(&json).expect("serialized claims parse");
        assert_eq!(&without_egress(&again), &without_egress(claims), "{json}");
        // Egress is arbitrary JSON; with floats it may move by one ULP (serde_json's parser),
        // so only check that it stays an object.
        assert_eq!(
            again.room_config.as_ref().map(|c| c.egress.is_some()),
            claims.room_config.as_ref().map(|c| c.egress.is_some())
        );
    }

    // The same bytes as the payload of a token.
    let token = format!(
        "{HEADER_B64}.{}.{}",
        URL_SAFE_NO_PAD.encode(data),
        "A".repeat(43)
    );
    if token.len() <= roomkey_token::DEFAULT_MAX_TOKEN_LEN {
        match dangerous::decode_unverified(&token) {
            Ok((claims, payload)) => {
                assert_eq!(
                    Ok(&claims),
                    parsed.as_ref().map_err(|_| ()),
                    "decode disagrees"
                );
                assert_eq!(payload.as_bytes(), data);
                assert_grants_are_objects(&payload);
            }
            Err(e) => assert!(
                matches!(e, VerifyError::ClaimsJson { .. }),
                "only the claims can be wrong here: {e:?}"
            ),
        }
    }

    // And the bytes as a token.
    let _ = dangerous::decode_unverified(&String::from_utf8_lossy(data));
}

fn without_egress(c: &Claims) -> Claims {
    let mut c = c.clone();
    if let Some(config) = c.room_config.as_mut() {
        config.egress = None;
    }
    c
}

/// A grant claim the verifier accepted must have been a JSON object (or null) in the payload.
fn assert_grants_are_objects(payload: &str) {
    // Ignored claims may hold what a `Value` cannot (nesting beyond serde_json's recursion
    // limit, escaped lone surrogates); then there is nothing to compare.
    let Ok(value) = serde_json::from_str::<serde_json::Value>(payload) else {
        return;
    };
    let object = value.as_object().expect("accepted payload is an object");
    for name in OBJECT_CLAIMS {
        if let Some(v) = object.get(*name) {
            assert!(v.is_object() || v.is_null(), "{name} accepted as {v}");
        }
    }
    if let Some(agents) = object
        .get("roomConfig")
        .and_then(|c| c.get("agents"))
        .and_then(|a| a.as_array())
    {
        for a in agents {
            assert!(
                a.is_object() || a.is_null(),
                "roomConfig.agents[] accepted as {a}"
            );
        }
    }
}

/// Accepted tokens whose claims were signed again and compared (the smoke test checks that
/// some were, so that the property is not skipped on every input).
pub static RE_SIGNED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The claims of an accepted token, signed again by roomkey, verify to the same claims but for
/// the ones signing sets: `iss`, the times, and `identity`, which LiveKit takes from `sub`
/// anyway. Minting is stricter than verifying (it refuses what LiveKit would refuse to honour,
/// such as a join grant without an identity), so a claim set it refuses is no failure.
fn re_encoded_means_the_same(claims: &Claims) {
    let key = KeyPair::new(KEY, &ApiSecret::new(SECRET)).expect("valid key");
    let token =
        AccessToken::from_claims(claims.clone()).with_ttl(std::time::Duration::from_secs(600));
    let signed = match token.sign_at(&key, NOW) {
        Ok(signed) => signed,
        Err(_) => return,
    };
    let again = verifier()
        .verify_at(&signed, NOW)
        .unwrap_or_else(|e| panic!("roomkey's own token of accepted claims does not verify: {e}"));
    assert_eq!(
        meaning(&again.claims),
        meaning(claims),
        "the re-signed token means something else"
    );
    assert_eq!(again.claims.exp, Some(NOW + 600));
    RE_SIGNED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Claims without what signing sets (`iss`, the times, and the `identity` copy of `sub`).
fn meaning(claims: &Claims) -> Claims {
    let mut c = claims.clone();
    c.iss.clear();
    (c.exp, c.nbf, c.iat) = (None, None, None);
    c.identity.clear();
    c
}

fn check_token(token: &str) {
    let result = verifier().verify_at(token, NOW);
    let decoded = dangerous::decode_unverified(token);
    match &result {
        Ok(v) => {
            let c = &v.claims;
            assert_eq!(c.iss, KEY);
            let exp = c.exp.expect("accepted without exp");
            assert!(NOW < exp.saturating_add(60), "accepted after exp");
            if let Some(nbf) = c.nbf {
                assert!(NOW >= nbf.saturating_sub(60), "accepted before nbf");
            }
            let header = token.split('.').next().expect("three segments");
            let header = URL_SAFE_NO_PAD.decode(header).expect("header is base64url");
            assert!(
                std::str::from_utf8(&header).is_ok(),
                "accepted header is not UTF-8"
            );
            if let Ok(header) = serde_json::from_slice::<serde_json::Value>(&header) {
                assert_eq!(header.get("alg").and_then(|a| a.as_str()), Some("HS256"));
                assert!(header.get("crit").is_none());
            }
            let reparsed: Claims = serde_json::from_str(v.payload()).expect("payload re-parses");
            assert_eq!(&reparsed, c);
            assert_grants_are_objects(v.payload());
            let (dc, dp) = decoded.expect("decode_unverified accepts what verify accepts");
            assert_eq!(&dc, c);
            assert_eq!(dp, v.payload());
            re_encoded_means_the_same(c);
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains(SECRET), "message shows the secret");
            // (A string without two dots may well be a piece of a fixed message.)
            let jws_shaped = token.len() >= 16 && token.matches('.').count() >= 2;
            assert!(
                !jws_shaped || !msg.contains(token),
                "message shows the token"
            );
        }
    }
}
