//! Writes the token payload straight into bytes, on the minting hot path.
//!
//! The output is the same JSON that serde's derived `Serialize` of [`Claims`] produces (same
//! keys, same omission rules, same order), with the registered claims first; the keys are
//! written pre-escaped, and the claims and the grants (through the writer the grant table makes,
//! see `grants`) are written member by member without going through a serializer. The room
//! configuration, the lists and the attributes go through serde. `tests::matches_serde` keeps the two in
//! step.

// Kept hand-written: 170 ns of a 690 ns mint against serde_json alone (BENCHMARKS.md appendix).
use serde::Serialize;

use crate::claims::Claims;
use crate::grants::write_grant_members;

/// Writes `{"iss":…,"exp":…,"nbf":…,"iat":…,<the rest of the claims>}`. The claims' own `iss`
/// and times are not written: these arguments replace them.
pub(crate) fn write(buf: &mut Vec<u8>, c: &Claims, iss: &str, exp: i64, now: i64) {
    let mut itoa = itoa::Buffer::new();
    buf.extend_from_slice(b"{\"iss\":");
    string(buf, iss);
    buf.extend_from_slice(b",\"exp\":");
    buf.extend_from_slice(itoa.format(exp).as_bytes());
    let now = itoa.format(now).as_bytes();
    buf.extend_from_slice(b",\"nbf\":");
    buf.extend_from_slice(now);
    buf.extend_from_slice(b",\"iat\":");
    buf.extend_from_slice(now);
    text(buf, b",\"sub\":", &c.sub);
    text(buf, b",\"jti\":", &c.jti);
    // Go writes the identity again in its own claim; an unset one copies `sub`.
    let identity = if c.identity.is_empty() {
        &c.sub
    } else {
        &c.identity
    };
    text(buf, b",\"identity\":", identity);
    text(buf, b",\"name\":", &c.name);
    if let Some(kind) = &c.kind {
        value(buf, b",\"kind\":", kind);
    }
    if !c.kind_details.is_empty() {
        value(buf, b",\"kindDetails\":", &c.kind_details);
    }
    grant_members(buf, c);
    text(buf, b",\"roomPreset\":", &c.room_preset);
    text(buf, b",\"sha256\":", &c.sha256);
    text(buf, b",\"metadata\":", &c.metadata);
    if !c.attributes.is_empty() {
        value(buf, b",\"attributes\":", &c.attributes);
    }
    buf.push(b'}');
}

/// Writes the permission members, `,"video":{…}` to `,"roomConfig":{…}`, each when present.
fn grant_members(buf: &mut Vec<u8>, c: &Claims) {
    write_grant_members(buf, c);
    if let Some(config) = &c.room_config {
        value(buf, b",\"roomConfig\":", config);
    }
}

/// Writes the permission members as one JSON object (`{}` when there are none).
pub(crate) fn write_grants(buf: &mut Vec<u8>, c: &Claims) {
    let start = buf.len();
    grant_members(buf, c);
    if buf.len() == start {
        buf.push(b'{');
    } else {
        // The first member's comma opens the object.
        buf[start] = b'{';
    }
    buf.push(b'}');
}

/// A JSON object being written: `{` before the first member, `,` before the others. The grant
/// structs write their members through it (see `grants::Field::write_member`).
pub(crate) struct Object<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    pub(crate) fn new(buf: &'a mut Vec<u8>) -> Self {
        Object { buf, first: true }
    }

    fn key(&mut self, key: &str) {
        self.buf.push(if self.first { b'{' } else { b',' });
        self.first = false;
        // The keys are the grant table's camelCase literals: nothing to escape.
        self.buf.push(b'"');
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    /// `"key":` followed by `json`, which is already JSON (`true`, `false`).
    pub(crate) fn raw(&mut self, key: &str, json: &[u8]) {
        self.key(key);
        self.buf.extend_from_slice(json);
    }

    pub(crate) fn string(&mut self, key: &str, value: &str) {
        self.key(key);
        string(self.buf, value);
    }

    pub(crate) fn serialized<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        self.key(key);
        serialize(self.buf, value);
    }

    pub(crate) fn finish(self) {
        // An object with no member still needs its opening brace.
        if self.first {
            self.buf.push(b'{');
        }
        self.buf.push(b'}');
    }
}

/// `,"key":"value"` for a non-empty string.
fn text(buf: &mut Vec<u8>, key: &[u8], value: &str) {
    if !value.is_empty() {
        buf.extend_from_slice(key);
        string(buf, value);
    }
}

/// `,"key":<serde JSON of value>`.
fn value<T: Serialize + ?Sized>(buf: &mut Vec<u8>, key: &[u8], value: &T) {
    buf.extend_from_slice(key);
    serialize(buf, value);
}

fn string(buf: &mut Vec<u8>, s: &str) {
    // Most identities, names and rooms need no escaping: copy them. Otherwise let serde_json
    // escape (it escapes exactly `"`, `\` and the control characters, as this test does).
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        buf.reserve(s.len() + 2);
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
    } else {
        serialize(buf, s);
    }
}

fn serialize<T: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T) {
    // Writing JSON into a Vec cannot fail for these types: string map keys, no I/O, no floats
    // other than those already held in a `serde_json::Value`.
    serde_json::to_writer(buf, value).expect("claims serialize to JSON");
}

// With the writer it uses, so that `claims` does not depend on `payload` (which reads it).
impl Claims {
    /// Appends the permissions of these claims as one JSON object: the members `video`, `sip`,
    /// `agent`, `inference`, `observability`, `agentEndpoint`, `agentThread` and `roomConfig`,
    /// each when present, byte for byte as a token minted from these claims carries them (`{}`
    /// when there are none). Useful for a stable digest of what a token allows.
    pub fn write_grants_json(&self, out: &mut Vec<u8>) {
        write_grants(out, self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::{GRANTS, Setting, SipGrant, TrackSource, VideoGrant};

    fn via_serde(c: &Claims, iss: &str, exp: i64, now: i64) -> serde_json::Value {
        let mut c = c.clone();
        c.iss = iss.to_owned();
        (c.exp, c.nbf, c.iat) = (Some(exp), Some(now), Some(now));
        serde_json::to_value(&c).unwrap()
    }

    fn direct(c: &Claims, iss: &str, exp: i64, now: i64) -> String {
        let mut buf = Vec::new();
        write(&mut buf, c, iss, exp, now);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn grants_are_written_as_the_payload_carries_them() {
        let mut c = Claims {
            sub: "alice".into(),
            metadata: "m".into(),
            ..Claims::default()
        };
        let mut empty = Vec::new();
        write_grants(&mut empty, &c);
        assert_eq!(empty, b"{}");
        c.video = Some(VideoGrant {
            room_join: true,
            room: "r\"1".into(),
            can_publish: Some(false),
            ..VideoGrant::default()
        });
        c.sip = Some(SipGrant {
            admin: true,
            call: false,
        });
        c.room_config = Some(Box::new(crate::RoomConfiguration {
            max_participants: 3,
            ..crate::RoomConfiguration::default()
        }));
        let mut grants = Vec::new();
        write_grants(&mut grants, &c);
        let grants = String::from_utf8(grants).unwrap();
        let payload = direct(&c, "key", 2, 1);
        // The object's members are the payload's, byte for byte and in the same order.
        assert!(
            payload.contains(&grants[1..grants.len() - 1]),
            "{grants}\n{payload}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&grants).unwrap();
        let full = via_serde(&c, "key", 2, 1);
        let keys: Vec<&String> = parsed.as_object().unwrap().keys().collect();
        // (serde_json's map is sorted; the order is checked by the comparison above.)
        assert_eq!(keys, ["roomConfig", "sip", "video"]);
        for key in keys {
            assert_eq!(parsed[key], full[key], "{key}");
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_escapes_them() {
        for text in [
            "plain",
            "é 日本 🙂",
            "a/b<c>&d",
            "\u{7f}\u{2028}",
            "q\"b\\s",
            "tab\there\u{1f}",
            "",
        ] {
            let mut ours = Vec::new();
            string(&mut ours, text);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(text).unwrap(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn every_grant_member_is_written_as_serde_writes_it() {
        let mut c = Claims::default();
        for g in GRANTS {
            g.set(&mut c, crate::grants::tests::sample(g)).unwrap();
        }
        let serde_rest = serde_json::to_string(&c).unwrap();
        let mut ours = Vec::new();
        write_grants(&mut ours, &c);
        assert_eq!(String::from_utf8(ours).unwrap(), serde_rest);
        // And with every boolean false: the plain flags vanish, the tri-states stay.
        for g in GRANTS.iter().filter(|g| g.kind.is_bool()) {
            g.set(&mut c, Setting::Bool(false)).unwrap();
        }
        let mut ours = Vec::new();
        write_grants(&mut ours, &c);
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string(&c).unwrap()
        );
    }

    #[test]
    fn matches_serde() {
        let mut c = Claims::default();
        assert_eq!(
            direct(&c, "k", 2, 1),
            r#"{"iss":"k","exp":2,"nbf":1,"iat":1}"#
        );
        c.video = Some(VideoGrant::default());
        assert_eq!(
            direct(&c, "k", 2, 1),
            r#"{"iss":"k","exp":2,"nbf":1,"iat":1,"video":{}}"#
        );

        let mut v = VideoGrant::join("r\"é");
        v.room_create = true;
        v.room_list = true;
        v.room_record = true;
        v.room_admin = true;
        v.destination_room = "d".into();
        v.can_publish = Some(false);
        v.can_subscribe = Some(true);
        v.can_publish_data = Some(false);
        v.can_publish_sources = vec![TrackSource::Camera, TrackSource::ScreenShareAudio];
        v.can_update_own_metadata = Some(true);
        v.ingress_admin = true;
        v.hidden = true;
        v.recorder = true;
        v.agent = true;
        v.can_subscribe_metrics = Some(false);
        v.can_manage_agent_session = Some(true);
        c.video = Some(v);
        c.sub = "a\u{1}b".into();
        c.identity = c.sub.clone();
        c.jti = "j".into();
        c.name = "N".into();
        c.kind = Some(crate::ParticipantKind::Agent);
        c.kind_details = vec![crate::KindDetail::Forwarded];
        c.sip = Some(SipGrant::default());
        c.room_preset = "p".into();
        c.sha256 = "s".into();
        c.metadata = "{\"m\":1}".into();
        c.attributes.insert("k".into(), String::new());
        let text = direct(&c, "k", 2, 1);
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, via_serde(&c, "k", 2, 1));
        // Same bytes and key order as serde after the registered claims and `sub`.
        let serde_rest = serde_json::to_string(&c).unwrap();
        assert!(
            text.ends_with(&serde_rest[serde_rest.find("\"jti\"").unwrap() - 1..]),
            "{text}"
        );
    }
}
