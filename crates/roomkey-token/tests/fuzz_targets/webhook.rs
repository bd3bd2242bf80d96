//! Target `webhook`: `webhook::verify_webhook` against a small independent oracle of the
//! receiver rules (the LiveKit server's spec §5, and roomkey's two documented leniencies).
//!
//! The input is `AUTHORIZATION \n BODY`. Three requests are made of it: the header as given; a
//! header minted here from the first line read as a claims object, with its `sha256` set to the
//! body's digest (padded or not) and signed with the right key, so that the fuzzer reaches the
//! time and issuer checks; and the body signed with `sign_webhook_at`. Properties:
//! - whatever `verify_webhook` accepts, the oracle accepts;
//! - a body signed with `sign_webhook_at` always passes the signature and digest checks (only
//!   a body that is not an event may be refused, as `MalformedBody`);
//! - that same header with any one byte of the body changed is refused as `BodyMismatch`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use roomkey_token::webhook::{WebhookError, WebhookOptions, sign_webhook_at, verify_webhook};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{HEADER_B64, KEY, NOW, SECRET, keys, sign};

/// The receivers' clock leeway, seconds.
const LEEWAY: i64 = 60;

pub fn webhook(data: &[u8]) {
    let (auth, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    let auth = String::from_utf8_lossy(auth);
    check(body, Some(&auth));

    // The first line as claims, vouching for the body and signed with our key.
    if let Ok(Value::Object(mut claims)) = serde_json::from_str::<Value>(&auth) {
        let digest = Sha256::digest(body);
        let sha = if data.len() % 2 == 0 {
            STANDARD.encode(digest)
        } else {
            STANDARD_NO_PAD.encode(digest)
        };
        claims.insert("sha256".into(), Value::String(sha));
        let input = format!(
            "{HEADER_B64}.{}",
            URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string())
        );
        let token = format!("{input}.{}", sign(&input));
        check(body, Some(&token));
        check(body, Some(&format!("Bearer {token}")));
    }

    // What the server sends always verifies, and only for this body.
    let key = keys().get(KEY).expect("our key");
    let signed = sign_webhook_at(body, key, NOW).expect("signs");
    match verify_webhook(
        body,
        Some(&signed),
        keys(),
        WebhookOptions::default().at(NOW),
    ) {
        Ok(_) | Err(WebhookError::MalformedBody { .. }) => {}
        Err(e) => panic!("a body signed by sign_webhook_at is refused: {e:?}"),
    }
    if !body.is_empty() {
        let mut changed = body.to_vec();
        let at = usize::from(data[0]) * 31 % changed.len();
        changed[at] = changed[at].wrapping_add(1 + data.len().to_le_bytes()[0] % 255);
        assert_eq!(
            verify_webhook(
                &changed,
                Some(&signed),
                keys(),
                WebhookOptions::default().at(NOW)
            )
            .err(),
            Some(WebhookError::BodyMismatch),
            "a body changed at byte {at} is not refused as changed"
        );
    }
}

fn check(body: &[u8], auth: Option<&str>) {
    let result = verify_webhook(body, auth, keys(), WebhookOptions::default().at(NOW));
    if let Ok(event) = &result {
        if let Err(why) = oracle(body, auth) {
            panic!("verify_webhook accepted what the rules refuse ({why}): {event:?}");
        }
    }
}

/// The receiver rules, written from the spec and not from roomkey's code: the `Authorization`
/// value (roomkey also takes a `Bearer ` prefix) is an HS256 JWT signed with the secret of its
/// `iss`, with an `exp` within the leeway (and `nbf`, if any), whose `sha256` is the standard
/// base64 of the body's SHA-256 (roomkey also takes it unpadded).
fn oracle(body: &[u8], auth: Option<&str>) -> Result<(), &'static str> {
    let auth = auth.ok_or("no header")?.trim();
    let token = auth.strip_prefix("Bearer ").unwrap_or(auth).trim();
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err("not three parts");
    };
    let header: Map<String, Value> = json_segment(header).ok_or("header not a JSON object")?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err("alg is not HS256");
    }
    let claims: Map<String, Value> = json_segment(payload).ok_or("payload not a JSON object")?;
    let iss = claims.get("iss").and_then(Value::as_str).ok_or("no iss")?;
    if iss != KEY {
        return Err("iss is not a known key");
    }
    let tag = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "signature not base64url")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any length");
    mac.update(&token.as_bytes()[..header_and_payload_len(token)]);
    mac.verify_slice(&tag).map_err(|_| "bad signature")?;
    let now = NOW as f64;
    let exp = claims.get("exp").and_then(Value::as_f64).ok_or("no exp")?;
    if now >= exp + LEEWAY as f64 {
        return Err("expired");
    }
    if let Some(nbf) = claims.get("nbf").filter(|v| !v.is_null()) {
        let nbf = nbf.as_f64().ok_or("nbf not a number")?;
        if now < nbf - LEEWAY as f64 {
            return Err("not yet valid");
        }
    }
    let sha = claims
        .get("sha256")
        .and_then(Value::as_str)
        .ok_or("no sha256")?;
    let claimed = STANDARD
        .decode(sha)
        .or_else(|_| STANDARD_NO_PAD.decode(sha))
        .map_err(|_| "sha256 not base64")?;
    if claimed != Sha256::digest(body).as_slice() {
        return Err("digest differs");
    }
    Ok(())
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').expect("three parts")
}

fn json_segment(segment: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}
