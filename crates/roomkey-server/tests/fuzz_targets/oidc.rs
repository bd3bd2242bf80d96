//! Target `oidc`: the input as the session JWT of an `Authorization: Bearer` request to
//! `/api/token` (body `{"room_name":"lobby"}`); then, if it has a line break, the JSON before it
//! as the header and the JSON after it as the payload of a session signed with the identity
//! provider's ES256 key, so that the fuzzer edits claims directly and gets past the signature to
//! the issuer, audience, time and identity checks. The provider's key set (`rsa-1` for RS256,
//! `ec-1` for ES256) is served on loopback. Only ES256 is signed here: an RSA signature costs
//! about a millisecond, a hundred executions; the RS256 seeds reach that path as they are.
//!
//! Properties, whatever the input: no 5xx; and for every token issued, on the session as
//! decoded here (not by the server's code):
//! - its header's `kid` and `alg` name one of the provider's keys, and the signature is that
//!   key's over the header and payload: checked with the key's public half (read from its JWK)
//!   for a session as given, and for one signed here, the key named is the one that signed;
//! - `iss` is the issuer; `aud` is the audience or an array holding it; `exp` is a number that
//!   has not passed (`ttl_within_session` allows no leeway on it) and `nbf`, if any, is at most
//!   the leeway ahead;
//! - the LiveKit token's identity is `idp:` and the session's `sub` (a non-empty string), its
//!   name the session's `name` (or none), its room `lobby`, and it expires with the session at
//!   the latest.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Value, json};

use super::{Endpoint, unix_now};

const ISSUER: &str = "https://idp.fuzz.invalid";
const AUDIENCE: &str = "roomkey-fuzz";
const LEEWAY: i64 = 30;
/// The profile's TTL, seconds.
const TTL: i64 = 600;

/// A signing key of the provider, by its `kid`, and its public half.
struct ProviderKey {
    kid: &'static str,
    alg: Algorithm,
    key: EncodingKey,
    public: DecodingKey,
}

fn public_key(jwk: &str) -> DecodingKey {
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_str(jwk).expect("a JWK");
    DecodingKey::from_jwk(&jwk).expect("a public key")
}

fn der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64).expect("a PEM file")
}

fn provider_keys() -> &'static [ProviderKey; 2] {
    static K: OnceLock<[ProviderKey; 2]> = OnceLock::new();
    K.get_or_init(|| {
        [
            ProviderKey {
                kid: "ec-1",
                alg: Algorithm::ES256,
                key: EncodingKey::from_ec_der(&der(include_str!("../data/test-only-ec-p256.pem"))),
                public: public_key(include_str!("../data/test-only-ec-p256.jwk.json")),
            },
            ProviderKey {
                kid: "rsa-1",
                alg: Algorithm::RS256,
                key: EncodingKey::from_rsa_der(&der(include_str!("../data/test-only-rsa-a.pem"))),
                public: public_key(include_str!("../data/test-only-rsa-a.jwk.json")),
            },
        ]
    })
}

/// The provider's JWKS document.
fn key_set() -> String {
    let mut ec: Value =
        serde_json::from_str(include_str!("../data/test-only-ec-p256.jwk.json")).expect("a JWK");
    ec["kid"] = json!("ec-1");
    let mut rsa: Value =
        serde_json::from_str(include_str!("../data/test-only-rsa-a.jwk.json")).expect("a JWK");
    rsa["kid"] = json!("rsa-1");
    json!({ "keys": [ec, rsa] }).to_string()
}

/// Serves [`key_set`] to every request on a loopback port, from a thread of its own, for as
/// long as the process lives; returns its URL.
fn serve_key_set() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!(
        "http://{}/jwks.json",
        listener.local_addr().expect("an address")
    );
    let body = key_set();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = answer(stream, &body);
        }
    });
    url
}

fn answer(mut stream: TcpStream, body: &str) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn oidc_config(jwks_url: &str) -> String {
    format!(
        r#"livekit_url = "wss://lk.fuzz.invalid"

[rate_limit]
per_caller_per_minute = 0
per_ip_per_minute = 0

[[oidc]]
issuer = "{ISSUER}"
jwks_url = "{jwks_url}"
audience = "{AUDIENCE}"
name_claim = "name"
identity_prefix = "idp:"
ttl_within_session = true
leeway = "{LEEWAY}s"
profile = "member"

[profile.member]
rooms = ["lobby"]
identity = "subject"
fields = ["participant_name"]
ttl = "{TTL}s"

[profile.member.grants]
can_publish = false
"#
    )
}

fn endpoint() -> &'static Endpoint {
    static E: OnceLock<Endpoint> = OnceLock::new();
    E.get_or_init(|| Endpoint::new(&oidc_config(&serve_key_set())))
}

/// The ES256 signature of `ec-1` over `message`, from a key parsed once: jsonwebtoken's
/// `crypto::sign` parses the PKCS#8 key (and derives its public point) on every call, which
/// doubled the cost of an execution.
fn es256_signature(message: &str) -> String {
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::DecodePrivateKey as _;
    static KEY: OnceLock<p256::ecdsa::SigningKey> = OnceLock::new();
    let key = KEY.get_or_init(|| {
        p256::ecdsa::SigningKey::from_pkcs8_der(&der(include_str!("../data/test-only-ec-p256.pem")))
            .expect("a P-256 key")
    });
    let signature: p256::ecdsa::Signature = key.sign(message.as_bytes());
    URL_SAFE_NO_PAD.encode(signature.to_bytes())
}

pub fn oidc(data: &[u8]) {
    oidc_tokens_issued(data);
}

/// The target, counting the tokens it got issued (0, 1 or 2): the smoke run checks that its
/// seeds get through, so that the properties are not checked on refusals only.
pub fn oidc_tokens_issued(data: &[u8]) -> usize {
    let mut issued = usize::from(check(&String::from_utf8_lossy(data), None));
    if let Some(newline) = data.iter().position(|&b| b == b'\n') {
        let (header, payload) = (&data[..newline], &data[newline + 1..]);
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signed = format!("{message}.{}", es256_signature(&message));
        issued += usize::from(check(&signed, Some(&provider_keys()[0])));
    }
    issued
}

/// Whether a token was issued for `session`.
/// `signed_by`: the key this harness signed `session` with, if it did.
fn check(session: &str, signed_by: Option<&ProviderKey>) -> bool {
    let Ok(auth) = HeaderValue::from_str(&format!("Bearer {session}")) else {
        return false;
    };
    let e = endpoint();
    let before = unix_now();
    let headers = [
        (header::AUTHORIZATION, auth),
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
    ];
    let (status, body) = e.post("/api/token", &headers, br#"{"room_name":"lobby"}"#);
    assert!(!status.is_server_error(), "{status} for a session");
    if status.is_success() {
        let issued = e.issued("/api/token", &body);
        accepted_by_the_rules(session.trim(), signed_by, &issued, before);
    }
    status.is_success()
}

/// Panics unless `session` meets the provider's rules and `issued` follows from it.
fn accepted_by_the_rules(
    session: &str,
    signed_by: Option<&ProviderKey>,
    issued: &roomkey_token::Claims,
    before: i64,
) {
    let parts: Vec<&str> = session.split('.').collect();
    let [header, payload, tag] = parts[..] else {
        panic!("accepted a session of {} parts", parts.len());
    };
    let decode = |part: &str| -> Value {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .unwrap_or_else(|_| panic!("accepted a part that is not base64url: {part:?}"));
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("accepted a part that is not JSON"))
    };
    let (header_json, claims) = (decode(header), decode(payload));

    let kid = header_json.get("kid").and_then(Value::as_str);
    let key = provider_keys()
        .iter()
        .find(|k| Some(k.kid) == kid)
        .unwrap_or_else(|| panic!("accepted the kid {kid:?}"));
    let alg = header_json.get("alg").and_then(Value::as_str);
    let want_alg = if key.alg == Algorithm::ES256 {
        "ES256"
    } else {
        "RS256"
    };
    assert_eq!(alg, Some(want_alg), "accepted alg {alg:?} for {}", key.kid);
    match signed_by {
        // Signed here: the header must name the key that signed it (a second ECDSA check per
        // execution would cost a third of the target's speed).
        Some(signer) => assert_eq!(
            key.kid, signer.kid,
            "accepted a signature of {} under the kid {}",
            signer.kid, key.kid
        ),
        None => {
            let message = &session[..header.len() + 1 + payload.len()];
            let genuine =
                jsonwebtoken::crypto::verify(tag, message.as_bytes(), &key.public, key.alg);
            assert!(
                matches!(genuine, Ok(true)),
                "accepted a signature the key {} did not make",
                key.kid
            );
        }
    }

    assert_eq!(
        claims.get("iss").and_then(Value::as_str),
        Some(ISSUER),
        "iss"
    );
    let aud = claims.get("aud");
    let audience_ok = match aud {
        Some(Value::String(a)) => a == AUDIENCE,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(AUDIENCE)),
        _ => false,
    };
    assert!(audience_ok, "accepted aud {aud:?}");
    let exp = claims.get("exp").and_then(Value::as_f64);
    assert!(
        exp.is_some_and(|exp| exp > before as f64),
        "accepted exp {exp:?} at {before}"
    );
    if let Some(nbf) = claims.get("nbf") {
        // (jsonwebtoken rounds a fractional nbf to whole seconds before comparing.)
        let nbf = nbf.as_f64().map(f64::round);
        let now = unix_now();
        assert!(
            nbf.is_some_and(|nbf| nbf <= (now + LEEWAY) as f64),
            "accepted nbf {nbf:?} at {now}"
        );
    }

    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    assert!(!sub.is_empty(), "accepted a session without a subject");
    assert_eq!(issued.sub, format!("idp:{sub}"), "identity");
    let name = claims.get("name").and_then(Value::as_str).unwrap_or("");
    assert_eq!(issued.name, name, "name");
    assert_eq!(issued.room(), "lobby");
    let issued_exp = issued.exp.expect("exp");
    assert!(
        issued_exp as f64 <= exp.expect("checked above"),
        "outlives the session"
    );
    assert!(issued_exp - issued.nbf.unwrap_or(before) <= TTL, "ttl");
}

/// Seeds for the smoke run and the committed corpus: sessions the provider signed (valid until
/// 2100), ES256 and RS256, with an audience list, a name and an `nbf`; and the ES256 ones as
/// header and payload lines for the target to sign.
pub fn oidc_seeds() -> Vec<Vec<u8>> {
    let sessions = [
        (
            0,
            json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "ada", "exp": 4_102_444_800_i64}),
        ),
        (
            1,
            json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "grace", "exp": 4_102_444_800_i64}),
        ),
        (
            0,
            json!({"iss": ISSUER, "aud": ["other", AUDIENCE], "sub": "alan", "name": "Alan T.",
                   "iat": 1_700_000_000, "nbf": 1_700_000_000, "exp": 4_102_444_800_i64}),
        ),
    ];
    let mut seeds = Vec::new();
    for (which, claims) in &sessions {
        let key = &provider_keys()[*which];
        let mut head = jsonwebtoken::Header::new(key.alg);
        head.kid = Some(key.kid.to_owned());
        let token = jsonwebtoken::encode(&head, claims, &key.key).expect("signing works");
        seeds.push(token.into_bytes());
        if key.alg == Algorithm::ES256 {
            let head = serde_json::to_string(&head).expect("a header");
            seeds.push(format!("{head}\n{claims}").into_bytes());
        }
    }
    seeds
}

/// A session, as header and payload lines, that expired 10 s ago: within the leeway, but
/// `ttl_within_session` leaves it no time, so no token may be issued for it.
pub fn oidc_expired_within_leeway() -> Vec<u8> {
    let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "late", "exp": unix_now() - 10});
    format!(
        r#"{{"typ":"JWT","alg":"ES256","kid":"ec-1"}}{}{claims}"#,
        '\n'
    )
    .into_bytes()
}
