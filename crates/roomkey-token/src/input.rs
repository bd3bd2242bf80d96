//! Reading what people write, the same way on every surface (the CLI, both HTTP endpoints and
//! the configuration file): durations and TTLs, JSON whose unknown keys must not be dropped
//! silently, and the "did you mean" for a misspelled field name.

use std::time::Duration;

use serde::de::DeserializeOwned;

/// The forms a duration may take, for error messages.
const DURATION_FORMS: &str =
    "give whole seconds (3600) or a duration such as 90s, 10m, 1h30m or 2d";

/// Parses a duration as people write it: whole seconds (`3600`), or units as `humantime`
/// reads them (`90s`, `10m`, `1h30m`, `1h 30m`, `2d`, `1w`). Zero is allowed here; a TTL
/// refuses it ([`parse_ttl`]).
///
/// # Errors
/// A message that says what is wrong and shows the accepted forms.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err(format!("the duration is empty; {DURATION_FORMS}"));
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| format!("{input:?} is too many seconds"));
    }
    if s.starts_with('-') {
        return Err(format!("{input:?} is negative; {DURATION_FORMS}"));
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("{input:?} is not a duration ({e}); {DURATION_FORMS}"))
}

/// Parses a token TTL: a [`parse_duration`] of at least one second, in whole seconds (a JWT's
/// times are whole seconds).
///
/// # Errors
/// As [`parse_duration`], and for zero or a fraction of a second.
pub fn parse_ttl(input: &str) -> Result<Duration, String> {
    check_ttl(parse_duration(input)?)
}

/// Checks a TTL given as a number of seconds in JSON: a positive whole number, or a string in
/// a [`parse_ttl`] form (`"1h"`), so that a JSON body takes what the CLI takes.
///
/// # Errors
/// A message naming the problem: zero, negative, a fraction, not a number or string.
pub fn ttl_from_json(value: &serde_json::Value) -> Result<Duration, String> {
    match value {
        serde_json::Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(secs), _) => check_ttl(Duration::from_secs(secs)),
            (None, Some(f)) if f < 0.0 => Err(format!("the TTL {n} is negative; {DURATION_FORMS}")),
            // `1e3` and `600.0` are whole numbers in another spelling.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            (None, Some(f)) if f.fract() == 0.0 && f <= 1e15 => {
                check_ttl(Duration::from_secs(f as u64))
            }
            _ => Err(format!(
                "the TTL {n} is not whole seconds; {DURATION_FORMS}"
            )),
        },
        serde_json::Value::String(s) => parse_ttl(s),
        other => Err(format!(
            "the TTL must be a number of seconds or a duration string, not {}; {DURATION_FORMS}",
            json_kind(other)
        )),
    }
}

fn check_ttl(ttl: Duration) -> Result<Duration, String> {
    if ttl.is_zero() {
        return Err(format!(
            "a TTL must be positive: 0 would make a token that has already expired; {DURATION_FORMS}"
        ));
    }
    if ttl.subsec_nanos() != 0 {
        return Err(format!(
            "the TTL {ttl:?} is not whole seconds; {DURATION_FORMS}"
        ));
    }
    Ok(ttl)
}

/// The JSON kind of a value, for messages ("a boolean").
pub fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A key that deserialization ignored, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// The keys and indices above it, outermost first (`["room_config", "agents", "0"]`);
    /// empty at the top level.
    pub parents: Vec<String>,
    /// The key itself.
    pub key: String,
}

impl UnknownField {
    /// The dotted path, as a message shows it (`room_config.agents.0.agentname`).
    pub fn path(&self) -> String {
        let mut path = self.parents.join(".");
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&self.key);
        path
    }
}

/// The keys that a deserialization ignored: the first [`Unknown::KEPT`] of them, and how many
/// there were in all (a body of thousands of made-up keys costs no more than a few).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unknown {
    /// The first ignored keys, in document order.
    pub fields: Vec<UnknownField>,
    /// How many keys were ignored, `fields` included.
    pub total: usize,
}

impl Unknown {
    /// How many ignored keys are kept with their path.
    pub const KEPT: usize = 16;
}

/// Reads JSON into `T`, returning the keys that `T`'s deserialization ignored (nested ones
/// included) instead of dropping them unseen. The caller decides what an unknown key means:
/// roomkey's own formats refuse it, the shared token-endpoint contract counts it.
///
/// # Errors
/// The JSON does not parse, or does not fit `T`.
pub fn from_json_noting_unknown<T: DeserializeOwned>(
    text: &str,
) -> Result<(T, Unknown), serde_json::Error> {
    let mut unknown = Unknown::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_ignored::deserialize(&mut de, |path| {
        unknown.total += 1;
        if unknown.fields.len() < Unknown::KEPT {
            unknown.fields.push(unknown_field(&path));
        }
    })?;
    de.end()?;
    Ok((value, unknown))
}

fn unknown_field(path: &serde_ignored::Path<'_>) -> UnknownField {
    let mut parts = Vec::new();
    collect(path, &mut parts);
    let key = parts.pop().unwrap_or_default();
    UnknownField {
        parents: parts,
        key,
    }
}

fn collect(path: &serde_ignored::Path<'_>, out: &mut Vec<String>) {
    use serde_ignored::Path;
    match path {
        Path::Root => {}
        Path::Seq { parent, index } => {
            collect(parent, out);
            out.push(index.to_string());
        }
        Path::Map { parent, key } => {
            collect(parent, out);
            out.push(key.clone());
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => {
            collect(parent, out);
        }
    }
}

/// The field names a derived `Deserialize` struct reads (its aliases included), for
/// suggestions.
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    serde_aux::serde_introspection::serde_introspect::<T>()
}

/// The longest key [`did_you_mean`] compares: a longer one is no misspelling, and comparing it
/// would cost time in proportion to its length for every known name.
const LONGEST_COMPARED_KEY: usize = 64;

/// The spelling a key most likely meant, among `known`: the same name in another case or with
/// `_`/`-` (`can_publish` → `canPublish`, `roomname` → `room_name`), a typo of one or two
/// letters (`canPublsh` → `canPublish`), the end or start of a longer name (`identity` →
/// `participant_identity`, `room` → `room_name`), or a known name with something appended
/// (`room_name` → `room`). `None` when nothing is close. Where several names fit equally, the
/// first in `known` wins, so callers list the likelier meaning first.
pub fn did_you_mean<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    if unknown.len() > LONGEST_COMPARED_KEY {
        return None;
    }
    let wanted = normalized(unknown);
    if wanted.is_empty() {
        return None;
    }
    // Where a name has two spellings (`room_name`, `roomName`), suggest the one in the style
    // the caller writes: candidates in that style come first (a stable sort keeps the order).
    let camel = |name: &str| name.chars().any(|c| c.is_ascii_uppercase());
    let mut candidates: Vec<(&'a str, String)> =
        known.iter().map(|k| (*k, normalized(k))).collect();
    candidates.sort_by_key(|(k, _)| camel(k) != camel(unknown));
    if let Some((k, _)) = candidates.iter().find(|(_, n)| *n == wanted) {
        return Some(k);
    }
    // One or two edits for names long enough that two edits are still a typo.
    let allowed = if wanted.len() >= 8 { 2 } else { 1 };
    let closest = candidates
        .iter()
        .filter(|(_, n)| n.len().abs_diff(wanted.len()) <= allowed)
        .map(|(k, n)| (strsim::damerau_levenshtein(&wanted, n), *k))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance);
    if let Some((_, k)) = closest {
        return Some(k);
    }
    // A part of a longer name, at its start or end; or a known name at the start of the key
    // (only the start: `agent_name` is not the room's `name`).
    let part_of = |n: &str| wanted.len() >= 4 && (n.starts_with(&wanted) || n.ends_with(&wanted));
    let extends = |n: &str| n.len() >= 4 && wanted.starts_with(n);
    candidates
        .iter()
        .find(|(_, n)| part_of(n) || extends(n))
        .map(|(k, _)| *k)
}

/// Lower case without `_` and `-`: how a name reads whatever its spelling convention
/// (`room_name`, `roomName` and `ROOMNAME` are all `roomname`).
pub fn normalized(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[test]
    fn durations_take_seconds_and_units() {
        let secs = |s| parse_duration(s).map(|d| d.as_secs());
        assert_eq!(secs("3600"), Ok(3600));
        assert_eq!(secs(" 90s "), Ok(90));
        assert_eq!(secs("10m"), Ok(600));
        assert_eq!(secs("1h30m"), Ok(5400));
        assert_eq!(secs("1h 30m"), Ok(5400));
        assert_eq!(secs("2d"), Ok(172_800));
        assert_eq!(secs("1w"), Ok(604_800));
        assert_eq!(secs("0"), Ok(0));
    }

    #[test]
    fn bad_durations_say_what_is_accepted() {
        for bad in [
            "",
            "abc",
            "10x",
            "1h30",
            "-5",
            "1.5.h",
            "h",
            "99999999999999999999999",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(
                err.contains("whole seconds (3600)") || err.contains("too many seconds"),
                "{bad:?}: {err}"
            );
        }
        assert!(parse_duration("-5").unwrap_err().contains("negative"));
        assert!(
            parse_duration("10x")
                .unwrap_err()
                .contains("unknown time unit")
        );
    }

    #[test]
    fn ttls_are_positive_whole_seconds_in_text_and_in_json() {
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_ttl("0").unwrap_err().contains("already expired"));
        assert!(parse_ttl("0s").unwrap_err().contains("already expired"));
        assert!(
            parse_ttl("1500ms")
                .unwrap_err()
                .contains("not whole seconds")
        );
        assert_eq!(ttl_from_json(&json!(600)), Ok(Duration::from_secs(600)));
        assert_eq!(ttl_from_json(&json!("1h")), Ok(Duration::from_secs(3600)));
        assert!(
            ttl_from_json(&json!(0))
                .unwrap_err()
                .contains("already expired")
        );
        assert!(ttl_from_json(&json!(-5)).unwrap_err().contains("negative"));
        assert!(
            ttl_from_json(&json!(1.5))
                .unwrap_err()
                .contains("not whole seconds")
        );
        assert!(
            ttl_from_json(&json!(true))
                .unwrap_err()
                .contains("not a boolean")
        );
        let from_text = |t: &str| ttl_from_json(&serde_json::from_str(t).unwrap());
        assert_eq!(from_text("1e3"), Ok(Duration::from_secs(1000)));
        assert_eq!(from_text("600.0"), Ok(Duration::from_secs(600)));
        assert!(from_text("-0").unwrap_err().contains("must be positive"));
        assert!(from_text("-1.5").unwrap_err().contains("negative"));
        assert!(
            from_text("1e300")
                .unwrap_err()
                .contains("not whole seconds")
        );
    }

    #[test]
    fn suggestions_catch_spelling_typos_and_short_names() {
        let action = [
            "identity",
            "room",
            "canPublish",
            "canPublishData",
            "canSubscribe",
            "ttl",
        ];
        assert_eq!(did_you_mean("canPublsh", &action), Some("canPublish"));
        assert_eq!(did_you_mean("can_publish", &action), Some("canPublish"));
        assert_eq!(did_you_mean("CANPUBLISH", &action), Some("canPublish"));
        assert_eq!(
            did_you_mean("can_publish_data", &action),
            Some("canPublishData")
        );
        assert_eq!(did_you_mean("idenity", &action), Some("identity"));
        assert_eq!(did_you_mean("xyz", &action), None);
        assert_eq!(did_you_mean("room_name", &action), Some("room"));
        assert_eq!(
            did_you_mean("ttl_seconds", &action),
            None,
            "too short to be a part"
        );
        assert_eq!(did_you_mean("", &action), None);
        // The likelier meanings first, as the token endpoint lists its fields.
        let standard = [
            "participant_identity",
            "participantIdentity",
            "participant_name",
            "participant_metadata",
            "room_name",
            "roomName",
            "room_config",
        ];
        assert_eq!(did_you_mean("room", &standard), Some("room_name"));
        assert_eq!(did_you_mean("roomname", &standard), Some("room_name"));
        assert_eq!(
            did_you_mean("identity", &standard),
            Some("participant_identity")
        );
        assert_eq!(
            did_you_mean("participant_id", &standard),
            Some("participant_identity")
        );
        assert_eq!(did_you_mean("name", &standard), Some("participant_name"));
        assert_eq!(
            did_you_mean("metadata", &standard),
            Some("participant_metadata")
        );
        assert_eq!(did_you_mean("config", &standard), Some("room_config"));
        // A key that merely ends with a known name is not that name.
        let room_config = ["name", "metadata", "emptyTimeout", "agents"];
        assert_eq!(did_you_mean("agentName", &room_config), None);
        assert_eq!(did_you_mean("agent_metadata", &room_config), None);
        assert_eq!(did_you_mean(&"x".repeat(65), &room_config), None);
        assert_eq!(
            did_you_mean("Identity", &standard),
            Some("participantIdentity")
        );
        assert_eq!(did_you_mean("rooName", &standard), Some("roomName"));
        assert_eq!(did_you_mean("client_version", &standard), None);
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        agent_name: String,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        #[serde(alias = "roomName")]
        room_name: Option<String>,
        #[serde(default)]
        agents: Vec<Inner>,
    }

    #[test]
    fn unknown_keys_are_reported_with_their_path() {
        let (_, unknown) = from_json_noting_unknown::<Outer>(
            r#"{"room_name":"r","extra":1,"agents":[{"agent_name":"a"},{"agent_name":"b","agentname":"c"}]}"#,
        )
        .unwrap();
        let paths: Vec<String> = unknown.fields.iter().map(UnknownField::path).collect();
        assert_eq!(paths, ["extra", "agents.1.agentname"]);
        assert_eq!(unknown.fields[1].parents, ["agents", "1"]);
        assert_eq!(unknown.total, 2);
        assert!(from_json_noting_unknown::<Outer>(r#"{"room_name":"r"} x"#).is_err());
        let (_, none) = from_json_noting_unknown::<Outer>(r#"{"roomName":"r"}"#).unwrap();
        assert_eq!(none, Unknown::default());
        // Many keys: counted, the first few kept.
        let many: String = (0..1000).map(|i| format!(",\"k{i}\":1")).collect();
        let (_, unknown) =
            from_json_noting_unknown::<Outer>(&format!("{{\"room_name\":\"r\"{many}}}")).unwrap();
        assert_eq!((unknown.total, unknown.fields.len()), (1000, Unknown::KEPT));
        let names = field_names::<Outer>();
        assert!(
            names.contains(&"room_name") && names.contains(&"agents"),
            "{names:?}"
        );
    }
}
