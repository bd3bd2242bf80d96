//! Printing: warnings, JSON, and terminal-safe rendering of untrusted text.

use std::fmt::Write as _;
use std::io::Write as _;

/// Prints a warning on standard error.
pub(crate) fn warn(message: &str) {
    eprintln!("roomkey: warning: {message}");
}

/// Writes a line to standard output. A closed pipe (`roomkey ... | head`) ends the program
/// quietly, as other command-line tools do, instead of panicking.
pub(crate) fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("roomkey: error: cannot write to standard output: {e}");
        std::process::exit(2);
    }
}

/// Writes bytes to standard output as they are, quietly ending the program on a closed pipe
/// as [`out`] does.
pub(crate) fn out_bytes(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("roomkey: error: cannot write to standard output: {e}");
        std::process::exit(2);
    }
}

/// Prints a value as pretty JSON on standard output, with bidi and zero-width characters
/// escaped (`\u202e`): the same JSON, but safe to show in a terminal.
pub(crate) fn print_json(value: &serde_json::Value) {
    // Serializing a `Value` cannot fail.
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    let mut safe_text = String::with_capacity(text.len());
    for c in text.chars() {
        if is_invisible(c) {
            // Control characters inside strings are already escaped by serde_json.
            let _ = write!(safe_text, "\\u{:04x}", c as u32);
        } else {
            safe_text.push(c);
        }
    }
    out(&safe_text);
}

/// Renders untrusted text (claims are chosen by whoever minted the token) so it cannot move the
/// cursor, change colours or reorder the line: control, bidi-override and zero-width characters
/// are shown as `\u{…}` escapes. The result is quoted when it is empty or has been escaped.
pub(crate) fn safe(text: &str) -> String {
    let needs_escape = text.chars().any(is_unsafe);
    if !needs_escape && !text.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if is_unsafe(c) || c == '"' || c == '\\' {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
            }
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

fn is_unsafe(c: char) -> bool {
    c.is_control() || is_invisible(c)
}

/// Bidi overrides and zero-width characters: they reorder or hide text on a terminal.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// Formats unix seconds as an RFC 3339 UTC timestamp (`2026-11-29T08:00:00Z`); a time outside
/// the years -9999 to 9999 is shown as its number of seconds.
pub(crate) fn rfc3339(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map_or_else(|_| format!("{unix} (unix seconds)"), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(safe("alice"), "alice");
        assert_eq!(safe(""), "\"\"");
        assert_eq!(safe("a\x1b[31mb"), "\"a\\u{1b}[31mb\"");
        assert_eq!(safe("x\u{202e}y"), "\"x\\u{202e}y\"");
        assert_eq!(safe("é 日本"), "é 日本");
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(i64::MAX), format!("{} (unix seconds)", i64::MAX));
    }
}
