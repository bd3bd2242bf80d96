//! The token endpoints' answers: the standard endpoint's, written by hand on the hot path, and
//! the action endpoint's.

use serde::Serialize;

use crate::json;

/// The standard endpoint's answer, in snake_case only (Swift and Rust clients read nothing
/// else): `{"server_url":…,"participant_token":…,"room_name":…,"participant_name":…}`.
/// Written directly rather than through serde_json, whose byte-by-byte escaping of the
/// 400-byte token took 0.83 µs per token in a `perf` profile of `roomkey serve` under wrk,
/// against 0.35 µs for json.rs, which checks eight bytes at a time (its escaping is tested
/// against serde_json's).
pub(crate) fn standard_answer(server_url: &str, token: &str, room: &str, name: &str) -> Vec<u8> {
    const FIXED: &[&str] = &[
        "{\"server_url\":",
        ",\"participant_token\":",
        ",\"room_name\":",
        ",\"participant_name\":",
        "}",
    ];
    // At its exact size, so that `Bytes` takes the vector without another allocation.
    let len = FIXED.iter().map(|s| s.len()).sum::<usize>()
        + [server_url, token, room, name]
            .iter()
            .map(|s| json::quoted_len(s))
            .sum::<usize>();
    let mut out = Vec::with_capacity(len);
    for (key, value) in FIXED.iter().zip([server_url, token, room, name]) {
        out.extend_from_slice(key.as_bytes());
        json::push_str(&mut out, value);
    }
    out.extend_from_slice(FIXED[4].as_bytes());
    debug_assert_eq!(out.len(), len);
    out
}

/// The action endpoint's answer.
#[derive(Serialize)]
pub(crate) struct ActionResponse<'a> {
    pub(crate) token: &'a str,
    pub(crate) summary: &'a str,
    pub(crate) expires_at: Option<i64>,
    pub(crate) identity: &'a str,
    pub(crate) room: &'a str,
    pub(crate) server_url: &'a str,
}

#[cfg(test)]
mod tests {
    use super::standard_answer;

    #[derive(serde::Serialize)]
    struct StandardResponse<'a> {
        server_url: &'a str,
        participant_token: &'a str,
        room_name: &'a str,
        participant_name: &'a str,
    }

    #[test]
    fn the_standard_answer_is_serde_jsons_byte_for_byte() {
        for (url, token, room, name) in [
            ("wss://lk.example.com", "eyJh.eyJp.c2ln", "support-1", "Ann"),
            ("", "", "", ""),
            ("wss://x/\"q\"", "t\\", "r\u{1}\n", "Zoë \u{2028} \t"),
        ] {
            let want = serde_json::to_vec(&StandardResponse {
                server_url: url,
                participant_token: token,
                room_name: room,
                participant_name: name,
            })
            .unwrap();
            let got = standard_answer(url, token, room, name);
            assert_eq!(
                String::from_utf8(got.clone()).unwrap(),
                String::from_utf8(want).unwrap()
            );
            assert_eq!(got.len(), got.capacity(), "not at its exact size");
        }
    }
}
