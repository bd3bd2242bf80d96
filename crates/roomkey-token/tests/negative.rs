//! Negative corpus: hostile and malformed tokens, each with the exact [`VerifyError`] it must
//! produce, plus the positive edge cases that must keep passing.
//!
//! Every case is built in code by the forge in `tests/forge`, which base64url-encodes arbitrary
//! header and payload bytes and signs them with HMAC-SHA256 independently of the crate, so each
//! case reads as the bytes it is made of. Each case is its own `#[test]` (named after the case),
//! and `tests/data/negative.json` holds the same corpus for other implementations
//! (`ROOMKEY_BLESS=1 cargo test -p roomkey-token --test negative` rewrites it).
//!
//! Verification rules under test (README.md "Verification rules", after livekit/protocol
//! auth/verifier.go, and `Verifier::verify_at`):
//! - order: size, shape, base64 of each segment, header (HS256, no `crit`, before any MAC), claims
//!   JSON, issuer and its key, MAC (constant time), `exp` (required), `nbf`;
//! - `exp`: valid while `now < exp + leeway`, so `now == exp + leeway` is **expired**;
//! - `nbf`: valid while `now >= nbf - leeway`, so `now == nbf - leeway` **passes**.
//!
//! For `HeaderJson` and `ClaimsJson` only the variant is fixed (the detail is the JSON parser's
//! message). Every error's `Display` is checked not to contain a secret, the whole token or the
//! signature segment.
//!
//! This file is long because it is the corpus: each case is spelled out as the bytes it is made
//! of, one test per case so that a failure names it, in the order of the checks above.

mod forge;

use forge::*;
use roomkey_token::{Part, VerifiedToken, VerifyError, VerifyOptions, dangerous};

/// What a case must produce.
#[derive(Debug, Clone)]
enum Expect {
    /// Exactly this error.
    Err(VerifyError),
    /// `VerifyError::HeaderJson` with any detail.
    HeaderJson,
    /// `VerifyError::ClaimsJson` with any detail.
    ClaimsJson,
    /// Verification succeeds.
    Ok,
}

struct Case {
    token: String,
    now: i64,
    options: VerifyOptions,
    expect: Expect,
    /// Extra checks on an accepted token.
    then: Option<fn(&VerifiedToken)>,
}

impl Case {
    fn at(mut self, now: i64) -> Self {
        self.now = now;
        self
    }
    fn options(mut self, options: VerifyOptions) -> Self {
        self.options = options;
        self
    }
    fn then(mut self, f: fn(&VerifiedToken)) -> Self {
        self.then = Some(f);
        self
    }
}

fn case(token: impl Into<String>, expect: Expect) -> Case {
    Case {
        token: token.into(),
        now: NOW,
        options: VerifyOptions::default(),
        expect,
        then: None,
    }
}

fn rejects(token: impl Into<String>, error: VerifyError) -> Case {
    case(token, Expect::Err(error))
}

fn header_json(token: impl Into<String>) -> Case {
    case(token, Expect::HeaderJson)
}

fn claims_json(token: impl Into<String>) -> Case {
    case(token, Expect::ClaimsJson)
}

fn accepts(token: impl Into<String>) -> Case {
    case(token, Expect::Ok)
}

fn unsupported(alg: &str) -> VerifyError {
    VerifyError::UnsupportedAlgorithm { found: alg.into() }
}

fn base64_err(part: Part) -> VerifyError {
    VerifyError::Base64 { part }
}

fn expired(exp: i64, leeway: u64) -> VerifyError {
    VerifyError::Expired {
        exp,
        now: NOW,
        leeway,
    }
}

fn not_yet_valid(nbf: i64, leeway: u64) -> VerifyError {
    VerifyError::NotYetValid {
        nbf,
        now: NOW,
        leeway,
    }
}

/// A payload with `iss` = KEY and the given members only (no default times).
fn bare(members: &str) -> Vec<u8> {
    if members.is_empty() {
        format!(r#"{{"iss":"{KEY}"}}"#).into_bytes()
    } else {
        format!(r#"{{"iss":"{KEY}",{members}}}"#).into_bytes()
    }
}

/// `claims(extra)` with a byte spliced in raw (for invalid UTF-8 and control characters).
fn claims_with_raw(before: &str, raw: &[u8], after: &str) -> Vec<u8> {
    let mut p = claims("").to_vec();
    p.pop(); // the closing brace
    p.push(b',');
    p.extend_from_slice(before.as_bytes());
    p.extend_from_slice(raw);
    p.extend_from_slice(after.as_bytes());
    p.push(b'}');
    p
}

/// A header with a raw byte sequence spliced in.
fn header_with_raw(before: &str, raw: &[u8], after: &str) -> Vec<u8> {
    let mut h = before.as_bytes().to_vec();
    h.extend_from_slice(raw);
    h.extend_from_slice(after.as_bytes());
    h
}

/// The first claims payload (varying `jti`) whose base64url form contains `-` or `_`, so that
/// the standard alphabet spells it differently.
fn payload_with_url_only_chars() -> Vec<u8> {
    // '?' (0x3F) as the third byte of a group encodes as '_'.
    (0..3)
        .map(|n| claims(&format!(r#""jti":"{}???""#, "x".repeat(n))))
        .find(|p| b64(p).contains(['-', '_']))
        .expect("some payload encodes with - or _")
}

/// The first header (varying an extra member) whose base64url form contains `-` or `_`.
fn header_with_url_only_chars() -> Vec<u8> {
    (0..10_000)
        .map(|n| format!(r#"{{"alg":"HS256","typ":"JWT","x":"{n}?>"}}"#).into_bytes())
        .find(|h| b64(h).contains(['-', '_']))
        .expect("some header encodes with - or _")
}

/// The first claims payload whose (correct) HS256 tag encodes with `-` or `_`.
fn payload_whose_tag_has_url_only_chars() -> Vec<u8> {
    (0..10_000)
        .map(|n| claims(&format!(r#""jti":"{n}""#)))
        .find(|p| b64(&tag_for(&b64(HEADER_GO), &b64(p))).contains(['-', '_']))
        .expect("some tag encodes with - or _")
}

/// A claims payload whose length is not a multiple of 3 (so base64 has padding / trailing bits).
fn payload_not_multiple_of_3() -> Vec<u8> {
    (0..3)
        .map(|n| claims(&format!(r#""jti":"{}""#, "x".repeat(n))))
        .find(|p| p.len() % 3 != 0)
        .expect("one of three lengths")
}

/// A header that is not one of the three byte-exact SDK headers and whose length is not a
/// multiple of 3: `{"alg":"HS256","kid":"k"}` (25 bytes).
const HEADER_KID: &[u8] = br#"{"alg":"HS256","kid":"k"}"#;

/// The good token's signature segment.
fn good_parts() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let payload = claims(r#""sub":"alice""#);
    let tag = tag_for(&b64(HEADER_GO), &b64(&payload));
    (HEADER_GO.to_vec(), payload, tag)
}

fn with_tag_bytes(tag: &[u8]) -> String {
    let (h, p, _) = good_parts();
    with_signature(&h, &p, &b64(tag))
}

/// A token signed by KEY with a metadata claim of `n` bytes.
fn token_with_metadata(n: usize) -> String {
    forge_payload(&claims(&format!(r#""metadata":"{}""#, "m".repeat(n))))
}

// ---------------------------------------------------------------------------------------------

/// Declares the corpus: one builder per case (in `build`), one `#[test]` per case (same name),
/// and `all_cases()` for the JSON dump and the count.
macro_rules! corpus {
    ($( $(#[doc = $doc:literal])* $name:ident => $body:expr; )*) => {
        mod build {
            #[allow(unused_imports)]
            use super::*;
            $( pub(super) fn $name() -> Case { $body } )*
        }
        fn all_cases() -> Vec<(&'static str, &'static str, Case)> {
            vec![ $( (stringify!($name), concat!($($doc),*), build::$name()) ),* ]
        }
        $(
            $(#[doc = $doc])*
            #[test]
            fn $name() {
                check(stringify!($name), &build::$name());
            }
        )*
    };
}

corpus! {
    // ---- algorithms: refused from the header, before any MAC ----------------------------
    /// `alg: none` with an empty signature (the classic bypass).
    alg_none_unsigned => rejects(
        format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), b64(&claims(""))),
        unsupported("none"),
    );
    /// `alg: none` with a correct HS256 MAC over the same bytes.
    alg_none_with_valid_hs256_mac => rejects(
        forge(br#"{"alg":"none"}"#, &claims("")),
        unsupported("none"),
    );
    /// `alg: "None"` (case variant).
    alg_none_capitalised => rejects(forge(br#"{"alg":"None"}"#, &claims("")), unsupported("None"));
    /// HS384, correctly HMAC-SHA384'd with the right secret: still refused (Node would accept).
    alg_hs384_with_real_hs384_mac => rejects(
        {
            let (h, p) = (b64(br#"{"alg":"HS384","typ":"JWT"}"#), b64(&claims("")));
            let tag = hs384(SECRET.as_bytes(), format!("{h}.{p}").as_bytes());
            format!("{h}.{p}.{}", b64(&tag))
        },
        unsupported("HS384"),
    );
    /// HS512, correctly HMAC-SHA512'd with the right secret: still refused.
    alg_hs512_with_real_hs512_mac => rejects(
        {
            let (h, p) = (b64(br#"{"alg":"HS512","typ":"JWT"}"#), b64(&claims("")));
            let tag = hs512(SECRET.as_bytes(), format!("{h}.{p}").as_bytes());
            format!("{h}.{p}.{}", b64(&tag))
        },
        unsupported("HS512"),
    );
    /// HS384 header over a valid HS256 MAC: the header decides, not the MAC.
    alg_hs384_with_hs256_mac => rejects(
        forge(br#"{"alg":"HS384","typ":"JWT"}"#, &claims("")),
        unsupported("HS384"),
    );
    /// RS256 header, HMAC'd with the secret (key-confusion attempt).
    alg_rs256_key_confusion => rejects(
        forge(br#"{"alg":"RS256","typ":"JWT"}"#, &claims("")),
        unsupported("RS256"),
    );
    /// ES256 header, HMAC'd with the secret.
    alg_es256 => rejects(forge(br#"{"alg":"ES256","typ":"JWT"}"#, &claims("")), unsupported("ES256"));
    /// Lower-case `hs256`: algorithm names are case-sensitive.
    alg_lowercase_hs256 => rejects(forge(br#"{"alg":"hs256"}"#, &claims("")), unsupported("hs256"));
    /// `alg` with trailing space.
    alg_hs256_trailing_space => rejects(forge(br#"{"alg":"HS256 "}"#, &claims("")), unsupported("HS256 "));
    /// The header is checked before the claims: `alg: none` and an unknown issuer → the alg.
    alg_checked_before_issuer => rejects(
        forge(br#"{"alg":"none"}"#, br#"{"iss":"nobody","exp":1}"#),
        unsupported("none"),
    );
    /// No `alg` at all.
    alg_missing => header_json(forge(br#"{"typ":"JWT"}"#, &claims("")));
    /// `alg: null`.
    alg_null => header_json(forge(br#"{"alg":null}"#, &claims("")));
    /// `alg` as a number.
    alg_number => header_json(forge(br#"{"alg":256}"#, &claims("")));
    /// `alg` as an array holding HS256.
    alg_array => header_json(forge(br#"{"alg":["HS256"]}"#, &claims("")));
    /// `alg` twice, both HS256.
    alg_twice_same => header_json(forge(br#"{"alg":"HS256","alg":"HS256"}"#, &claims("")));
    /// `alg` twice, HS256 then none (last-wins parsers would read none, first-wins HS256).
    alg_twice_hs256_then_none => header_json(forge(br#"{"alg":"HS256","alg":"none"}"#, &claims("")));
    /// `crit` with HS256.
    crit_with_hs256 => rejects(
        forge(br#"{"alg":"HS256","crit":["exp"],"exp":1}"#, &claims("")),
        VerifyError::CriticalHeader,
    );
    /// An empty `crit` list is still a `crit` parameter.
    crit_empty_list => rejects(forge(br#"{"alg":"HS256","crit":[]}"#, &claims("")), VerifyError::CriticalHeader);
    /// `crit` with a bad alg: the alg is reported.
    crit_with_alg_none => rejects(forge(br#"{"alg":"none","crit":["b64"]}"#, &claims("")), unsupported("none"));

    // ---- header not JSON ---------------------------------------------------------------
    /// Header is not JSON.
    header_not_json => header_json(forge(b"HS256", &claims("")));
    /// Header is a JSON array.
    header_json_array => header_json(forge(br#"["HS256"]"#, &claims("")));
    /// Header is a JSON string.
    header_json_string => header_json(forge(br#""{\"alg\":\"HS256\"}""#, &claims("")));
    /// Header is `null`.
    header_json_null => header_json(forge(b"null", &claims("")));
    /// Header is an empty segment.
    header_empty => header_json(format!(".{}.", b64(&claims(""))));
    /// Header has trailing bytes after the object.
    header_trailing_garbage => header_json(forge(br#"{"alg":"HS256"}x"#, &claims("")));
    /// Header truncated mid-object.
    header_truncated_json => header_json(forge(br#"{"alg":"HS256""#, &claims("")));
    /// Header with invalid UTF-8 inside the `alg` string.
    header_invalid_utf8_in_alg => header_json(forge(&header_with_raw(r#"{"alg":"HS256"#, b"\xff", r#""}"#), &claims("")));
    /// Header with invalid UTF-8 in a member name.
    header_invalid_utf8_in_key => header_json(forge(&header_with_raw(r#"{"alg":"HS256",""#, b"\xff", r#"":1}"#), &claims("")));
    /// Header with invalid UTF-8 inside an unknown member's string value (a header that is not
    /// UTF-8 is not JSON, RFC 8259 §8.1). Correctly signed.
    header_invalid_utf8_in_unknown_value => header_json(forge(
        &header_with_raw(r#"{"alg":"HS256","typ":"JWT","kid":""#, b"\xc3\x28", r#""}"#),
        &claims(""),
    ));
    /// Header with a raw NUL byte inside a string.
    header_raw_nul => header_json(forge(&header_with_raw(r#"{"alg":"HS256","kid":"a"#, b"\0", r#""}"#), &claims("")));

    // ---- shape ---------------------------------------------------------------------------
    /// The empty string.
    empty_string => rejects("", VerifyError::Empty);
    /// One segment.
    one_segment => rejects("eyJhbGciOiJIUzI1NiJ9", VerifyError::SegmentCount { found: 1 });
    /// Two segments (the signature and its dot removed).
    two_segments => rejects(
        { let t = good_token(); t[..t.rfind('.').unwrap()].to_owned() },
        VerifyError::SegmentCount { found: 2 },
    );
    /// Four segments (a JWE-like extra segment appended).
    four_segments => rejects(format!("{}.AAAA", good_token()), VerifyError::SegmentCount { found: 4 });
    /// Five empty segments.
    five_empty_segments => rejects("....", VerifyError::SegmentCount { found: 5 });
    /// Only dots: three empty segments reach the header check.
    three_empty_segments => header_json("..");
    /// A lone NUL byte.
    nul_only => rejects("\0", VerifyError::SegmentCount { found: 1 });

    // ---- base64 -------------------------------------------------------------------------
    /// Padded header (`==`), otherwise valid and correctly signed over the padded text.
    padded_header => rejects(
        sign_segments(&b64_padded(HEADER_KID), &b64(&claims("")), SECRET),
        base64_err(Part::Header),
    );
    /// Padded payload, correctly signed over the padded text.
    padded_payload => rejects(
        sign_segments(&b64(HEADER_GO), &b64_padded(&payload_not_multiple_of_3()), SECRET),
        base64_err(Part::Payload),
    );
    /// Padded signature (`=` after the 43 characters).
    padded_signature => rejects({
        let (h, p, tag) = good_parts();
        with_signature(&h, &p, &b64_padded(&tag))
    }, base64_err(Part::Signature));
    /// Header with non-zero trailing bits in its last character.
    header_trailing_bits => rejects(
        sign_segments(&b64_trailing_bits(HEADER_KID), &b64(&claims("")), SECRET),
        base64_err(Part::Header),
    );
    /// Payload with non-zero trailing bits in its last character.
    payload_trailing_bits => rejects(
        sign_segments(&b64(HEADER_GO), &b64_trailing_bits(&payload_not_multiple_of_3()), SECRET),
        base64_err(Part::Payload),
    );
    /// Signature with non-zero trailing bits (the same 32 bytes, another spelling: malleability).
    signature_trailing_bits => rejects({
        let (h, p, tag) = good_parts();
        with_signature(&h, &p, &b64_trailing_bits(&tag))
    }, base64_err(Part::Signature));
    /// Header in the standard alphabet (`+` or `/`), correctly signed over that text.
    header_standard_alphabet => rejects({
        let h = header_with_url_only_chars();
        sign_segments(&b64_std(&h), &b64(&claims("")), SECRET)
    }, base64_err(Part::Header));
    /// Payload in the standard alphabet, correctly signed over that text.
    payload_standard_alphabet => rejects({
        let p = payload_with_url_only_chars();
        sign_segments(&b64(HEADER_GO), &b64_std(&p), SECRET)
    }, base64_err(Part::Payload));
    /// Signature in the standard alphabet (the right tag, spelled with `+`/`/`).
    signature_standard_alphabet => rejects({
        let p = payload_whose_tag_has_url_only_chars();
        let tag = tag_for(&b64(HEADER_GO), &b64(&p));
        with_signature(HEADER_GO, &p, &b64_std(&tag))
    }, base64_err(Part::Signature));
    /// Signature in padded standard base64 (what a careless encoder writes).
    signature_standard_padded => rejects({
        let (h, p, tag) = good_parts();
        with_signature(&h, &p, &b64_std_padded(&tag))
    }, base64_err(Part::Signature));
    /// Signature of impossible length (41 characters: 4n+1).
    signature_impossible_length => rejects({
        let (h, p, tag) = good_parts();
        with_signature(&h, &p, &b64(&tag)[..41])
    }, base64_err(Part::Signature));
    /// Payload with a character outside both alphabets.
    payload_bad_char => rejects(format!("{}.eyJ*.AAAA", b64(HEADER_GO)), base64_err(Part::Payload));

    // ---- signature ----------------------------------------------------------------------
    /// Signed with another configured key's secret.
    bad_signature_other_secret => rejects(
        sign_segments(&b64(HEADER_GO), &b64(&claims("")), SECRET2),
        VerifyError::BadSignature,
    );
    /// One bit of the tag flipped (canonically re-encoded).
    bad_signature_bit_flip => rejects({
        let (_, _, mut tag) = good_parts();
        tag[0] ^= 1;
        with_tag_bytes(&tag)
    }, VerifyError::BadSignature);
    /// Payload altered after signing (`alice` → `admin`).
    bad_signature_payload_altered => rejects({
        let (h, _, tag) = good_parts();
        let p = claims(r#""sub":"admin""#);
        with_signature(&h, &p, &b64(&tag))
    }, VerifyError::BadSignature);
    /// Header swapped for another accepted header after signing (Go → Node).
    bad_signature_header_swapped => rejects({
        let (_, p, tag) = good_parts();
        with_signature(HEADER_NODE, &p, &b64(&tag))
    }, VerifyError::BadSignature);
    /// Empty signature segment.
    empty_signature => rejects({
        let (h, p, _) = good_parts();
        with_signature(&h, &p, "")
    }, VerifyError::BadSignature);
    /// The first 31 bytes of the right tag.
    truncated_signature_31_bytes => rejects({
        let (_, _, tag) = good_parts();
        with_tag_bytes(&tag[..31])
    }, VerifyError::BadSignature);
    /// The first 16 bytes of the right tag (a truncated-MAC comparator would accept).
    truncated_signature_16_bytes => rejects({
        let (_, _, tag) = good_parts();
        with_tag_bytes(&tag[..16])
    }, VerifyError::BadSignature);
    /// A single byte of the right tag.
    truncated_signature_1_byte => rejects({
        let (_, _, tag) = good_parts();
        with_tag_bytes(&tag[..1])
    }, VerifyError::BadSignature);
    /// The right tag plus one byte (33 bytes, 44 characters).
    overlong_signature_33_bytes => rejects({
        let (_, _, mut tag) = good_parts();
        tag.push(0);
        with_tag_bytes(&tag)
    }, VerifyError::BadSignature);
    /// The right tag plus three bytes (35 bytes, 47 characters).
    overlong_signature_35_bytes => rejects({
        let (_, _, mut tag) = good_parts();
        tag.extend([0, 0, 0]);
        with_tag_bytes(&tag)
    }, VerifyError::BadSignature);
    /// The right tag plus four bytes (36 bytes, 48 well-formed characters).
    overlong_signature_36_bytes => rejects({
        let (_, _, mut tag) = good_parts();
        tag.extend([0, 0, 0, 0]);
        with_tag_bytes(&tag)
    }, VerifyError::BadSignature);
    /// The right tag twice (64 bytes, 86 characters).
    overlong_signature_doubled => rejects({
        let (_, _, tag) = good_parts();
        with_tag_bytes(&[tag.clone(), tag].concat())
    }, VerifyError::BadSignature);
    /// A 4 KiB signature.
    overlong_signature_4k => rejects({
        let (h, p, _) = good_parts();
        with_signature(&h, &p, &"A".repeat(4096))
    }, VerifyError::BadSignature);
    /// A long signature does not skip the documented order (claims JSON, issuer, key, then MAC):
    /// an unknown issuer is reported as such whatever the signature's length.
    overlong_signature_with_unknown_issuer => rejects(
        format!("{}.{}.{}", b64(HEADER_GO), b64(br#"{"iss":"APIunknown","exp":1}"#), "A".repeat(64)),
        VerifyError::UnknownKey { iss: "APIunknown".into() },
    );
    /// An HS512-sized tag (64 bytes) under an HS256 header.
    hs512_tag_under_hs256_header => rejects({
        let (h, p, _) = good_parts();
        let tag = hs512(SECRET.as_bytes(), format!("{}.{}", b64(&h), b64(&p)).as_bytes());
        with_signature(&h, &p, &b64(&tag))
    }, VerifyError::BadSignature);

    // ---- issuer and key --------------------------------------------------------------------
    /// An issuer no key is configured for.
    unknown_key => rejects(
        forge_payload(format!(r#"{{"iss":"APIunknown","exp":{}}}"#, NOW + 60).as_bytes()),
        VerifyError::UnknownKey { iss: "APIunknown".into() },
    );
    /// Issuer differs in case only: lookup is exact.
    unknown_key_case_variant => rejects(
        forge_payload(format!(r#"{{"iss":"apiforge","exp":{}}}"#, NOW + 60).as_bytes()),
        VerifyError::UnknownKey { iss: "apiforge".into() },
    );
    /// Issuer with an escaped NUL appended (`"APIforge\u0000"`).
    unknown_key_nul_suffix => rejects(
        forge_payload(format!(r#"{{"iss":"{KEY}\u0000","exp":{}}}"#, NOW + 60).as_bytes()),
        VerifyError::UnknownKey { iss: format!("{KEY}\0") },
    );
    /// Unknown issuer beats a bad signature (the key is looked up first).
    unknown_key_before_signature => rejects(
        sign_segments(&b64(HEADER_GO), &b64(br#"{"iss":"APIunknown"}"#), "whatever"),
        VerifyError::UnknownKey { iss: "APIunknown".into() },
    );
    /// No `iss`.
    missing_iss => rejects(
        forge_payload(format!(r#"{{"sub":"alice","exp":{}}}"#, NOW + 60).as_bytes()),
        VerifyError::MissingIssuer,
    );
    /// `iss` is the empty string (the server's lookup of "" fails).
    empty_iss => rejects(
        forge_payload(format!(r#"{{"iss":"","exp":{}}}"#, NOW + 60).as_bytes()),
        VerifyError::MissingIssuer,
    );
    /// `iss` is `null`.
    iss_null => claims_json(forge_payload(br#"{"iss":null,"exp":1}"#));
    /// `iss` is a number.
    iss_number => claims_json(forge_payload(br#"{"iss":42,"exp":1}"#));
    /// `iss` twice (the second would pick another key).
    iss_twice => claims_json(forge_payload(
        format!(r#"{{"iss":"{KEY}","iss":"{KEY2}","exp":{}}}"#, NOW + 60).as_bytes(),
    ));

    // ---- exp and nbf ---------------------------------------------------------------------
    /// No `exp`: roomkey requires one (the SDK verifiers do; livekit-server v1.13.5 does not).
    missing_exp => rejects(forge_payload(&bare(r#""sub":"alice""#)), VerifyError::MissingExpiry);
    /// `exp: null` counts as missing.
    exp_null => rejects(forge_payload(&bare(r#""exp":null"#)), VerifyError::MissingExpiry);
    /// The signature is checked before the expiry.
    missing_exp_bad_signature => rejects(
        sign_segments(&b64(HEADER_GO), &b64(&bare("")), SECRET2),
        VerifyError::BadSignature,
    );
    /// Expired one second beyond the 60 s leeway.
    expired_beyond_leeway => rejects(
        forge_payload(&bare(&format!(r#""exp":{}"#, NOW - 61))),
        expired(NOW - 61, 60),
    );
    /// Boundary: `now == exp + leeway` is expired (valid only while `now < exp + leeway`).
    expired_exactly_at_leeway_boundary => rejects(
        forge_payload(&bare(&format!(r#""exp":{}"#, NOW - 60))),
        expired(NOW - 60, 60),
    );
    /// With a zero leeway, `exp == now` is expired.
    expired_at_exp_with_zero_leeway => rejects(
        forge_payload(&bare(&format!(r#""exp":{NOW}"#))),
        expired(NOW, 0),
    ).options(leeway(0));
    /// A fractional `exp` is floored: exp = now - 60 + 0.5 reads as now - 60, which is expired.
    expired_fractional_exp_floored => rejects(
        forge_payload(&bare(&format!(r#""exp":{}.5"#, NOW - 60))),
        expired(NOW - 60, 60),
    );
    /// `exp` at the smallest i64 (no overflow).
    expired_exp_i64_min => rejects(
        forge_payload(&bare(&format!(r#""exp":{}"#, i64::MIN))),
        expired(i64::MIN, 60),
    );
    /// `nbf` in the future, one second beyond the leeway.
    nbf_beyond_leeway => rejects(
        forge_payload(&bare(&format!(r#""exp":{},"nbf":{}"#, NOW + 3600, NOW + 61))),
        not_yet_valid(NOW + 61, 60),
    );
    /// With a zero leeway, `nbf == now + 1` is not yet valid.
    nbf_one_second_ahead_zero_leeway => rejects(
        forge_payload(&bare(&format!(r#""exp":{},"nbf":{}"#, NOW + 3600, NOW + 1))),
        not_yet_valid(NOW + 1, 0),
    ).options(leeway(0));
    /// `nbf` at the largest i64 (no overflow).
    nbf_i64_max => rejects(
        forge_payload(&bare(&format!(r#""exp":{},"nbf":{}"#, i64::MAX, i64::MAX))),
        not_yet_valid(i64::MAX, 60),
    );
    /// The ordinary token (exp = NOW + 3600) verified exactly at exp + leeway: expired.
    expired_good_token_at_exp_plus_leeway => rejects(
        good_token(),
        VerifyError::Expired { exp: NOW + 3600, now: NOW + 3660, leeway: 60 },
    ).at(NOW + 3660);
    /// The ordinary token (nbf = NOW - 10) verified 61 s before nbf.
    not_yet_valid_good_token_61s_early => rejects(
        good_token(),
        VerifyError::NotYetValid { nbf: NOW - 10, now: NOW - 71, leeway: 60 },
    ).at(NOW - 71);
    /// Expired and not yet valid: `exp` is reported first.
    expired_and_not_yet_valid => rejects(
        forge_payload(&bare(&format!(r#""exp":{},"nbf":{}"#, NOW - 100, NOW + 100))),
        expired(NOW - 100, 60),
    );

    // ---- payload not a claims object ------------------------------------------------------
    /// Payload is not JSON.
    payload_not_json => claims_json(forge_payload(b"iss=APIforge&exp=1"));
    /// Payload is a JSON array (serde would read a struct from it by position).
    payload_json_array => claims_json(forge_payload(format!(r#"["{KEY}","alice",{}]"#, NOW + 60).as_bytes()));
    /// Payload is a JSON string.
    payload_json_string => claims_json(forge_payload(br#""{\"iss\":\"APIforge\"}""#));
    /// Payload is a number.
    payload_json_number => claims_json(forge_payload(b"1700000000"));
    /// Payload is `null`.
    payload_json_null => claims_json(forge_payload(b"null"));
    /// Payload is empty.
    payload_empty => claims_json(forge_payload(b""));
    /// Payload has trailing bytes after the object.
    payload_trailing_garbage => claims_json(forge_payload(&[claims(""), b"{}".to_vec()].concat()));
    /// Payload with a UTF-8 byte-order mark.
    payload_with_bom => claims_json(forge_payload(&[b"\xef\xbb\xbf".to_vec(), claims("")].concat()));

    // ---- wrong JSON types -------------------------------------------------------------------
    /// `exp` as a string.
    exp_as_string => claims_json(forge_payload(&bare(&format!(r#""exp":"{}""#, NOW + 60))));
    /// `exp` as a boolean.
    exp_as_bool => claims_json(forge_payload(&bare(r#""exp":true"#)));
    /// `exp` beyond i64.
    exp_beyond_i64 => claims_json(forge_payload(&bare(r#""exp":18446744073709551615"#)));
    /// `exp` beyond f64 (1e400).
    exp_beyond_f64 => claims_json(forge_payload(&bare(r#""exp":1e400"#)));
    /// `nbf` as a string.
    nbf_as_string => claims_json(forge_payload(&claims_no_nbf(r#""nbf":"0""#)));
    /// `iat` as a string (ignored for validity, but typed).
    iat_as_string => claims_json(forge_payload(&claims(r#""iat":"now""#)));
    /// `sub` as a number.
    sub_as_number => claims_json(forge_payload(&claims(r#""sub":42"#)));
    /// `name` as an object.
    name_as_object => claims_json(forge_payload(&claims(r#""name":{"first":"a"}"#)));
    /// `video` as a string.
    video_as_string => claims_json(forge_payload(&claims(r#""video":"roomJoin""#)));
    /// `video` as an empty array (Go: cannot unmarshal array into a struct).
    video_as_empty_array => claims_json(forge_payload(&claims(r#""video":[]"#)));
    /// `video` as an array read by position would grant roomCreate, roomList, roomRecord,
    /// roomAdmin, roomJoin and room "standup".
    video_as_positional_array => claims_json(forge_payload(&claims(
        r#""sub":"alice","video":[true,true,true,true,true,"standup"]"#,
    )));
    /// `video.roomJoin` as a string.
    video_room_join_as_string => claims_json(forge_payload(&claims(r#""video":{"roomJoin":"true"}"#)));
    /// `video.canPublish` as a number.
    video_can_publish_as_number => claims_json(forge_payload(&claims(r#""video":{"canPublish":1}"#)));
    /// `video.canPublishSources` as a string.
    video_sources_as_string => claims_json(forge_payload(&claims(r#""video":{"canPublishSources":"camera"}"#)));
    /// `video.roomJoin` twice.
    video_room_join_twice => claims_json(forge_payload(&claims(r#""video":{"roomJoin":false,"roomJoin":true}"#)));
    /// `sip` as an array.
    sip_as_array => claims_json(forge_payload(&claims(r#""sip":[true,true]"#)));
    /// `sip.call` as a string.
    sip_call_as_string => claims_json(forge_payload(&claims(r#""sip":{"call":"yes"}"#)));
    /// `attributes` values as numbers.
    attributes_values_as_numbers => claims_json(forge_payload(&claims(r#""attributes":{"level":3}"#)));
    /// `attributes` as an array.
    attributes_as_array => claims_json(forge_payload(&claims(r#""attributes":[["k","v"]]"#)));
    /// `kind` as a number.
    kind_as_number => claims_json(forge_payload(&claims(r#""kind":4"#)));
    /// `kindDetails` as a string.
    kind_details_as_string => claims_json(forge_payload(&claims(r#""kindDetails":"forwarded""#)));
    /// `roomConfig` as an array.
    room_config_as_array => claims_json(forge_payload(&claims(r#""roomConfig":["room",60]"#)));
    /// `roomConfig.emptyTimeout` negative (uint32).
    room_config_empty_timeout_negative => claims_json(forge_payload(&claims(r#""roomConfig":{"emptyTimeout":-1}"#)));
    /// `roomConfig.emptyTimeout` beyond uint32.
    room_config_empty_timeout_overflow => claims_json(forge_payload(&claims(r#""roomConfig":{"emptyTimeout":4294967296}"#)));
    /// `roomConfig.maxParticipants` fractional.
    room_config_max_participants_fraction => claims_json(forge_payload(&claims(r#""roomConfig":{"maxParticipants":1.5}"#)));
    /// `roomConfig.agents` as an object.
    room_config_agents_as_object => claims_json(forge_payload(&claims(r#""roomConfig":{"agents":{"agentName":"a"}}"#)));
    /// `roomConfig.agents[0]` as an array.
    room_config_agent_as_array => claims_json(forge_payload(&claims(r#""roomConfig":{"agents":[["triage","{}"]]}"#)));

    // ---- duplicate keys -------------------------------------------------------------------
    /// `exp` twice (a later, larger `exp` would extend the token).
    exp_twice => claims_json(forge_payload(&bare(&format!(r#""exp":{},"exp":{}"#, NOW - 3600, NOW + 3600))));
    /// `sub` twice.
    sub_twice => claims_json(forge_payload(&claims(r#""sub":"alice","sub":"admin""#)));
    /// `video` twice.
    video_twice => claims_json(forge_payload(&claims(r#""video":{},"video":{"roomAdmin":true}"#)));

    // ---- deep nesting -----------------------------------------------------------------------
    /// 200-deep arrays inside a known claim typed as JSON (`roomConfig.egress`): over serde_json's
    /// recursion limit (128).
    deep_nesting_in_room_config_egress => claims_json(forge_payload(&claims(
        &format!(r#""roomConfig":{{"egress":{{"room":{}}}}}"#, nested_arrays(200, "1")),
    )));
    /// 200-deep arrays where a string list is expected (`video.canPublishSources`).
    deep_nesting_in_video_sources => claims_json(forge_payload(&claims(
        &format!(r#""video":{{"canPublishSources":{}}}"#, nested_arrays(200, r#""camera""#)),
    )));
    /// 200-deep arrays as an attribute value.
    deep_nesting_in_attributes => claims_json(forge_payload(&claims(
        &format!(r#""attributes":{{"k":{}}}"#, nested_arrays(200, r#""v""#)),
    )));
    /// The whole payload 200-deep.
    deep_nesting_whole_payload => claims_json(forge_payload(nested_arrays(200, "{}").as_bytes()));
    /// 200-deep arrays in the header's `alg`.
    deep_nesting_in_header_alg => header_json(forge(
        format!(r#"{{"alg":{}}}"#, nested_arrays(200, r#""HS256""#)).as_bytes(),
        &claims(""),
    ));

    // ---- invalid UTF-8, control characters ---------------------------------------------
    /// Invalid UTF-8 (a lone 0xFF) inside `sub`.
    payload_invalid_utf8_in_sub => claims_json(forge_payload(&claims_with_raw(r#""sub":"al"#, b"\xff", r#"ice""#)));
    /// An overlong UTF-8 encoding of `/` (0xC0 0xAF) inside `name`.
    payload_overlong_utf8_in_name => claims_json(forge_payload(&claims_with_raw(r#""name":""#, b"\xc0\xaf", r#"""#)));
    /// A UTF-8-encoded surrogate (0xED 0xA0 0x80) inside `metadata`.
    payload_encoded_surrogate => claims_json(forge_payload(&claims_with_raw(r#""metadata":""#, b"\xed\xa0\x80", r#"""#)));
    /// Invalid UTF-8 inside an unknown claim's string value, correctly signed.
    payload_invalid_utf8_in_unknown_claim => claims_json(forge_payload(&claims_with_raw(r#""x-custom":""#, b"\xfe\xff", r#"""#)));
    /// Invalid UTF-8 in an unknown member name.
    payload_invalid_utf8_in_key => claims_json(forge_payload(&claims_with_raw(r#"""#, b"\xff", r#"":1"#)));
    /// A raw NUL inside `sub`.
    payload_raw_nul_in_sub => claims_json(forge_payload(&claims_with_raw(r#""sub":"a"#, b"\0", r#"b""#)));
    /// A raw newline inside `metadata`.
    payload_raw_newline_in_metadata => claims_json(forge_payload(&claims_with_raw(r#""metadata":"a"#, b"\n", r#"b""#)));
    /// An escaped lone surrogate inside `sub`.
    payload_lone_surrogate_escape => claims_json(forge_payload(&claims(r#""sub":"\ud800""#)));

    // ---- white space, NUL and other bytes in the token ----------------------------------------
    /// Leading space.
    leading_space => rejects(format!(" {}", good_token()), base64_err(Part::Header));
    /// `Bearer ` prefix left on.
    bearer_prefix => rejects(format!("Bearer {}", good_token()), base64_err(Part::Header));
    /// Trailing newline.
    trailing_newline => rejects(format!("{}\n", good_token()), base64_err(Part::Signature));
    /// Trailing CRLF.
    trailing_crlf => rejects(format!("{}\r\n", good_token()), base64_err(Part::Signature));
    /// A newline inside the payload (as a line-wrapping encoder writes).
    newline_in_payload => rejects({
        let t = good_token();
        let at = t.find('.').unwrap() + 11;
        format!("{}\n{}", &t[..at], &t[at..])
    }, base64_err(Part::Payload));
    /// A space inside the header.
    space_in_header => rejects({
        let t = good_token();
        format!("{} {}", &t[..10], &t[10..])
    }, base64_err(Part::Header));
    /// A tab right after the first dot.
    tab_after_first_dot => rejects(good_token().replacen('.', ".\t", 1), base64_err(Part::Payload));
    /// A NUL byte inside the payload segment.
    nul_in_payload_segment => rejects({
        let t = good_token();
        let at = t.find('.').unwrap() + 5;
        format!("{}\0{}", &t[..at], &t[at..])
    }, base64_err(Part::Payload));
    /// A NUL byte inside the signature segment.
    nul_in_signature_segment => rejects(format!("{}\0", good_token()), base64_err(Part::Signature));
    /// A non-ASCII character inside the payload segment.
    non_ascii_in_payload_segment => rejects(good_token().replacen('.', ".é", 1), base64_err(Part::Payload));
    /// Only white space: nothing is trimmed, so this is a one-segment token, not an empty one.
    whitespace_only => rejects(" \t\r\n", VerifyError::SegmentCount { found: 1 });

    // ---- size -------------------------------------------------------------------------------
    /// A correctly signed token over the default 1 MiB cap (900 000 bytes of metadata).
    oversized_default_cap => {
        let t = token_with_metadata(900_000);
        let len = t.len();
        rejects(t, VerifyError::TooLarge { len, max: 1024 * 1024 })
    };
    /// 2 MiB without a dot: the size is checked before the shape.
    oversized_garbage => rejects("A".repeat(2 << 20), VerifyError::TooLarge { len: 2 << 20, max: 1024 * 1024 });
    /// One byte over a custom cap.
    oversized_custom_cap => {
        let t = good_token();
        let len = t.len();
        rejects(t, VerifyError::TooLarge { len, max: len - 1 }).options(cap(len - 1))
    };
    /// A 256-byte cap against a token with 1 KiB of metadata.
    oversized_small_cap => {
        let t = token_with_metadata(1024);
        let len = t.len();
        rejects(t, VerifyError::TooLarge { len, max: 256 }).options(cap(256))
    };

    // ---- positive edge cases: these MUST pass ---------------------------------------------
    /// Baseline: the Go/Python header, as roomkey signs.
    ok_go_header => accepts(good_token()).then(|v| {
        assert_eq!(v.claims.identity(), "alice");
        assert_eq!(v.claims.room(), "standup");
    });
    /// Node's header: no `typ`.
    ok_node_header_without_typ => accepts(forge(HEADER_NODE, &claims(r#""sub":"alice""#)));
    /// The Rust SDK's header: `typ` first.
    ok_rust_header_typ_first => accepts(forge(HEADER_RUST, &claims(r#""sub":"alice""#)));
    /// A header that is none of the three byte-exact ones: extra `kid`, key order, white space.
    ok_header_with_kid_and_spaces => accepts(forge(br#" { "kid" : "k", "typ":"JWT" , "alg" : "HS256" } "#, &claims("")));
    /// `alg` spelled with JSON escapes still says HS256.
    ok_header_alg_with_escapes => accepts(forge(br#"{"alg":"HS\u0032\u00356"}"#, &claims("")));
    /// Unknown claims at the top level and unknown fields inside video, sip, roomConfig and its
    /// agents are ignored, and kept in the payload.
    ok_unknown_claims_and_fields => accepts(forge_payload(&claims(
        r#""sub":"alice","x-future":{"a":[1,2,{"b":null}]},"video":{"roomJoin":true,"room":"r","canTeleport":true},"sip":{"admin":true,"newThing":1},"roomConfig":{"emptyTimeout":30,"futureField":"x","agents":[{"agentName":"a","future":[]}]}"#,
    ))).then(|v| {
        assert!(v.claims.can_join());
        assert!(v.claims.sip.as_ref().unwrap().admin);
        assert_eq!(v.claims.room_config.as_ref().unwrap().empty_timeout, 30);
        assert!(v.payload().contains("canTeleport") && v.payload().contains("x-future"));
    });
    /// `"roomConfig":null` (Rust SDK 0.6) reads as no configuration.
    ok_room_config_null => accepts(forge_payload(&claims(r#""roomConfig":null"#))).then(|v| {
        assert_eq!(v.claims.room_config, None);
    });
    /// Node-style room configuration with every default written.
    ok_room_config_node_defaults => accepts(forge_payload(&claims(
        r#""roomConfig":{"name":"","emptyTimeout":0,"departureTimeout":0,"maxParticipants":0,"metadata":"","minPlayoutDelay":0,"maxPlayoutDelay":0,"syncStreams":false,"agents":[],"tags":{}}"#,
    ))).then(|v| assert!(v.claims.room_config.as_ref().unwrap().is_empty()));
    /// Partial grant objects (Go's `{"sip":{"admin":true}}`, empty `{}`).
    ok_partial_grants => accepts(forge_payload(&claims(r#""sip":{"admin":true},"agent":{},"inference":{"perform":true}"#)));
    /// A fractional `exp` is read (floored).
    ok_fractional_exp => accepts(forge_payload(&bare(&format!(r#""exp":{}.75"#, NOW + 10)))).then(|v| {
        assert_eq!(v.claims.exp, Some(NOW + 10));
    });
    /// The ordinary token one second before exp + leeway.
    ok_good_token_at_exp_plus_leeway_minus_1 => accepts(good_token()).at(NOW + 3659);
    /// The ordinary token exactly at nbf - leeway.
    ok_good_token_at_nbf_minus_leeway => accepts(good_token()).at(NOW - 70);
    /// Boundary, valid side: `now == exp + leeway - 1`.
    ok_exp_one_second_inside_leeway => accepts(forge_payload(&bare(&format!(r#""exp":{}"#, NOW - 59))));
    /// `exp == now` is within the leeway.
    ok_exp_equals_now => accepts(forge_payload(&bare(&format!(r#""exp":{NOW}"#))));
    /// Boundary, valid side for nbf: `now == nbf - leeway` passes.
    ok_nbf_exactly_at_leeway_boundary => accepts(forge_payload(&bare(&format!(r#""exp":{},"nbf":{}"#, NOW + 3600, NOW + 60))));
    /// With zero leeway, `nbf == now` passes and `exp == now + 1` passes.
    ok_zero_leeway_edges => accepts(forge_payload(&bare(&format!(r#""exp":{},"nbf":{NOW}"#, NOW + 1)))).options(leeway(0));
    /// `exp` at the largest i64 (no overflow).
    ok_exp_i64_max => accepts(forge_payload(&bare(&format!(r#""exp":{}"#, i64::MAX))));
    /// `nbf` at the smallest i64 (no overflow).
    ok_nbf_i64_min => accepts(forge_payload(&bare(&format!(r#""exp":{},"nbf":{}"#, NOW + 1, i64::MIN))));
    /// A fractional `nbf` is floored too: nbf = now + 60.5 reads as now + 60 and passes (exact
    /// real-number arithmetic, as in Go, would refuse it by half a second).
    ok_fractional_nbf_floored => accepts(forge_payload(&bare(&format!(r#""exp":{},"nbf":{}.5"#, NOW + 3600, NOW + 60))));
    /// `iat` in the future and an `aud` are ignored, as the Go server ignores them.
    ok_iat_future_and_aud_ignored => accepts(forge_payload(&claims(&format!(r#""iat":{},"aud":"somewhere""#, NOW + 86_400))));
    /// The second configured key.
    ok_second_key => accepts(sign_segments(
        &b64(HEADER_GO),
        &b64(format!(r#"{{"iss":"{KEY2}","exp":{}}}"#, NOW + 60).as_bytes()),
        SECRET2,
    ));
    /// `sub` empty: the identity falls back to `jti`.
    ok_identity_from_jti => accepts(forge_payload(&claims(r#""sub":"","jti":"from-jti","identity":"ignored""#))).then(|v| {
        assert_eq!(v.claims.identity(), "from-jti");
    });
    /// 200-deep arrays inside an unknown claim: refused, past the 64 levels roomkey reads (Go
    /// accepts up to 10 000), so that whatever verifies can be printed.
    deep_nesting_in_unknown_claim => claims_json(forge_payload(&claims(
        &format!(r#""x-deep":{}"#, nested_arrays(200, "1")),
    )));
    /// 100 000-deep arrays inside an unknown claim: refused without recursion (no stack
    /// overflow).
    very_deep_nesting_in_unknown_claim => claims_json(forge_payload(&claims(
        &format!(r#""x-deep":{}"#, nested_arrays(100_000, "")),
    )));
    /// An unknown claim nested exactly as deep as roomkey reads (the payload object and 63
    /// arrays): accepted.
    ok_nesting_at_the_depth_limit_in_unknown_claim => accepts(forge_payload(&claims(
        &format!(r#""x-deep":{}"#, nested_arrays(63, "1")),
    )));
    /// 200-deep arrays inside an unknown header member: ignored.
    ok_deep_nesting_in_unknown_header_member => accepts(forge(
        format!(r#"{{"alg":"HS256","x":{}}}"#, nested_arrays(200, "0")).as_bytes(),
        &claims(""),
    ));
    /// Escaped NUL and other escapes inside `sub` are ordinary characters.
    ok_escaped_control_chars_in_sub => accepts(forge_payload(&claims(r#""sub":"a\u0000b\n\"c""#))).then(|v| {
        assert_eq!(v.claims.sub, "a\0b\n\"c");
    });
    /// A token exactly at a custom cap.
    ok_token_exactly_at_cap => {
        let t = good_token();
        let len = t.len();
        accepts(t).options(cap(len))
    };
    /// A correctly signed 900 KB token under a raised cap.
    ok_large_token_under_raised_cap => accepts(token_with_metadata(900_000)).options(cap(2 << 20));
    /// The Node SDK's token for alice/Alice/standup/canPublish=false (header without typ) at T.
    ok_spec_node_vector => {
        let t = "eyJhbGciOiJIUzI1NiJ9.eyJuYW1lIjoiQWxpY2UiLCJ2aWRlbyI6eyJyb29tSm9pbiI6dHJ1ZSwicm9vbSI6InN0YW5kdXAiLCJjYW5QdWJsaXNoIjpmYWxzZX0sImlzcyI6IkFQSWV4YW1wbGUiLCJleHAiOjE3MDAwMjE2MDAsIm5iZiI6MTcwMDAwMDAwMCwic3ViIjoiYWxpY2UifQ.3kk7FMJem3quqcjYqPsU6Ny80YA3BlYGIK0dhJFF74o";
        accepts(t).then(|v| {
            assert_eq!(v.claims.identity(), "alice");
            assert!(!v.claims.video.as_ref().unwrap().effective_can_publish_data());
        })
    };
    /// The Rust SDK 0.6's token for the same input (typ first, every field, roomConfig null) at T.
    ok_spec_rust_vector => {
        let t = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MDAwMjE2MDAsImlzcyI6IkFQSWV4YW1wbGUiLCJuYmYiOjE3MDAwMDAwMDAsInN1YiI6ImFsaWNlIiwibmFtZSI6IkFsaWNlIiwidmlkZW8iOnsicm9vbUNyZWF0ZSI6ZmFsc2UsInJvb21MaXN0IjpmYWxzZSwicm9vbVJlY29yZCI6ZmFsc2UsInJvb21BZG1pbiI6ZmFsc2UsInJvb21Kb2luIjp0cnVlLCJyb29tIjoic3RhbmR1cCIsImRlc3RpbmF0aW9uUm9vbSI6IiIsImNhblB1Ymxpc2giOmZhbHNlLCJjYW5TdWJzY3JpYmUiOnRydWUsImNhblB1Ymxpc2hEYXRhIjp0cnVlLCJjYW5QdWJsaXNoU291cmNlcyI6W10sImNhblVwZGF0ZU93bk1ldGFkYXRhIjpmYWxzZSwiaW5ncmVzc0FkbWluIjpmYWxzZSwiaGlkZGVuIjpmYWxzZSwicmVjb3JkZXIiOmZhbHNlfSwic2lwIjp7ImFkbWluIjpmYWxzZSwiY2FsbCI6ZmFsc2V9LCJzaGEyNTYiOiIiLCJtZXRhZGF0YSI6IiIsImF0dHJpYnV0ZXMiOnt9LCJyb29tQ29uZmlnIjpudWxsfQ.Gd2tcTLMSocVqBrq8OFzfSFTM5p65pjwLlYyYx7s0_Q";
        accepts(t).then(|v| assert_eq!(v.claims.room_config, None))
    };
}

/// `claims(extra)` without its `nbf` (for cases that set their own).
fn claims_no_nbf(extra: &str) -> Vec<u8> {
    format!(r#"{{"iss":"{KEY}","exp":{},{extra}}}"#, NOW + 3600).into_bytes()
}

fn spec_verifier_for(case: &Case) -> roomkey_token::Verifier {
    // The SDK example tokens (`ok_spec_node_vector`, `ok_spec_rust_vector`) are signed by
    // APIexample.
    if case
        .token
        .starts_with("eyJhbGciOiJIUzI1NiJ9.eyJuYW1lIjoiQWxpY2Ui")
        || case
            .token
            .starts_with("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MDAwMjE2MDAs")
    {
        let mut keys = keys();
        keys.insert(
            roomkey_token::KeyPair::new(
                "APIexample",
                &roomkey_token::ApiSecret::new("example-secret-0123456789abcdefghij"),
            )
            .unwrap(),
        );
        roomkey_token::Verifier::new(keys).with_options(case.options)
    } else {
        verifier_with(case.options)
    }
}

fn short(token: &str) -> String {
    if token.len() > 300 {
        let mut end = 300;
        while !token.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}… ({} bytes)", &token[..end], token.len())
    } else {
        format!("{token:?}")
    }
}

/// Runs one case: the verdict, the message hygiene, and agreement with `decode_unverified`.
fn check(name: &str, case: &Case) {
    let verifier = spec_verifier_for(case);
    let got = verifier.verify_at(&case.token, case.now);
    let ok = match (&case.expect, &got) {
        (Expect::Ok, Ok(_)) => true,
        (Expect::Err(want), Err(e)) => want == e,
        (Expect::HeaderJson, Err(VerifyError::HeaderJson { .. })) => true,
        (Expect::ClaimsJson, Err(VerifyError::ClaimsJson { .. })) => true,
        _ => false,
    };
    assert!(
        ok,
        "case {name}: expected {:?}, got {:?}\n  token: {}",
        case.expect,
        got.as_ref()
            .map(|v| format!("accepted, payload {}", v.payload())),
        short(&case.token)
    );
    match &got {
        Ok(v) => {
            if let Some(f) = case.then {
                f(v);
            }
            // The payload re-parses to the same claims.
            let again: roomkey_token::Claims = serde_json::from_str(v.payload()).unwrap();
            assert_eq!(again, v.claims, "case {name}: payload re-parse");
        }
        Err(e) => assert_message_is_safe(name, e, &case.token),
    }
}

/// An error message must not echo a secret, the token, or its signature segment.
fn assert_message_is_safe(name: &str, e: &VerifyError, token: &str) {
    let msg = e.to_string();
    assert!(!msg.is_empty(), "case {name}: empty message");
    for secret in [SECRET, SECRET2, "example-secret-0123456789abcdefghij"] {
        assert!(
            !msg.contains(secret),
            "case {name}: message contains a secret: {msg}"
        );
    }
    if !token.is_empty() {
        assert!(
            !msg.contains(token),
            "case {name}: message contains the token: {msg}"
        );
    }
    if let Some(sig) = token
        .rsplit('.')
        .next()
        .filter(|s| s.len() >= 8 && token.contains('.'))
    {
        assert!(
            !msg.contains(sig),
            "case {name}: message contains the signature: {msg}"
        );
    }
    let debug = format!("{e:?}");
    for secret in [SECRET, SECRET2] {
        assert!(
            !debug.contains(secret),
            "case {name}: Debug contains a secret"
        );
    }
}

/// `dangerous::decode_unverified` runs the same structural checks as verification: over the
/// whole corpus, it fails exactly where verification fails before the key lookup, and succeeds
/// (with the same claims and payload) otherwise. It never checks a signature, so it never
/// reports `BadSignature`.
#[test]
fn decode_unverified_agrees_with_verify() {
    let mut mismatches = Vec::new();
    for (name, _, case) in all_cases() {
        if case.options.max_token_len != VerifyOptions::default().max_token_len {
            continue; // decode_unverified always uses the default cap
        }
        let verified = spec_verifier_for(&case).verify_at(&case.token, case.now);
        let decoded = dangerous::decode_unverified(&case.token);
        let agrees = match (&verified, &decoded) {
            (Ok(v), Ok((claims, payload))) => *claims == v.claims && payload == v.payload(),
            (
                Err(
                    e @ (VerifyError::Empty
                    | VerifyError::TooLarge { .. }
                    | VerifyError::SegmentCount { .. }
                    | VerifyError::Base64 { .. }
                    | VerifyError::HeaderJson { .. }
                    | VerifyError::UnsupportedAlgorithm { .. }
                    | VerifyError::CriticalHeader),
                ),
                Err(d),
            ) => e == d,
            (Err(VerifyError::ClaimsJson { .. }), Err(VerifyError::ClaimsJson { .. })) => true,
            // Issuer, key, MAC and time problems are invisible to an unverified decode.
            (
                Err(
                    VerifyError::MissingIssuer
                    | VerifyError::UnknownKey { .. }
                    | VerifyError::BadSignature
                    | VerifyError::MissingExpiry
                    | VerifyError::Expired { .. }
                    | VerifyError::NotYetValid { .. },
                ),
                Ok(_),
            ) => true,
            _ => false,
        };
        if !agrees {
            mismatches.push(format!(
                "{name}: verify_at → {:?}, decode_unverified → {:?}",
                verified.as_ref().err(),
                decoded.as_ref().err()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "decode_unverified disagrees:\n{}",
        mismatches.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------

#[test]
fn corpus_has_at_least_40_negative_cases() {
    let cases = all_cases();
    let negative = cases
        .iter()
        .filter(|(_, _, c)| !matches!(c.expect, Expect::Ok))
        .count();
    let positive = cases.len() - negative;
    assert!(negative >= 40, "{negative} negative cases");
    assert!(positive >= 6, "{positive} positive cases");
    let mut names: Vec<_> = cases.iter().map(|(n, _, _)| *n).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len());
}

/// The same MAC check for every accepted SDK header: swapping an accepted header for another
/// accepted header under the same MAC is refused, in all six directions.
#[test]
fn accepted_headers_are_not_interchangeable() {
    let payload = claims(r#""sub":"alice""#);
    let headers = [HEADER_GO, HEADER_NODE, HEADER_RUST];
    for signed in headers {
        let tag = tag_for(&b64(signed), &b64(&payload));
        for presented in headers {
            let token = with_signature(presented, &payload, &b64(&tag));
            let got = verifier().verify_at(&token, NOW);
            if signed == presented {
                assert!(got.is_ok(), "{got:?}");
            } else {
                assert_eq!(got.unwrap_err(), VerifyError::BadSignature);
            }
        }
    }
}

/// The leeway boundaries, swept: for exp and nbf around now, the verdict follows
/// `now < exp + leeway` and `now >= nbf - leeway` exactly.
#[test]
fn time_boundaries_sweep() {
    for leeway_secs in [0u64, 1, 60, 300] {
        let v = verifier_with(leeway(leeway_secs));
        let l = i64::try_from(leeway_secs).unwrap();
        for d in -3..=3 {
            let exp = NOW - l + d;
            let t = forge_payload(&bare(&format!(r#""exp":{exp}"#)));
            let got = v.verify_at(&t, NOW);
            if NOW < exp + l {
                assert!(got.is_ok(), "exp {d} leeway {leeway_secs}: {got:?}");
            } else {
                assert_eq!(got.unwrap_err(), expired(exp, leeway_secs));
            }
            let nbf = NOW + l + d;
            let t = forge_payload(&bare(&format!(r#""exp":{},"nbf":{nbf}"#, NOW + 10_000)));
            let got = v.verify_at(&t, NOW);
            if NOW >= nbf - l {
                assert!(got.is_ok(), "nbf {d} leeway {leeway_secs}: {got:?}");
            } else {
                assert_eq!(got.unwrap_err(), not_yet_valid(nbf, leeway_secs));
            }
        }
    }
}

/// The corpus as JSON, for other implementations. `ROOMKEY_BLESS=1` rewrites the file.
#[test]
fn corpus_json_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/negative.json");
    let json = corpus_json();
    if std::env::var_os("ROOMKEY_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &json).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == json,
        "{} is stale; run ROOMKEY_BLESS=1 cargo test -p roomkey-token --test negative",
        path.display()
    );
}

const MAX_DUMPED_TOKEN: usize = 8 * 1024;

fn corpus_json() -> String {
    use serde_json::{Value, json};
    let keys: Value = json!([
        {"apiKey": KEY, "secret": SECRET},
        {"apiKey": KEY2, "secret": SECRET2},
        {"apiKey": "APIexample", "secret": "example-secret-0123456789abcdefghij"},
    ]);
    let cases: Vec<Value> = all_cases()
        .into_iter()
        .map(|(name, doc, c)| {
            let expect = match &c.expect {
                Expect::Ok => json!({"ok": true}),
                Expect::HeaderJson => json!({"error": "HeaderJson"}),
                Expect::ClaimsJson => json!({"error": "ClaimsJson"}),
                Expect::Err(e) => {
                    let debug = format!("{e:?}");
                    let variant: String = debug
                        .chars()
                        .take_while(char::is_ascii_alphanumeric)
                        .collect();
                    json!({"error": variant, "exact": debug})
                }
            };
            let mut entry = json!({
                "name": name,
                "note": doc.trim(),
                "now": c.now,
                "leewaySeconds": c.options.leeway.as_secs(),
                "maxTokenLen": c.options.max_token_len,
                "expect": expect,
                "tokenLen": c.token.len(),
            });
            if c.token.len() <= MAX_DUMPED_TOKEN {
                entry["token"] = Value::String(c.token);
            } else {
                entry["token"] = Value::Null;
                entry["tokenOmitted"] =
                    Value::String("too large to store; built in tests/negative.rs".into());
            }
            entry
        })
        .collect();
    let doc = json!({
        "description": "roomkey negative corpus: hostile and malformed LiveKit tokens with the VerifyError each must produce, and positive edge cases. Generated by crates/roomkey-token/tests/negative.rs; do not edit.",
        "rules": {
            "exp": "valid while now < exp + leeway (now == exp + leeway is expired)",
            "nbf": "valid while now >= nbf - leeway",
            "order": "size, segments, base64, header (HS256, no crit), claims JSON, iss, key, MAC, exp, nbf",
        },
        "keys": keys,
        "cases": cases,
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap();
    out.push('\n');
    out
}
