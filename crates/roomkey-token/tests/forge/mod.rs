//! A tiny token forge for the hostile-input tests: base64url-encodes arbitrary header and payload
//! bytes and signs them with HMAC-SHA256 (or HS384/HS512), independently of the crate under test,
//! so that every case can be written as the bytes it is made of.
#![allow(dead_code)] // each test binary uses a different part of it

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use roomkey_token::{ApiSecret, KeyPair, KeySet, Verifier, VerifyOptions};

/// The API key every forged token is issued by (unless a case says otherwise).
pub const KEY: &str = "APIforge";
/// Its secret. It must never show up in an error message.
pub const SECRET: &str = "forge-secret-0123456789abcdefghijklmnop";
/// A second, configured key.
pub const KEY2: &str = "APIsecond";
/// Its secret.
pub const SECRET2: &str = "second-secret-abcdefghijklmnopqrstuvwx";
/// The verification time used by the corpus.
pub const NOW: i64 = 1_700_000_000;

/// `{"alg":"HS256","typ":"JWT"}` (Go, Python, roomkey).
pub const HEADER_GO: &[u8] = br#"{"alg":"HS256","typ":"JWT"}"#;
/// `{"alg":"HS256"}` (Node).
pub const HEADER_NODE: &[u8] = br#"{"alg":"HS256"}"#;
/// `{"typ":"JWT","alg":"HS256"}` (Rust SDK).
pub const HEADER_RUST: &[u8] = br#"{"typ":"JWT","alg":"HS256"}"#;

/// Unpadded base64url, the only encoding a JWS segment may use.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Padded base64url (`=`), which must be refused.
pub fn b64_padded(bytes: &[u8]) -> String {
    URL_SAFE.encode(bytes)
}

/// Standard-alphabet base64 without padding (`+` and `/`), which must be refused.
pub fn b64_std(bytes: &[u8]) -> String {
    STANDARD_NO_PAD.encode(bytes)
}

/// Standard-alphabet base64 with padding.
pub fn b64_std_padded(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Base64url whose last character has non-zero trailing bits (the same bytes as `b64`, a
/// different string). `bytes.len() % 3` must not be 0.
pub fn b64_trailing_bits(bytes: &[u8]) -> String {
    assert_ne!(
        bytes.len() % 3,
        0,
        "no trailing bits when the length is a multiple of 3"
    );
    let canonical = b64(bytes);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = *canonical.as_bytes().last().expect("non-empty");
    let index = alphabet
        .iter()
        .position(|c| *c == last)
        .expect("base64url char");
    // 1 leftover byte: 4 unused bits; 2 leftover bytes: 2 unused bits. Setting the lowest one
    // keeps the decoded bytes and breaks canonicity.
    debug_assert_eq!(index & 1, 0);
    let mut out = canonical[..canonical.len() - 1].to_owned();
    out.push(alphabet[index | 1] as char);
    out
}

/// HMAC-SHA256 tag.
pub fn hs256(secret: &[u8], input: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

/// HMAC-SHA384 tag.
pub fn hs384(secret: &[u8], input: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha384>::new_from_slice(secret).expect("any key length");
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

/// HMAC-SHA512 tag.
pub fn hs512(secret: &[u8], input: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(secret).expect("any key length");
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

/// Signs two already-encoded segments with `secret` (HS256): `h.p.b64(mac)`.
pub fn sign_segments(header_b64: &str, payload_b64: &str, secret: &str) -> String {
    let input = format!("{header_b64}.{payload_b64}");
    let tag = hs256(secret.as_bytes(), input.as_bytes());
    format!("{input}.{}", b64(&tag))
}

/// The HS256 tag, unencoded, that [`SECRET`] gives two encoded segments.
pub fn tag_for(header_b64: &str, payload_b64: &str) -> Vec<u8> {
    hs256(
        SECRET.as_bytes(),
        format!("{header_b64}.{payload_b64}").as_bytes(),
    )
}

/// Encodes arbitrary header and payload bytes and signs them with [`SECRET`].
pub fn forge(header: &[u8], payload: &[u8]) -> String {
    sign_segments(&b64(header), &b64(payload), SECRET)
}

/// Like [`forge`], with the Go header.
pub fn forge_payload(payload: &[u8]) -> String {
    forge(HEADER_GO, payload)
}

/// Encodes header and payload, and appends an arbitrary (already encoded) signature segment.
pub fn with_signature(header: &[u8], payload: &[u8], signature_b64: &str) -> String {
    format!("{}.{}.{signature_b64}", b64(header), b64(payload))
}

/// A payload with `iss` = [`KEY`], `nbf` = NOW - 10, `exp` = NOW + 3600, and `extra` (JSON members
/// without the surrounding braces, may be empty) appended.
pub fn claims(extra: &str) -> Vec<u8> {
    let mut out = format!(r#"{{"iss":"{KEY}","nbf":{},"exp":{}"#, NOW - 10, NOW + 3600);
    if !extra.is_empty() {
        out.push(',');
        out.push_str(extra);
    }
    out.push('}');
    out.into_bytes()
}

/// A well-formed, valid token for [`NOW`].
pub fn good_token() -> String {
    forge_payload(&claims(
        r#""sub":"alice","video":{"roomJoin":true,"room":"standup"}"#,
    ))
}

/// The key set the corpus verifies against: [`KEY`] and [`KEY2`].
pub fn keys() -> KeySet {
    let mut set = KeySet::single(KeyPair::new(KEY, &ApiSecret::new(SECRET)).expect("valid key"));
    set.insert(KeyPair::new(KEY2, &ApiSecret::new(SECRET2)).expect("valid key"));
    set
}

/// A verifier over [`keys`] with the default options.
pub fn verifier() -> Verifier {
    Verifier::new(keys())
}

/// A verifier over [`keys`] with custom options.
pub fn verifier_with(options: VerifyOptions) -> Verifier {
    Verifier::new(keys()).with_options(options)
}

/// Default options with another size cap.
pub fn cap(max_token_len: usize) -> VerifyOptions {
    let mut o = VerifyOptions::default();
    o.max_token_len = max_token_len;
    o
}

/// Default options with another leeway.
pub fn leeway(secs: u64) -> VerifyOptions {
    let mut o = VerifyOptions::default();
    o.leeway = std::time::Duration::from_secs(secs);
    o
}

/// `depth` nested JSON arrays around `inner`.
pub fn nested_arrays(depth: usize, inner: &str) -> String {
    let mut s = "[".repeat(depth);
    s.push_str(inner);
    s.push_str(&"]".repeat(depth));
    s
}
