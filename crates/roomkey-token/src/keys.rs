//! API keys and secrets: [`ApiSecret`], [`KeyPair`] and [`KeySet`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::jws::MacKey;

/// Secrets shorter than this many bytes draw a warning from the LiveKit server (and from
/// roomkey's CLI). They still work.
pub const RECOMMENDED_SECRET_LEN: usize = 32;

/// An API secret. Its bytes are used as the HMAC key as they are (never base64-decoded).
///
/// `Debug` prints no part of it, and the memory is wiped on drop. There is deliberately no
/// `Display` and no `Serialize`.
#[derive(Clone)]
pub struct ApiSecret(Zeroizing<String>);

impl ApiSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        ApiSecret(Zeroizing::new(secret.into()))
    }

    /// The secret's bytes, for the HMAC.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the LiveKit server would warn that this secret is short (under 32 bytes).
    pub fn is_short(&self) -> bool {
        self.0.len() < RECOMMENDED_SECRET_LEN
    }
}

impl fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiSecret(<redacted>)")
    }
}

impl From<&str> for ApiSecret {
    fn from(s: &str) -> Self {
        ApiSecret::new(s)
    }
}

impl From<String> for ApiSecret {
    fn from(s: String) -> Self {
        ApiSecret::new(s)
    }
}

/// An API key with its secret, ready to sign: the HMAC key schedule is computed once, here.
#[derive(Clone)]
pub struct KeyPair {
    api_key: Arc<str>,
    secret_len: usize,
    pub(crate) mac: MacKey,
}

impl KeyPair {
    /// Pairs a key with its secret.
    ///
    /// # Errors
    /// [`KeyError::EmptyApiKey`] or [`KeyError::EmptyApiSecret`] if either is empty.
    pub fn new(api_key: impl Into<String>, secret: &ApiSecret) -> Result<Self, KeyError> {
        let api_key: String = api_key.into();
        if api_key.is_empty() {
            return Err(KeyError::EmptyApiKey);
        }
        if secret.is_empty() {
            return Err(KeyError::EmptyApiSecret { key: api_key });
        }
        Ok(KeyPair {
            api_key: api_key.into(),
            secret_len: secret.len(),
            mac: MacKey::new(secret.expose().as_bytes()),
        })
    }

    /// The API key (the `iss` of the tokens this pair signs).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Whether the secret is shorter than the LiveKit server recommends (32 bytes).
    pub fn secret_is_short(&self) -> bool {
        self.secret_len < RECOMMENDED_SECRET_LEN
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("api_key", &self.api_key)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The keys a verifier accepts, looked up by the token's issuer (`iss`), as the LiveKit server
/// does.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: HashMap<Arc<str>, KeyPair>,
}

impl KeySet {
    /// An empty key set.
    pub fn new() -> Self {
        KeySet::default()
    }

    /// A key set holding one pair.
    pub fn single(pair: KeyPair) -> Self {
        let mut set = KeySet::new();
        set.insert(pair);
        set
    }

    /// Adds a pair, replacing any earlier secret for the same key.
    pub fn insert(&mut self, pair: KeyPair) {
        self.keys.insert(pair.api_key.clone(), pair);
    }

    /// The pair for an API key, if configured.
    pub fn get(&self, api_key: &str) -> Option<&KeyPair> {
        if self.keys.len() == 1 {
            // The common case, one key: a comparison is cheaper than hashing.
            return self
                .keys
                .values()
                .next()
                .filter(|pair| *pair.api_key == *api_key);
        }
        self.keys.get(api_key)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The configured API keys, sorted.
    pub fn api_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.keys.keys().map(|k| &**k).collect();
        keys.sort_unstable();
        keys
    }

    /// Parses the LiveKit server's key format: the body of a `key_file`, or the value of
    /// `LIVEKIT_KEYS`. That is a YAML mapping of API key to secret, one `key: secret` per line
    /// (the space after the colon is required). Blank lines and `#` comments are allowed, and
    /// keys and secrets may be single- or double-quoted.
    ///
    /// Only this flat form is read; anything else is refused with the line number rather than
    /// guessed at.
    ///
    /// # Errors
    /// [`KeyError::Syntax`], [`KeyError::DuplicateKey`], [`KeyError::EmptyApiSecret`], or
    /// [`KeyError::NoKeys`] for a text with no pair.
    ///
    /// # Example
    /// ```
    /// let keys = roomkey_token::KeySet::parse("APIabc: first-secret\n# old key\nAPIold: 'second: secret'\n")?;
    /// assert_eq!(keys.api_keys(), ["APIabc", "APIold"]);
    /// # Ok::<(), roomkey_token::KeyError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let mut set = KeySet::new();
        // YAML breaks lines at `\n`, `\r\n`, a lone `\r`, and NEL, LS and PS (as the server's
        // YAML reader does); `str::lines` knows only the first two, and would read the pair
        // after another break into the secret before it. A leading byte-order mark is no text.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines = text
            .split(['\n', '\u{85}', '\u{2028}', '\u{2029}'])
            .flat_map(|l| l.strip_suffix('\r').unwrap_or(l).split('\r'));
        for (index, raw) in lines.enumerate() {
            let line = index + 1;
            if let Some(c) = raw.chars().find(|&c| !is_yaml_printable(c)) {
                return Err(KeyError::Syntax {
                    line,
                    reason: format!(
                        "the control character U+{:04X} is not allowed in YAML; remove it",
                        u32::from(c)
                    ),
                });
            }
            let trimmed = raw.trim_matches(BLANKS);
            if let Some(rest) = raw.strip_prefix("---").or_else(|| raw.strip_prefix("...")) {
                let rest = rest.trim_matches(BLANKS);
                let marker = rest.is_empty() || raw[3..].starts_with(BLANKS);
                // Only a `---` before the first pair is allowed: the server's YAML reader reads
                // the first document only, and `...` ends it.
                if marker {
                    if raw.starts_with("---")
                        && set.is_empty()
                        && (rest.is_empty() || rest.starts_with('#'))
                    {
                        continue;
                    }
                    return Err(syntax(
                        line,
                        "a YAML document marker (`---` or `...`) here; the keys file is one document of `key: secret` lines",
                    ));
                }
            }
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if raw.starts_with([' ', '\t']) {
                return Err(syntax(
                    line,
                    "indented lines are not supported (nested YAML)",
                ));
            }
            if trimmed.starts_with(['{', '[', '-']) {
                return Err(syntax(line, "flow or list syntax is not supported"));
            }
            let (key, rest) = scalar(trimmed, true).map_err(|reason| syntax(line, reason))?;
            let Some(rest) = rest.strip_prefix(':') else {
                return Err(syntax(line, "expected a colon after the key"));
            };
            if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
                return Err(syntax(line, "the colon must be followed by a space"));
            }
            let rest = rest.trim_start_matches(BLANKS);
            let (secret, tail) = scalar(rest, false).map_err(|reason| syntax(line, reason))?;
            let tail = tail.trim_matches(BLANKS);
            if !tail.is_empty() && !tail.starts_with('#') {
                return Err(syntax(line, "unexpected text after the secret"));
            }
            if key.is_empty() {
                return Err(syntax(line, "the key is empty"));
            }
            if secret.is_empty() {
                return Err(syntax(
                    line,
                    "no secret after the colon (a nested `keys:` section is not supported; list the pairs themselves)",
                ));
            }
            if set.keys.contains_key(key.as_str()) {
                return Err(KeyError::DuplicateKey { line, key });
            }
            set.insert(KeyPair::new(key, &ApiSecret::new(secret))?);
        }
        if set.is_empty() {
            return Err(KeyError::NoKeys);
        }
        Ok(set)
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("api_keys", &self.api_keys())
            .finish()
    }
}

/// Whether YAML allows `c` in a line (its printable set, less the line breaks, which are split
/// on before this is asked).
fn is_yaml_printable(c: char) -> bool {
    matches!(c, '\t' | ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// YAML's blanks: a no-break space or another Unicode space is text to YAML (and so to the
/// server), part of the key or secret it touches.
const BLANKS: [char; 2] = [' ', '\t'];

fn syntax(line: usize, reason: &str) -> KeyError {
    KeyError::Syntax {
        line,
        reason: reason.to_owned(),
    }
}

/// Reads one YAML scalar from the start of `s`: quoted, or plain up to `: ` (for a key) or up to
/// ` #` (for a value). Returns the scalar and the rest of the line.
fn scalar(s: &str, is_key: bool) -> Result<(String, &str), &'static str> {
    if let Some(body) = s.strip_prefix('\'') {
        // Single quotes: '' is an escaped quote, nothing else is special.
        let mut out = String::new();
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if matches!(chars.peek(), Some((_, '\''))) {
                    chars.next();
                    out.push('\'');
                } else {
                    return Ok((out, &body[i + 1..]));
                }
            } else {
                out.push(c);
            }
        }
        return Err("unterminated single quote");
    }
    if let Some(body) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((out, &body[i + 1..])),
                '\\' => match chars.next().map(|(_, e)| e) {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('/') => out.push('/'),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    _ => return Err("unsupported escape in double quotes"),
                },
                c => out.push(c),
            }
        }
        return Err("unterminated double quote");
    }
    // A plain scalar cannot start with a YAML indicator: the server's YAML reader would take
    // `!tag`, `&anchor`, `*alias`, a `|` or `>` block, a `[`/`{` collection or a `#` comment
    // where this reader would see text, and so read another key or secret.
    let mut chars = s.chars();
    let first = chars.next();
    let then_blank = chars.next().is_none_or(|c| c == ' ' || c == '\t');
    if first.is_some_and(|c| "!&*|>%@`[{#".contains(c))
        || (first.is_some_and(|c| c == '?' || c == '-') && then_blank)
    {
        return Err(
            "a plain key or secret cannot start with a YAML indicator (! & * | > % @ ` [ { # ? -); quote it",
        );
    }
    let end = if is_key {
        // A plain key ends at the first ':' that is followed by a space or the line's end.
        let bytes = s.as_bytes();
        (0..bytes.len())
            .find(|&i| {
                bytes[i] == b':' && bytes.get(i + 1).is_none_or(|b| *b == b' ' || *b == b'\t')
            })
            .ok_or("expected `key: secret`")?
    } else {
        // The first ` #` or tab-`#`, whichever comes first, starts a comment.
        s.as_bytes()
            .windows(2)
            .position(|w| matches!(w[0], b' ' | b'\t') && w[1] == b'#')
            .unwrap_or(s.len())
    };
    let text = s[..end].trim_end_matches(BLANKS);
    // What YAML reads otherwise: a comment inside a plain key, a mapping inside a plain secret.
    let comment = text.contains(" #") || text.contains("\t#");
    if is_key && comment {
        return Err("a plain key cannot contain ` #` (YAML reads a comment there); quote it");
    }
    if !is_key && (text.contains(": ") || text.contains(":\t") || text.ends_with(':')) {
        return Err(
            "a plain secret cannot contain `: ` or end with `:` (YAML reads a mapping there); quote it",
        );
    }
    Ok((text.to_owned(), &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_quoted_and_comments() {
        let keys = KeySet::parse(
            "# keys\n\nAPIa: plain-secret # trailing comment\n'APIb': 'it''s: quoted'\n\"APIc\": \"a\\\"b\"\nAPId: with:colon\n",
        )
        .unwrap();
        assert_eq!(keys.api_keys(), ["APIa", "APIb", "APIc", "APId"]);
        assert_eq!(keys.len(), 4);
    }

    #[test]
    fn a_lone_carriage_return_ends_a_line() {
        // Found by the keys_file fuzz target: YAML reads two pairs here.
        let keys = KeySet::parse("APIa: one\rAPIb: two\r\nAPIc: three\n").unwrap();
        assert_eq!(keys.api_keys(), ["APIa", "APIb", "APIc"]);
        assert_eq!(
            KeySet::parse("APIa: one\rAPIb:two\n").unwrap_err(),
            syntax(2, "expected `key: secret`")
        );
    }

    #[test]
    fn every_yaml_line_break_ends_a_line_and_control_characters_are_refused() {
        // Found in review: YAML (and the server's reader) breaks lines at NEL, LS and PS too.
        let keys = KeySet::parse("APIa: one\u{85}APIb: two\u{2028}APIc: three\u{2029}").unwrap();
        assert_eq!(keys.api_keys(), ["APIa", "APIb", "APIc"]);
        let one = KeySet::parse("APIa: one\n").unwrap();
        let with_nel = KeySet::parse("\u{feff}APIa: one\u{85}").unwrap();
        let token = crate::AccessToken::new()
            .sign_at(with_nel.get("APIa").unwrap(), 1_700_000_000)
            .unwrap();
        assert!(
            crate::Verifier::new(one)
                .verify_at(&token, 1_700_000_000)
                .is_ok()
        );
        for (text, line) in [
            ("APIa: o\u{b}ne\n", 1),
            ("APIa: one\nAPIb: two\u{c}\n", 2),
            ("APIa: \u{7f}\n", 1),
        ] {
            assert!(
                matches!(KeySet::parse(text), Err(KeyError::Syntax { line: l, .. }) if l == line),
                "{text:?}"
            );
        }
    }

    #[test]
    fn what_yaml_reads_as_a_comment_or_a_mapping_is_refused_unquoted() {
        for text in ["a #b: c\n", "APIa: x: y\n", "APIa: x:\n", "APIa: x:\ty\n"] {
            assert!(
                matches!(KeySet::parse(text), Err(KeyError::Syntax { line: 1, .. })),
                "{text:?}"
            );
        }
        let keys = KeySet::parse("APIa: x:y\nAPIb: 'x: y'\n\"a #b\": c\n").unwrap();
        assert_eq!(keys.api_keys(), ["APIa", "APIb", "a #b"]);
    }

    #[test]
    fn document_markers_only_start_the_file() {
        // Found by the keys_file fuzz campaign: YAML reads `... #x` as the end of the document
        // and a comment, where a plain key `... #x` was read; and the server reads the first
        // document only.
        assert_eq!(
            KeySet::parse("---\nAPIa: one\n").unwrap().api_keys(),
            ["APIa"]
        );
        assert_eq!(
            KeySet::parse("--- # keys\nAPIa: one\n").unwrap().api_keys(),
            ["APIa"]
        );
        for (text, line) in [
            ("APIa: one\n... #x: y\n", 2),
            ("APIa: one\n---\nAPIb: two\n", 2),
            ("APIa: one\n...\n", 2),
            ("--- APIa: one\n", 1),
        ] {
            assert!(
                matches!(KeySet::parse(text), Err(KeyError::Syntax { line: l, .. }) if l == line),
                "{text:?}"
            );
        }
        assert_eq!(KeySet::parse("...a: y\n").unwrap().api_keys(), ["...a"]);
    }

    #[test]
    fn only_spaces_and_tabs_are_blanks() {
        // Found by the keys_file fuzz campaign: a no-break space is text to YAML, so it stays
        // part of the key or secret (trimming it would sign with another secret than the
        // server reads).
        let keys = KeySet::parse("\u{a0}APIa: one\u{a0}\n").unwrap();
        assert_eq!(keys.api_keys(), ["\u{a0}APIa"]);
        let pair = keys.get("\u{a0}APIa").unwrap();
        let token = crate::AccessToken::new()
            .sign_at(pair, 1_700_000_000)
            .unwrap();
        let as_yaml_reads = KeyPair::new("\u{a0}APIa", &ApiSecret::new("one\u{a0}")).unwrap();
        assert!(
            crate::Verifier::new(KeySet::single(as_yaml_reads))
                .verify_at(&token, 1_700_000_000)
                .is_ok()
        );
    }

    #[test]
    fn yaml_indicators_are_refused_unquoted() {
        // Found by the keys_file fuzz target: YAML reads a tag, not a key, here.
        for text in [
            "!tag: a: b\n",
            "APIa: *alias\n",
            "APIa: &anchor x\n",
            "APIa: |\n",
            "APIa: [x]\n",
            "APIa: #x\n",
            "APIa: - x\n",
        ] {
            assert!(
                matches!(KeySet::parse(text), Err(KeyError::Syntax { line: 1, .. })),
                "{text:?}"
            );
        }
        let keys = KeySet::parse("APIa: '*not-an-alias'\nAPIb: -dash\nAPIc: a!b\n").unwrap();
        assert_eq!(keys.api_keys(), ["APIa", "APIb", "APIc"]);
    }

    #[test]
    fn the_first_comment_wins_whether_after_a_space_or_a_tab() {
        // Found by the keys_file fuzz target: the tab-# came first, the space-# was used.
        let keys = KeySet::parse("APIa: one\t# a # b\nAPIb: two\t#x\n").unwrap();
        let pair = keys.get("APIa").unwrap();
        let again = KeySet::parse("APIa: one\n").unwrap();
        let token = crate::AccessToken::new()
            .sign_at(pair, 1_700_000_000)
            .unwrap();
        assert!(
            crate::Verifier::new(again)
                .verify_at(&token, 1_700_000_000)
                .is_ok()
        );
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            KeySet::parse("APIa: one\nAPIb:two\n").unwrap_err(),
            syntax(2, "expected `key: secret`")
        );
        assert_eq!(
            KeySet::parse("APIa: one\nAPIa: two\n").unwrap_err(),
            KeyError::DuplicateKey {
                line: 2,
                key: "APIa".into()
            }
        );
        assert!(matches!(
            KeySet::parse("APIa:\n").unwrap_err(),
            KeyError::Syntax { line: 1, .. }
        ));
        assert_eq!(KeySet::parse("# nothing\n").unwrap_err(), KeyError::NoKeys);
        assert!(matches!(
            KeySet::parse("{a: b}").unwrap_err(),
            KeyError::Syntax { line: 1, .. }
        ));
        assert!(matches!(
            KeySet::parse("keys:\n  a: b\n").unwrap_err(),
            KeyError::Syntax { line: 1, .. }
        ));
        assert!(matches!(
            KeySet::parse("a: 'open\n").unwrap_err(),
            KeyError::Syntax { line: 1, .. }
        ));
        // A second `: ` is a mapping to YAML (and so to the server), not part of the secret.
        assert!(matches!(
            KeySet::parse("a: b c: d 'x\n").unwrap_err(),
            KeyError::Syntax { line: 1, .. }
        ));
    }

    #[test]
    fn debug_redacts() {
        let secret = ApiSecret::new("hunter2-hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
        let pair = KeyPair::new("APIk", &secret).unwrap();
        assert!(!format!("{pair:?}").contains("hunter2"));
        let set = KeySet::single(pair);
        assert!(!format!("{set:?}").contains("hunter2"));
    }

    #[test]
    fn empty_key_or_secret() {
        assert_eq!(
            KeyPair::new("", &"s".into()).unwrap_err(),
            KeyError::EmptyApiKey
        );
        assert_eq!(
            KeyPair::new("k", &"".into()).unwrap_err(),
            KeyError::EmptyApiSecret { key: "k".into() }
        );
        assert!(
            KeyPair::new("k", &"short".into())
                .unwrap()
                .secret_is_short()
        );
        assert!(
            !KeyPair::new("k", &"x".repeat(32).into())
                .unwrap()
                .secret_is_short()
        );
    }
}
