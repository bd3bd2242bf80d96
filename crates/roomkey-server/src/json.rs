//! JSON strings written straight into bytes, for the audit line (see `logging`) and the token
//! answer on the server's hot path. Escapes what JSON requires (`"`, `\` and the control
//! characters) and nothing else, as serde_json does.

/// Appends `s` as a JSON string, quotes included.
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    escape_into(out, s);
    out.push(b'"');
}

/// The length of `s` as a JSON string, quotes included: what [`push_str`] appends.
pub(crate) fn quoted_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    if !any_needs_escape(bytes) {
        return bytes.len() + 2;
    }
    let escaped: usize = bytes
        .iter()
        .map(|&b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum();
    escaped + 2
}

/// Appends `s` escaped for the inside of a JSON string.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Nearly every string on the hot path (names, rooms, tokens) needs no escaping at all.
    if !any_needs_escape(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Whether any byte of `bytes` needs escaping, looked at eight bytes at a time.
fn any_needs_escape(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut w = [0; 8];
        w.copy_from_slice(word);
        if needs_escape(u64::from_le_bytes(w)) {
            return true;
        }
    }
    let rest = words.remainder();
    if rest.is_empty() {
        return false;
    }
    match bytes.len().checked_sub(8) {
        // The last eight bytes, overlapping words already seen (a word copied together from
        // a few bytes would be read back slowly).
        Some(start) => {
            let mut w = [0; 8];
            w.copy_from_slice(&bytes[start..]);
            needs_escape(u64::from_le_bytes(w))
        }
        None => rest.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\'),
    }
}

/// Whether any of the eight bytes of `word` is `"`, `\` or below 0x20. (The classic
/// "has a byte less than n" test, `(x - n·0x01…) & !x & 0x80…`, is exact as a yes/no answer for
/// n ≤ 128; a byte equal to c is a zero byte of `x ^ c·0x01…`.)
const fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const fn has_zero(x: u64) -> u64 {
        x.wrapping_sub(ONES) & !x & HIGH
    }
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let quote = has_zero(word ^ (ONES * b'"' as u64));
    let backslash = has_zero(word ^ (ONES * b'\\' as u64));
    (control | quote | backslash) != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `push_str`'s output, checked against `quoted_len` on the way.
    fn ours(s: &str) -> String {
        let mut out = Vec::new();
        push_str(&mut out, s);
        assert_eq!(out.len(), quoted_len(s), "quoted_len of {s:?}");
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_exactly_as_serde_json_does() {
        let mut every_ascii: String = (0u8..0x80).map(char::from).collect();
        every_ascii.push_str("é 日本 🙂 \u{2028}");
        for s in [
            "",
            "plain",
            "exactly8",
            "sixteen bytes ok",
            "q\"b\\s",
            "tab\there\u{1f}",
            "seven b\"",
            "eight by\"",
            "\u{7f}\u{80}\u{ff}",
            every_ascii.as_str(),
        ] {
            assert_eq!(ours(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn the_word_test_finds_every_byte_that_needs_escaping() {
        for b in 0u8..=255 {
            for position in 0..8 {
                let mut word = [b'a'; 8];
                word[position] = b;
                let expected = b < 0x20 || b == b'"' || b == b'\\';
                assert_eq!(
                    needs_escape(u64::from_le_bytes(word)),
                    expected,
                    "byte {b:#04x} at {position}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn any_string_escapes_as_serde_json_does(s in any::<String>()) {
            prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn strings_of_json_specials_escape_as_serde_json_does(
            s in proptest::collection::vec(
                prop_oneof![Just('"'), Just('\\'), Just('\n'), Just('\u{1}'), Just('a'), Just('é')],
                0..40,
            ).prop_map(|c| c.into_iter().collect::<String>())
        ) {
            prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
        }
    }
}
