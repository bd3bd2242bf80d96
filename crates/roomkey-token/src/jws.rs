//! Compact JWS with HS256, and nothing else: the only algorithm LiveKit uses.
//!
//! The algorithm is fixed before any MAC is computed: a token's header is either one of the
//! three byte-exact headers the official SDKs emit, or it is decoded and must say `HS256` with no
//! `crit`. MACs are compared in constant time.

use base64_simd::{Out, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::error::{Part, VerifyError};

/// `{"alg":"HS256","typ":"JWT"}`: what roomkey emits, and what Go and Python emit.
pub(crate) const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
/// `{"alg":"HS256"}`: the Node SDK's header.
const HEADER_NODE_B64: &str = "eyJhbGciOiJIUzI1NiJ9";
/// `{"typ":"JWT","alg":"HS256"}`: the Rust SDK's header.
const HEADER_RUST_B64: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9";

/// Length of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// An HMAC-SHA256 key schedule, computed once per secret and cloned per use.
#[derive(Clone)]
pub(crate) struct MacKey(Hmac<Sha256>);

impl MacKey {
    pub(crate) fn new(secret: &[u8]) -> Self {
        // HMAC accepts keys of any length; `new_from_slice` only fails for fixed-size MACs.
        MacKey(Hmac::new_from_slice(secret).expect("HMAC takes keys of any length"))
    }

    fn tag(&self, data: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.0.clone();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.0.clone();
        mac.update(data);
        // `verify_slice` compares in constant time.
        mac.verify_slice(tag).is_ok()
    }
}

/// Length of the token [`sign`] makes for a payload of `payload_len` bytes.
pub(crate) fn signed_len(payload_len: usize) -> usize {
    HEADER_B64.len() + 1 + (payload_len * 4).div_ceil(3) + 1 + SHA256_TAG_B64_LEN
}

/// Signs a serialized claims object: `b64(header).b64(payload).b64(tag)`.
pub(crate) fn sign(key: &MacKey, payload: &[u8]) -> String {
    let mut out = String::with_capacity(signed_len(payload.len()));
    out.push_str(HEADER_B64);
    out.push('.');
    // The payload is the bulk of the token: encode it with SIMD where the CPU has it.
    URL_SAFE_NO_PAD.encode_append(payload, &mut out);
    let tag = key.tag(out.as_bytes());
    out.push('.');
    URL_SAFE_NO_PAD.encode_append(tag, &mut out);
    out
}

/// A token cut into its parts, header checked, payload decoded, MAC not yet checked.
pub(crate) struct Unverified<'a> {
    signing_input: &'a str,
    tag: [u8; TAG_LEN],
    /// Whether the signature decoded to exactly one HMAC-SHA256 tag.
    tag_is_sha256: bool,
    /// The payload JSON, checked to be UTF-8.
    pub(crate) payload: String,
}

impl Unverified<'_> {
    /// Checks the MAC with the given key, in constant time. A signature of another length (a
    /// truncated tag, or an HS384/HS512-sized one) never matches.
    pub(crate) fn mac_matches(&self, key: &MacKey) -> bool {
        self.tag_is_sha256 && key.verify(self.signing_input.as_bytes(), &self.tag)
    }
}

/// Splits and decodes a compact JWS, and checks its header says HS256. Every segment must be
/// canonical unpadded base64url; the signature's length is not judged here but by the MAC check.
pub(crate) fn decode(token: &str, max_len: usize) -> Result<Unverified<'_>, VerifyError> {
    if token.is_empty() {
        return Err(VerifyError::Empty);
    }
    if token.len() > max_len {
        return Err(VerifyError::TooLarge {
            len: token.len(),
            max: max_len,
        });
    }
    // The first and last dots are near the ends; then no dot may sit between them.
    let bytes = token.as_bytes();
    let (Some(first), Some(second)) = (memchr::memchr(b'.', bytes), memchr::memrchr(b'.', bytes))
    else {
        return Err(VerifyError::SegmentCount { found: 1 });
    };
    if first == second || memchr::memchr(b'.', &bytes[first + 1..second]).is_some() {
        return Err(VerifyError::SegmentCount {
            found: memchr::memchr_iter(b'.', bytes).count() + 1,
        });
    }
    let header = &token[..first];
    let payload = &token[first + 1..second];
    let signature = &token[second + 1..];

    check_header(header)?;

    // Strict like the other segments: no padding, no stray characters, no set trailing bits.
    let payload = URL_SAFE_NO_PAD
        .decode_to_vec(payload)
        .map_err(|_| VerifyError::Base64 {
            part: Part::Payload,
        })?;
    let payload = String::from_utf8(payload).map_err(|_| VerifyError::ClaimsJson {
        detail: "the claims are not valid UTF-8".into(),
    })?;

    let mut tag = [0u8; TAG_LEN];
    let tag_is_sha256 = if signature.len() == SHA256_TAG_B64_LEN {
        // 43 characters carry exactly 32 bytes.
        URL_SAFE_NO_PAD
            .decode(signature.as_bytes(), Out::from_slice(&mut tag))
            .map_err(|_| VerifyError::Base64 {
                part: Part::Signature,
            })?;
        true
    } else {
        // Another length cannot be our tag, but it must still be well-formed base64url.
        URL_SAFE_NO_PAD
            .decode_to_vec(signature)
            .map_err(|_| VerifyError::Base64 {
                part: Part::Signature,
            })?;
        false
    };

    Ok(Unverified {
        signing_input: &token[..second],
        tag,
        tag_is_sha256,
        payload,
    })
}

/// Length of an unpadded base64url HMAC-SHA256 tag.
const SHA256_TAG_B64_LEN: usize = 43;

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

fn check_header(header_b64: &str) -> Result<(), VerifyError> {
    if header_b64 == HEADER_B64 || header_b64 == HEADER_NODE_B64 || header_b64 == HEADER_RUST_B64 {
        return Ok(());
    }
    let bytes = URL_SAFE_NO_PAD
        .decode_to_vec(header_b64)
        .map_err(|_| VerifyError::Base64 { part: Part::Header })?;
    // serde_json does not check the UTF-8 of members it skips, so check the whole header.
    let text = std::str::from_utf8(&bytes).map_err(|_| VerifyError::HeaderJson {
        detail: "the header is not valid UTF-8".into(),
    })?;
    if !starts_with_brace(text.as_bytes()) {
        return Err(VerifyError::HeaderJson {
            detail: "expected a JSON object".into(),
        });
    }
    let header: Header = serde_json::from_slice(&bytes).map_err(|e| VerifyError::HeaderJson {
        detail: e.to_string(),
    })?;
    if header.alg != "HS256" {
        return Err(VerifyError::UnsupportedAlgorithm { found: header.alg });
    }
    if header.crit {
        return Err(VerifyError::CriticalHeader);
    }
    Ok(())
}

/// Whether the first non-blank byte opens an object. serde would otherwise read a struct from a
/// JSON array by position.
pub(crate) fn starts_with_brace(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_headers_decode_to_hs256() {
        for h in [HEADER_B64, HEADER_NODE_B64, HEADER_RUST_B64] {
            let json = URL_SAFE_NO_PAD.decode_to_vec(h).unwrap();
            let header: Header = serde_json::from_slice(&json).unwrap();
            assert_eq!(header.alg, "HS256");
            assert!(!header.crit);
        }
    }

    #[test]
    fn sign_matches_reference_vector() {
        // The token livekit/protocol's Go `AccessToken` writes for alice/standup/canPublish=false
        // at 1700000000: same header and payload bytes, same signature.
        let payload = br#"{"iss":"APIexample","sub":"alice","exp":1700021600,"nbf":1700000000,"iat":1700000000,"identity":"alice","name":"Alice","video":{"roomJoin":true,"room":"standup","canPublish":false}}"#;
        let token = sign(
            &MacKey::new(b"example-secret-0123456789abcdefghij"),
            payload,
        );
        assert_eq!(
            token,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJBUElleGFtcGxlIiwic3ViIjoiYWxpY2UiLCJleHAiOjE3MDAwMjE2MDAsIm5iZiI6MTcwMDAwMDAwMCwiaWF0IjoxNzAwMDAwMDAwLCJpZGVudGl0eSI6ImFsaWNlIiwibmFtZSI6IkFsaWNlIiwidmlkZW8iOnsicm9vbUpvaW4iOnRydWUsInJvb20iOiJzdGFuZHVwIiwiY2FuUHVibGlzaCI6ZmFsc2V9fQ.Dk_7RblLODcc1NhrDvuBFNxB1b_U1O2lnaN5mVGKDj0"
        );
    }
}
