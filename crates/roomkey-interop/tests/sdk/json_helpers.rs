//! JSON helpers.

use super::*;

pub(crate) fn get_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, part| v.get(part))
}

pub(crate) fn remove_path(v: &mut Value, path: &str) -> bool {
    let (parent, last) = match path.rsplit_once('.') {
        Some((parent, last)) => (parent, last),
        None => ("", path),
    };
    let target = if parent.is_empty() {
        Some(v)
    } else {
        parent.split('.').try_fold(v, |v, part| v.get_mut(part))
    };
    target
        .and_then(Value::as_object_mut)
        .is_some_and(|o| o.remove(last).is_some())
}

/// Decodes a token's payload without checking it (for headers and raw-payload assertions).
pub(crate) fn payload_json(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64url_decode(part);
    serde_json::from_slice(&bytes).expect("payload is JSON")
}

pub(crate) fn base64url_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .expect("base64url character");
        acc = (acc << 6) | u32::try_from(v).expect("small");
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).expect("byte"));
        }
    }
    out
}
