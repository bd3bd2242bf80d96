//! RoomService messages, in the Twirp JSON form.
//!
//! Requests are written in protojson's camelCase with default values left out. Responses are
//! read leniently, as the real server and other implementations differ: snake_case or
//! camelCase keys, 64-bit integers as strings or numbers, enums as names or numbers, `null` for
//! defaults, unknown keys ignored.

use roomkey_token::RoomAgentDispatch;
use serde::{Deserialize, Deserializer, Serialize};

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `CreateRoomRequest`: the room to create and its settings. Zero and empty values mean "server
/// default" and are not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateRoomRequest {
    /// Room name.
    pub name: String,
    /// Named room configuration on the server.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub room_preset: String,
    /// Seconds an empty room stays open (server default 300).
    #[serde(skip_serializing_if = "is_zero")]
    pub empty_timeout: u32,
    /// Seconds the room stays open after the last participant leaves (server default 20).
    #[serde(skip_serializing_if = "is_zero")]
    pub departure_timeout: u32,
    /// Maximum participants (0 = unlimited).
    #[serde(skip_serializing_if = "is_zero")]
    pub max_participants: u32,
    /// Room metadata.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub metadata: String,
    /// Minimum playout delay, ms.
    #[serde(skip_serializing_if = "is_zero")]
    pub min_playout_delay: u32,
    /// Maximum playout delay, ms.
    #[serde(skip_serializing_if = "is_zero")]
    pub max_playout_delay: u32,
    /// Synchronise each participant's audio and video.
    #[serde(skip_serializing_if = "is_false")]
    pub sync_streams: bool,
    /// Agents to dispatch when the room is created.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<RoomAgentDispatch>,
    /// Auto-egress (`RoomEgress`) as its protobuf-JSON object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egress: Option<serde_json::Value>,
    /// Room tags.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: std::collections::BTreeMap<String, String>,
}

impl CreateRoomRequest {
    /// A request for a room with the server's default settings.
    pub fn new(name: impl Into<String>) -> Self {
        CreateRoomRequest {
            name: name.into(),
            ..CreateRoomRequest::default()
        }
    }

    /// A request that gives the room what a token's room configuration asks for (timeouts,
    /// limits, metadata, playout, agents, egress) and its preset. LiveKit ignores a token's
    /// `roomConfig` for a room that already exists, so a room created ahead of the join must
    /// get the configuration here.
    pub fn from_config(
        name: impl Into<String>,
        config: &roomkey_token::RoomConfiguration,
        preset: &str,
    ) -> Self {
        CreateRoomRequest {
            name: name.into(),
            room_preset: preset.to_owned(),
            empty_timeout: config.empty_timeout,
            departure_timeout: config.departure_timeout,
            max_participants: config.max_participants,
            metadata: config.metadata.clone(),
            min_playout_delay: config.min_playout_delay,
            max_playout_delay: config.max_playout_delay,
            sync_streams: config.sync_streams,
            agents: config.agents.clone(),
            egress: config.egress.clone(),
            tags: config.tags.clone(),
        }
    }
}

/// A room, as RoomService returns it. The TURN password is deliberately not kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Room {
    /// Server-assigned id (`RM_…`).
    #[serde(default, deserialize_with = "nullable")]
    pub sid: String,
    /// Room name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Seconds an empty room stays open.
    #[serde(default, alias = "emptyTimeout", deserialize_with = "int")]
    pub empty_timeout: u32,
    /// Seconds the room stays open after the last participant leaves.
    #[serde(default, alias = "departureTimeout", deserialize_with = "int")]
    pub departure_timeout: u32,
    /// Maximum participants (0 = unlimited).
    #[serde(default, alias = "maxParticipants", deserialize_with = "int")]
    pub max_participants: u32,
    /// Creation time, unix seconds.
    #[serde(default, alias = "creationTime", deserialize_with = "int")]
    pub creation_time: i64,
    /// Creation time, unix milliseconds.
    #[serde(default, alias = "creationTimeMs", deserialize_with = "int")]
    pub creation_time_ms: i64,
    /// Room metadata.
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: String,
    /// Participants in the room.
    #[serde(default, alias = "numParticipants", deserialize_with = "int")]
    pub num_participants: u32,
    /// Publishers in the room.
    #[serde(default, alias = "numPublishers", deserialize_with = "int")]
    pub num_publishers: u32,
    /// Whether the room is being recorded.
    #[serde(default, alias = "activeRecording", deserialize_with = "nullable")]
    pub active_recording: bool,
}

/// A participant, as RoomService returns it (the fields a tool shows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ParticipantInfo {
    /// Server-assigned id (`PA_…`).
    #[serde(default, deserialize_with = "nullable")]
    pub sid: String,
    /// Identity.
    #[serde(default, deserialize_with = "nullable")]
    pub identity: String,
    /// Display name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Connection state (`JOINING`, `JOINED`, `ACTIVE`, `DISCONNECTED`).
    #[serde(default, deserialize_with = "enum_name")]
    pub state: String,
    /// Participant kind (`STANDARD`, `AGENT`, …).
    #[serde(default, deserialize_with = "enum_name")]
    pub kind: String,
    /// Metadata.
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: String,
    /// Join time, unix seconds.
    #[serde(default, alias = "joinedAt", deserialize_with = "int")]
    pub joined_at: i64,
    /// Whether it publishes tracks.
    #[serde(default, alias = "isPublisher", deserialize_with = "nullable")]
    pub is_publisher: bool,
    /// Number of published tracks.
    #[serde(
        default,
        rename(serialize = "num_tracks"),
        alias = "tracks",
        deserialize_with = "count"
    )]
    pub num_tracks: usize,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListRoomsResponse {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) rooms: Vec<Room>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListParticipantsResponse {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) participants: Vec<ParticipantInfo>,
}

pub(crate) fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// An integer written as a JSON number or a decimal string (protojson's int64), or `null`.
pub(crate) fn int<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + Default,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Num(i64),
        Str(String),
    }
    let n = match Option::<Raw>::deserialize(d)? {
        None => return Ok(T::default()),
        Some(Raw::Num(n)) => n,
        Some(Raw::Str(s)) => s
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not an integer")))?,
    };
    T::try_from(n).map_err(|_| serde::de::Error::custom(format!("{n} is out of range")))
}

/// An enum written by name or by number.
pub(crate) fn enum_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    })
}

/// The length of a JSON array (or 0 for `null`).
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    Ok(Option::<Vec<serde::de::IgnoredAny>>::deserialize(d)?.map_or(0, |v| v.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_real_server_snake_case_with_string_int64() {
        let room: Room = serde_json::from_str(
            r#"{"sid":"RM_3kQz8pWmN2aB","name":"my-room","empty_timeout":600,"departure_timeout":20,"max_participants":10,
               "creation_time":"1767225600","creation_time_ms":"1767225600123","turn_password":"x",
               "enabled_codecs":[{"mime":"audio/opus","fmtp_line":""}],
               "metadata":"","num_participants":0,"num_publishers":0,"active_recording":false,"version":null}"#,
        )
        .unwrap();
        assert_eq!(room.sid, "RM_3kQz8pWmN2aB");
        assert_eq!(room.empty_timeout, 600);
        assert_eq!(room.creation_time, 1_767_225_600);
        assert_eq!(room.creation_time_ms, 1_767_225_600_123);
    }

    #[test]
    fn reads_camel_case_with_numbers_and_nulls() {
        let room: Room = serde_json::from_str(
            r#"{"sid":"RM_x","name":"r","emptyTimeout":"30","creationTime":1767225600,"metadata":null,"numParticipants":2}"#,
        )
        .unwrap();
        assert_eq!(
            (
                room.empty_timeout,
                room.creation_time,
                room.num_participants
            ),
            (30, 1_767_225_600, 2)
        );
        let p: ParticipantInfo = serde_json::from_str(
            r#"{"identity":"a","state":2,"kind":"AGENT","joinedAt":"5","tracks":[{},{}],"isPublisher":true}"#,
        )
        .unwrap();
        assert_eq!(
            (p.state.as_str(), p.kind.as_str(), p.joined_at, p.num_tracks),
            ("2", "AGENT", 5, 2)
        );
    }

    #[test]
    fn writes_camel_case_without_defaults() {
        let mut req = CreateRoomRequest::new("my-room");
        req.empty_timeout = 600;
        req.max_participants = 10;
        req.agents = vec![RoomAgentDispatch::new("triage", "")];
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"name":"my-room","emptyTimeout":600,"maxParticipants":10,"agents":[{"agentName":"triage"}]}"#
        );
    }
}
