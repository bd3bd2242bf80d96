//! Durations as people write them, on the command line and in the configuration file:
//! `3600`, `90s`, `10m`, `1h30m`, `2d`.

use std::time::Duration;

/// Parses a TTL or leeway: a whole number of seconds, or a sequence of `<number><unit>` with
/// units `s`, `m`, `h`, `d` and `w` (`1h30m`).
///
/// # Errors
/// A message that says what is wrong and shows the accepted forms.
pub fn parse(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err(
            "empty duration; give seconds (3600) or a duration such as 10m or 1h30m".into(),
        );
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "{input:?} is not a duration; use seconds (3600) or units s, m, h, d, w (e.g. 1h30m)"
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{input:?}: number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "s" | "sec" | "secs" => 1,
            "m" | "min" | "mins" => 60,
            "h" | "hr" | "hrs" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            "" => {
                return Err(format!(
                    "{input:?}: a number without a unit after a unit; write e.g. 1h30m"
                ));
            }
            other => {
                return Err(format!(
                    "{input:?}: unknown unit {other:?}; use s, m, h, d or w"
                ));
            }
        };
        rest = &rest[unit_len..];
        total = n
            .checked_mul(factor)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("{input:?} is too long"))?;
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_seconds_and_units() {
        assert_eq!(parse("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse("1w1s"), Ok(Duration::from_secs(604_801)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_nonsense_with_a_hint() {
        for bad in ["", "abc", "10x", "1h30", "-5", "1.5h", "h"] {
            let err = parse(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(parse("99999999999999999999w").is_err());
    }
}
