//! [`Glob`]: the `*`/`?` patterns of a profile's rooms and agents.

/// A glob over names: `*` matches any run of characters, `?` one character (the `wildmatch`
/// crate's matching, checked against a reference matcher by a property test below).
#[derive(Debug, Clone)]
pub struct Glob {
    pattern: String,
    matcher: wildmatch::WildMatch,
}

impl PartialEq for Glob {
    fn eq(&self, other: &Glob) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for Glob {}

impl Glob {
    /// Checks a pattern.
    ///
    /// # Errors
    /// A message for an empty or over-long pattern, or one with `[`, `]`, `{` or `}` (which
    /// other glob dialects read as classes or alternatives).
    pub fn new(pattern: &str) -> Result<Glob, String> {
        if pattern.is_empty() {
            return Err("an empty pattern matches nothing; remove it or write \"*\"".into());
        }
        if pattern.len() > 256 {
            return Err("patterns are limited to 256 bytes (room names are too)".into());
        }
        if let Some(c) = pattern.chars().find(|c| matches!(c, '[' | ']' | '{' | '}')) {
            return Err(format!(
                "pattern {pattern:?} uses {c:?}: only * (any run of characters) and ? (one character) are wildcards; list alternatives as separate patterns"
            ));
        }
        Ok(Glob {
            pattern: pattern.to_owned(),
            matcher: wildmatch::WildMatch::new(pattern),
        })
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        self.matcher.matches(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A glob matcher written the obvious way, by recursion over characters: the reference that
    /// `wildmatch`'s matching is held to.
    fn reference_match(pattern: &[char], name: &[char]) -> bool {
        match pattern.split_first() {
            None => name.is_empty(),
            Some(('*', rest)) => (0..=name.len()).any(|i| reference_match(rest, &name[i..])),
            Some((p, rest)) => name
                .split_first()
                .is_some_and(|(n, tail)| (*p == '?' || p == n) && reference_match(rest, tail)),
        }
    }

    proptest::proptest! {
        #[test]
        fn globs_match_as_the_reference_does(
            pattern in "[ab?*é]{1,8}",
            name in "[ab?*é]{0,10}",
        ) {
            let glob = Glob::new(&pattern).unwrap();
            let chars = |s: &str| s.chars().collect::<Vec<char>>();
            proptest::prop_assert_eq!(
                glob.matches(&name),
                reference_match(&chars(&pattern), &chars(&name))
            );
        }
    }

    #[test]
    fn globs() {
        let g = Glob::new("support-*").unwrap();
        assert!(
            g.matches("support-42")
                && g.matches("support-")
                && !g.matches("support")
                && !g.matches("xsupport-1")
        );
        // A `*` in the name is a character like any other (it once matched the pattern's `*`
        // literally, and "a*" refused "a*b").
        assert!(Glob::new("a*").unwrap().matches("a*b"));
        let g = Glob::new("a?c*z").unwrap();
        assert!(g.matches("abcz") && g.matches("abc--z") && !g.matches("acz"));
        assert!(Glob::new("*").unwrap().matches(""));
        assert!(Glob::new("").is_err());
        assert!(
            Glob::new("lobby").unwrap().matches("lobby")
                && !Glob::new("lobby").unwrap().matches("lobby2")
        );
    }
}
