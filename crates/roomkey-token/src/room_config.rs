//! `roomConfig`: LiveKit's `RoomConfiguration` in its protobuf-JSON form.
//!
//! Written like Go's protojson: lowerCamelCase names, default values left out, enums by name.
//! Read like protojson too: camelCase or snake_case names, numbers or decimal strings for
//! integers, enum names or numbers, `null` as the default; unknown fields are ignored.
//!
//! `egress` (auto-egress with its storage uploads) is kept as an opaque JSON object: roomkey
//! only looks into it to find embedded credentials ([`RoomConfiguration::find_sensitive_credentials`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::de::{is_false, is_zero, nullable, object_value, objects, proto_u32};

/// Settings used when a join creates the room (and agent dispatch).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RoomConfiguration {
    /// Room name; ignored by the server (the room comes from `video.room`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Seconds an empty room stays open before it closes.
    #[serde(
        default,
        alias = "empty_timeout",
        deserialize_with = "proto_u32",
        skip_serializing_if = "is_zero"
    )]
    pub empty_timeout: u32,
    /// Seconds the room stays open after the last participant leaves.
    #[serde(
        default,
        alias = "departure_timeout",
        deserialize_with = "proto_u32",
        skip_serializing_if = "is_zero"
    )]
    pub departure_timeout: u32,
    /// Maximum number of participants (0 = unlimited).
    #[serde(
        default,
        alias = "max_participants",
        deserialize_with = "proto_u32",
        skip_serializing_if = "is_zero"
    )]
    pub max_participants: u32,
    /// Room metadata.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub metadata: String,
    /// Auto-egress (`RoomEgress`), as its protobuf-JSON object.
    #[serde(
        default,
        deserialize_with = "object_value",
        skip_serializing_if = "Option::is_none"
    )]
    pub egress: Option<serde_json::Value>,
    /// Minimum playout delay, ms.
    #[serde(
        default,
        alias = "min_playout_delay",
        deserialize_with = "proto_u32",
        skip_serializing_if = "is_zero"
    )]
    pub min_playout_delay: u32,
    /// Maximum playout delay, ms.
    #[serde(
        default,
        alias = "max_playout_delay",
        deserialize_with = "proto_u32",
        skip_serializing_if = "is_zero"
    )]
    pub max_playout_delay: u32,
    /// Synchronise audio and video of each participant.
    #[serde(
        default,
        alias = "sync_streams",
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub sync_streams: bool,
    /// Agents to dispatch when the room is created.
    #[serde(
        default,
        deserialize_with = "objects",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub agents: Vec<RoomAgentDispatch>,
    /// Room tags.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub tags: BTreeMap<String, String>,
}

/// The field of [`RoomAgentDispatch`] that one of the client SDKs' flat agent options means
/// (`agentName`, `agent_metadata`, `deployment`, in any spelling), for a key found outside
/// `agents`: the SDKs turn these options into `roomConfig.agents[0]`, and a caller who writes
/// them elsewhere gets no agent.
pub fn agent_option_field(key: &str) -> Option<&'static str> {
    let flat: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match flat.as_str() {
        "agentname" => Some("agentName"),
        "agentmetadata" => Some("metadata"),
        "agentdeployment" | "deployment" => Some("deployment"),
        _ => None,
    }
}

/// One agent to dispatch into the room (`RoomAgentDispatch`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RoomAgentDispatch {
    /// The agent's registered name.
    #[serde(
        default,
        alias = "agent_name",
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub agent_name: String,
    /// Job metadata handed to the agent.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub metadata: String,
    /// What to do when the job fails (LiveKit Cloud).
    #[serde(
        default,
        alias = "restart_policy",
        skip_serializing_if = "JobRestartPolicy::is_default"
    )]
    pub restart_policy: JobRestartPolicy,
    /// Deployment to dispatch from; empty is production.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub deployment: String,
    /// Attributes for the agent participant.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub attributes: BTreeMap<String, String>,
}

impl RoomAgentDispatch {
    /// Dispatch of the named agent, with optional job metadata.
    pub fn new(agent_name: impl Into<String>, metadata: impl Into<String>) -> Self {
        RoomAgentDispatch {
            agent_name: agent_name.into(),
            metadata: metadata.into(),
            ..RoomAgentDispatch::default()
        }
    }
}

/// `JobRestartPolicy`, written by name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobRestartPolicy {
    /// `JRP_ON_FAILURE` (0, the default).
    #[default]
    OnFailure,
    /// `JRP_NEVER` (1).
    Never,
    /// A number this version does not know (protobuf enums are open).
    Unrecognized(i32),
}

impl JobRestartPolicy {
    fn is_default(&self) -> bool {
        *self == JobRestartPolicy::OnFailure
    }

    /// The protobuf enum number.
    pub fn number(self) -> i32 {
        match self {
            JobRestartPolicy::OnFailure => 0,
            JobRestartPolicy::Never => 1,
            JobRestartPolicy::Unrecognized(n) => n,
        }
    }
}

impl Serialize for JobRestartPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            JobRestartPolicy::OnFailure => s.serialize_str("JRP_ON_FAILURE"),
            JobRestartPolicy::Never => s.serialize_str("JRP_NEVER"),
            JobRestartPolicy::Unrecognized(n) => s.serialize_i32(*n),
        }
    }
}

impl<'de> Deserialize<'de> for JobRestartPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = JobRestartPolicy;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JobRestartPolicy name or number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                match v {
                    "JRP_ON_FAILURE" => Ok(JobRestartPolicy::OnFailure),
                    "JRP_NEVER" => Ok(JobRestartPolicy::Never),
                    // protojson with DiscardUnknown ignores unknown enum names.
                    _ => Ok(JobRestartPolicy::OnFailure),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                let n = i32::try_from(v).map_err(|_| E::custom("enum number out of range"))?;
                Ok(match n {
                    0 => JobRestartPolicy::OnFailure,
                    1 => JobRestartPolicy::Never,
                    n => JobRestartPolicy::Unrecognized(n),
                })
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                self.visit_i64(i64::try_from(v).map_err(|_| E::custom("enum number out of range"))?)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(JobRestartPolicy::OnFailure)
            }
        }
        d.deserialize_any(V)
    }
}

/// The upload messages whose credentials the Go reference refuses to put in a token, with the
/// secret field of each (protojson names).
const UPLOAD_SECRETS: &[(&str, &str)] = &[
    ("s3", "secret"),
    ("gcp", "credentials"),
    ("azure", "accountKey"),
    ("aliOSS", "secret"),
];

impl RoomConfiguration {
    /// Whether every field is at its default (the configuration says nothing).
    pub fn is_empty(&self) -> bool {
        *self == RoomConfiguration::default()
    }

    /// Finds storage or stream credentials embedded in `egress`, where the Go reference's
    /// `CheckCredentials` looks: upload secrets (`s3.secret`, `gcp.credentials`,
    /// `azure.accountKey`, `aliOSS.secret`) in the file and segment outputs of the room and
    /// participant egress and in track egress, and any stream output at all (stream URLs carry
    /// stream keys). Beyond Go, it also checks image outputs, the deprecated singular
    /// `file`/`segments`/`stream` outputs, S3 access keys and session tokens, and webhook signing
    /// keys, which Go misses. Both camelCase and snake_case names are recognised.
    ///
    /// Returns the JSON path of the first one found.
    pub fn find_sensitive_credentials(&self) -> Option<String> {
        let egress = self.egress.as_ref()?.as_object()?;
        let base = "roomConfig.egress";
        if let Some(tracks) = get(egress, "tracks") {
            if let Some(p) = upload_secret(tracks, &format!("{base}.tracks")) {
                return Some(p);
            }
        }
        for part in ["room", "participant"] {
            let Some(obj) = get(egress, part) else {
                continue;
            };
            let at = format!("{base}.{part}");
            for outputs in ["fileOutputs", "segmentOutputs", "imageOutputs"] {
                for (i, out) in list(obj, outputs).iter().enumerate() {
                    let found = out
                        .as_object()
                        .and_then(|o| upload_secret(o, &format!("{at}.{outputs}[{i}]")));
                    if let Some(p) = found {
                        return Some(p);
                    }
                }
            }
            for single in ["file", "segments"] {
                if let Some(out) = get(obj, single) {
                    if let Some(p) = upload_secret(out, &format!("{at}.{single}")) {
                        return Some(p);
                    }
                }
            }
            if !list(obj, "streamOutputs").is_empty() {
                return Some(format!("{at}.streamOutputs"));
            }
            if get(obj, "stream").is_some() {
                return Some(format!("{at}.stream"));
            }
            for (i, hook) in list(obj, "webhooks").iter().enumerate() {
                if non_empty(hook, "signingKey") {
                    return Some(format!("{at}.webhooks[{i}].signingKey"));
                }
            }
        }
        None
    }
}

type Object = serde_json::Map<String, serde_json::Value>;

/// Looks a field up by its protojson name or its snake_case proto name.
fn get<'a>(obj: &'a Object, camel: &str) -> Option<&'a Object> {
    field(obj, camel).and_then(serde_json::Value::as_object)
}

fn field<'a>(obj: &'a Object, camel: &str) -> Option<&'a serde_json::Value> {
    obj.get(camel)
        .or_else(|| obj.get(&snake(camel)))
        .filter(|v| !v.is_null())
}

fn list<'a>(obj: &'a Object, camel: &str) -> &'a [serde_json::Value] {
    field(obj, camel)
        .and_then(serde_json::Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn non_empty(obj: &serde_json::Value, camel: &str) -> bool {
    obj.as_object()
        .and_then(|o| field(o, camel))
        .is_some_and(|v| v.as_str().is_none_or(|s| !s.is_empty()))
}

fn upload_secret(obj: &Object, at: &str) -> Option<String> {
    for (upload, secret) in UPLOAD_SECRETS {
        let Some(up) = field(obj, upload) else {
            continue;
        };
        let keys: &[&str] = if *upload == "s3" {
            &[secret, "accessKey", "sessionToken"]
        } else {
            &[secret]
        };
        for key in keys {
            if non_empty(up, key) {
                return Some(format!("{at}.{upload}.{key}"));
            }
        }
    }
    None
}

fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    // protobuf names these with the acronym kept whole.
    if out == "ali_o_s_s" {
        "aliOSS".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_both_casings_strings_and_enum_numbers() {
        let a: RoomConfiguration = serde_json::from_value(json!({
            "empty_timeout": "30", "maxParticipants": 5, "agents": [{"agent_name": "x", "restart_policy": 1}],
            "unknownField": {"deep": [1, 2]}
        }))
        .unwrap();
        assert_eq!(a.empty_timeout, 30);
        assert_eq!(a.max_participants, 5);
        assert_eq!(a.agents[0].agent_name, "x");
        assert_eq!(a.agents[0].restart_policy, JobRestartPolicy::Never);
    }

    #[test]
    fn node_style_defaults_read_as_empty() {
        // Node's protobuf-es writes every default value.
        let c: RoomConfiguration = serde_json::from_value(json!({
            "name": "", "emptyTimeout": 0, "departureTimeout": 0, "maxParticipants": 0, "metadata": "",
            "minPlayoutDelay": 0, "maxPlayoutDelay": 0, "syncStreams": false, "agents": [], "tags": {}
        }))
        .unwrap();
        assert!(c.is_empty());
        assert_eq!(serde_json::to_string(&c).unwrap(), "{}");
    }

    #[test]
    fn duplicate_spellings_are_refused() {
        let r: Result<RoomConfiguration, _> =
            serde_json::from_str(r#"{"emptyTimeout":1,"empty_timeout":2}"#);
        assert!(r.is_err());
    }

    #[test]
    fn writes_protojson() {
        let c = RoomConfiguration {
            agents: vec![RoomAgentDispatch {
                restart_policy: JobRestartPolicy::Never,
                ..RoomAgentDispatch::new("triage", "{\"lang\":\"de\"}")
            }],
            empty_timeout: 60,
            ..RoomConfiguration::default()
        };
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"emptyTimeout":60,"agents":[{"agentName":"triage","metadata":"{\"lang\":\"de\"}","restartPolicy":"JRP_NEVER"}]}"#
        );
    }

    fn with_egress(egress: serde_json::Value) -> RoomConfiguration {
        RoomConfiguration {
            egress: Some(egress),
            ..RoomConfiguration::default()
        }
    }

    #[test]
    fn finds_credentials_where_go_does_and_more() {
        let cases = [
            (
                json!({"tracks": {"s3": {"secret": "x"}}}),
                Some("roomConfig.egress.tracks.s3.secret"),
            ),
            (
                json!({"room": {"fileOutputs": [{"gcp": {"credentials": "x"}}]}}),
                Some("roomConfig.egress.room.fileOutputs[0].gcp.credentials"),
            ),
            (
                json!({"participant": {"segment_outputs": [{"azure": {"account_key": "x"}}]}}),
                Some("roomConfig.egress.participant.segmentOutputs[0].azure.accountKey"),
            ),
            (
                json!({"room": {"streamOutputs": [{"urls": ["rtmp://x/key"]}]}}),
                Some("roomConfig.egress.room.streamOutputs"),
            ),
            (
                json!({"room": {"imageOutputs": [{"aliOSS": {"secret": "x"}}]}}),
                Some("roomConfig.egress.room.imageOutputs[0].aliOSS.secret"),
            ),
            (
                json!({"room": {"webhooks": [{"url": "https://h", "signingKey": "k"}]}}),
                Some("roomConfig.egress.room.webhooks[0].signingKey"),
            ),
            (
                json!({"tracks": {"filepath": "a/{track_id}", "s3": {"bucket": "b", "region": "r"}}}),
                None,
            ),
            (json!({"tracks": {"s3": {"secret": ""}}}), None),
        ];
        for (egress, want) in cases {
            assert_eq!(
                with_egress(egress.clone())
                    .find_sensitive_credentials()
                    .as_deref(),
                want,
                "{egress}"
            );
        }
    }
}
