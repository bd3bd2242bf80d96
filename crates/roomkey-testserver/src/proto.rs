//! The RoomService messages, with the field numbers of `livekit/protocol`
//! (`protobufs/livekit_room.proto`, `livekit_models.proto`, `livekit_agent_dispatch.proto`).
//!
//! They are hand-written prost messages, so the protobuf encoding is the real one. Messages
//! that RoomService only carries through (egress requests, simulcast layers, data tracks) are
//! not modelled: their bytes are skipped when decoding, and their JSON is written as `[]` or
//! `null`.
//!
//! Enum fields are `i32`, as prost stores them; the `*_NAMES` tables give the protojson names.

#![allow(missing_docs)] // field docs would only repeat the proto names

use std::collections::BTreeMap;

use crate::pjson::{self, FromJson, JResult, Json, ObjWriter, ToJson, fields};

// ---------------------------------------------------------------------------------------------
// Enum name tables (protojson writes and reads these names)

/// `livekit.ParticipantInfo.State`.
pub const PARTICIPANT_STATE_NAMES: &[(&str, i32)] = &[
    ("JOINING", 0),
    ("JOINED", 1),
    ("ACTIVE", 2),
    ("DISCONNECTED", 3),
];
/// `livekit.ParticipantInfo.Kind`.
pub const PARTICIPANT_KIND_NAMES: &[(&str, i32)] = &[
    ("STANDARD", 0),
    ("INGRESS", 1),
    ("EGRESS", 2),
    ("SIP", 3),
    ("AGENT", 4),
    ("CONNECTOR", 7),
    ("BRIDGE", 8),
];
/// `livekit.ParticipantInfo.KindDetail`.
pub const KIND_DETAIL_NAMES: &[(&str, i32)] = &[
    ("CLOUD_AGENT", 0),
    ("FORWARDED", 1),
    ("CONNECTOR_WHATSAPP", 2),
    ("CONNECTOR_TWILIO", 3),
    ("BRIDGE_RTSP", 4),
    ("SIMULATION", 5),
];
/// `livekit.DisconnectReason`.
pub const DISCONNECT_REASON_NAMES: &[(&str, i32)] = &[
    ("UNKNOWN_REASON", 0),
    ("CLIENT_INITIATED", 1),
    ("DUPLICATE_IDENTITY", 2),
    ("SERVER_SHUTDOWN", 3),
    ("PARTICIPANT_REMOVED", 4),
    ("ROOM_DELETED", 5),
    ("STATE_MISMATCH", 6),
    ("JOIN_FAILURE", 7),
    ("MIGRATION", 8),
    ("SIGNAL_CLOSE", 9),
    ("ROOM_CLOSED", 10),
    ("USER_UNAVAILABLE", 11),
    ("USER_REJECTED", 12),
    ("SIP_TRUNK_FAILURE", 13),
    ("CONNECTION_TIMEOUT", 14),
    ("MEDIA_FAILURE", 15),
    ("AGENT_ERROR", 16),
];
/// `livekit.ClientInfo.Capability`.
pub const CAPABILITY_NAMES: &[(&str, i32)] = &[
    ("CAP_UNUSED", 0),
    ("CAP_PACKET_TRAILER", 1),
    ("CAP_COMPRESSION_DEFLATE_RAW", 2),
];
/// `livekit.TrackType`.
pub const TRACK_TYPE_NAMES: &[(&str, i32)] = &[("AUDIO", 0), ("VIDEO", 1), ("DATA", 2)];
/// `livekit.TrackSource`.
pub const TRACK_SOURCE_NAMES: &[(&str, i32)] = &[
    ("UNKNOWN", 0),
    ("CAMERA", 1),
    ("MICROPHONE", 2),
    ("SCREEN_SHARE", 3),
    ("SCREEN_SHARE_AUDIO", 4),
];
/// `livekit.Encryption.Type`.
pub const ENCRYPTION_TYPE_NAMES: &[(&str, i32)] = &[("NONE", 0), ("GCM", 1), ("CUSTOM", 2)];
/// `livekit.AudioTrackFeature`.
pub const AUDIO_TRACK_FEATURE_NAMES: &[(&str, i32)] = &[
    ("TF_STEREO", 0),
    ("TF_NO_DTX", 1),
    ("TF_AUTO_GAIN_CONTROL", 2),
    ("TF_ECHO_CANCELLATION", 3),
    ("TF_NOISE_SUPPRESSION", 4),
    ("TF_ENHANCED_NOISE_CANCELLATION", 5),
    ("TF_PRECONNECT_BUFFER", 6),
];
/// `livekit.BackupCodecPolicy`.
pub const BACKUP_CODEC_POLICY_NAMES: &[(&str, i32)] = &[
    ("PREFER_REGRESSION", 0),
    ("SIMULCAST", 1),
    ("REGRESSION", 2),
];
/// `livekit.PacketTrailerFeature`.
pub const PACKET_TRAILER_FEATURE_NAMES: &[(&str, i32)] = &[
    ("PTF_USER_TIMESTAMP", 0),
    ("PTF_FRAME_ID", 1),
    ("PTF_USER_DATA", 2),
];
/// `livekit.JobRestartPolicy`.
pub const JOB_RESTART_POLICY_NAMES: &[(&str, i32)] = &[("JRP_ON_FAILURE", 0), ("JRP_NEVER", 1)];
/// `livekit.DataPacket.Kind`.
pub const DATA_PACKET_KIND_NAMES: &[(&str, i32)] = &[("RELIABLE", 0), ("LOSSY", 1)];

/// `livekit.ParticipantInfo.State` values.
pub mod participant_state {
    pub const JOINING: i32 = 0;
    pub const JOINED: i32 = 1;
    pub const ACTIVE: i32 = 2;
    pub const DISCONNECTED: i32 = 3;
}

// ---------------------------------------------------------------------------------------------
// Models

/// `livekit.Room`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Room {
    #[prost(string, tag = "1")]
    pub sid: String,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(uint32, tag = "3")]
    pub empty_timeout: u32,
    #[prost(uint32, tag = "14")]
    pub departure_timeout: u32,
    #[prost(uint32, tag = "4")]
    pub max_participants: u32,
    #[prost(int64, tag = "5")]
    pub creation_time: i64,
    #[prost(int64, tag = "15")]
    pub creation_time_ms: i64,
    #[prost(string, tag = "6")]
    pub turn_password: String,
    #[prost(message, repeated, tag = "7")]
    pub enabled_codecs: Vec<Codec>,
    #[prost(string, tag = "8")]
    pub metadata: String,
    #[prost(uint32, tag = "9")]
    pub num_participants: u32,
    #[prost(uint32, tag = "11")]
    pub num_publishers: u32,
    #[prost(bool, tag = "10")]
    pub active_recording: bool,
    #[prost(message, optional, tag = "13")]
    pub version: Option<TimedVersion>,
}

/// `livekit.Codec`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Codec {
    #[prost(string, tag = "1")]
    pub mime: String,
    #[prost(string, tag = "2")]
    pub fmtp_line: String,
}

/// `livekit.TimedVersion`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimedVersion {
    #[prost(int64, tag = "1")]
    pub unix_micro: i64,
    #[prost(int32, tag = "2")]
    pub ticks: i32,
}

/// `livekit.ParticipantPermission`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ParticipantPermission {
    #[prost(bool, tag = "1")]
    pub can_subscribe: bool,
    #[prost(bool, tag = "2")]
    pub can_publish: bool,
    #[prost(bool, tag = "3")]
    pub can_publish_data: bool,
    /// `TrackSource` values.
    #[prost(int32, repeated, tag = "9")]
    pub can_publish_sources: Vec<i32>,
    #[prost(bool, tag = "7")]
    pub hidden: bool,
    #[prost(bool, tag = "8")]
    pub recorder: bool,
    #[prost(bool, tag = "10")]
    pub can_update_metadata: bool,
    #[prost(bool, tag = "11")]
    pub agent: bool,
    #[prost(bool, tag = "12")]
    pub can_subscribe_metrics: bool,
    #[prost(bool, tag = "13")]
    pub can_manage_agent_session: bool,
}

/// `livekit.ParticipantInfo`, without `data_tracks` (19), which is written as `[]`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ParticipantInfo {
    #[prost(string, tag = "1")]
    pub sid: String,
    #[prost(string, tag = "2")]
    pub identity: String,
    /// `ParticipantInfo.State`; see [`participant_state`].
    #[prost(int32, tag = "3")]
    pub state: i32,
    #[prost(message, repeated, tag = "4")]
    pub tracks: Vec<TrackInfo>,
    #[prost(string, tag = "5")]
    pub metadata: String,
    #[prost(int64, tag = "6")]
    pub joined_at: i64,
    #[prost(int64, tag = "17")]
    pub joined_at_ms: i64,
    #[prost(string, tag = "9")]
    pub name: String,
    #[prost(uint32, tag = "10")]
    pub version: u32,
    #[prost(message, optional, tag = "11")]
    pub permission: Option<ParticipantPermission>,
    #[prost(string, tag = "12")]
    pub region: String,
    #[prost(bool, tag = "13")]
    pub is_publisher: bool,
    /// `ParticipantInfo.Kind`.
    #[prost(int32, tag = "14")]
    pub kind: i32,
    #[prost(btree_map = "string, string", tag = "15")]
    pub attributes: BTreeMap<String, String>,
    /// `DisconnectReason`.
    #[prost(int32, tag = "16")]
    pub disconnect_reason: i32,
    /// `ParticipantInfo.KindDetail` values.
    #[prost(int32, repeated, tag = "18")]
    pub kind_details: Vec<i32>,
    #[prost(int32, tag = "20")]
    pub client_protocol: i32,
    /// `ClientInfo.Capability` values.
    #[prost(int32, repeated, tag = "21")]
    pub capabilities: Vec<i32>,
}

/// `livekit.TrackInfo`, without `layers` (10) and `codecs` (13), which are written as `[]`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TrackInfo {
    #[prost(string, tag = "1")]
    pub sid: String,
    /// `TrackType`.
    #[prost(int32, tag = "2")]
    pub r#type: i32,
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(bool, tag = "4")]
    pub muted: bool,
    #[prost(uint32, tag = "5")]
    pub width: u32,
    #[prost(uint32, tag = "6")]
    pub height: u32,
    #[prost(bool, tag = "7")]
    pub simulcast: bool,
    #[prost(bool, tag = "8")]
    pub disable_dtx: bool,
    /// `TrackSource`.
    #[prost(int32, tag = "9")]
    pub source: i32,
    #[prost(string, tag = "11")]
    pub mime_type: String,
    #[prost(string, tag = "12")]
    pub mid: String,
    #[prost(bool, tag = "14")]
    pub stereo: bool,
    #[prost(bool, tag = "15")]
    pub disable_red: bool,
    /// `Encryption.Type`.
    #[prost(int32, tag = "16")]
    pub encryption: i32,
    #[prost(string, tag = "17")]
    pub stream: String,
    #[prost(message, optional, tag = "18")]
    pub version: Option<TimedVersion>,
    /// `AudioTrackFeature` values.
    #[prost(int32, repeated, tag = "19")]
    pub audio_features: Vec<i32>,
    /// `BackupCodecPolicy`.
    #[prost(int32, tag = "20")]
    pub backup_codec_policy: i32,
    /// `PacketTrailerFeature` values.
    #[prost(int32, repeated, tag = "21")]
    pub packet_trailer_features: Vec<i32>,
}

/// `livekit.RoomAgentDispatch`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RoomAgentDispatch {
    #[prost(string, tag = "1")]
    pub agent_name: String,
    #[prost(string, tag = "2")]
    pub metadata: String,
    /// `JobRestartPolicy`.
    #[prost(int32, tag = "3")]
    pub restart_policy: i32,
    #[prost(string, tag = "4")]
    pub deployment: String,
    #[prost(btree_map = "string, string", tag = "5")]
    pub attributes: BTreeMap<String, String>,
}

/// `livekit.RoomEgress`, as a presence marker only: its contents are not modelled (the
/// imitated server has no egress service and refuses any CreateRoom that carries one).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RoomEgress {}

// ---------------------------------------------------------------------------------------------
// Requests and responses

/// `livekit.CreateRoomRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CreateRoomRequest {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "12")]
    pub room_preset: String,
    #[prost(uint32, tag = "2")]
    pub empty_timeout: u32,
    #[prost(uint32, tag = "10")]
    pub departure_timeout: u32,
    #[prost(uint32, tag = "3")]
    pub max_participants: u32,
    #[prost(string, tag = "4")]
    pub node_id: String,
    #[prost(string, tag = "5")]
    pub metadata: String,
    #[prost(btree_map = "string, string", tag = "15")]
    pub tags: BTreeMap<String, String>,
    #[prost(message, optional, tag = "6")]
    pub egress: Option<RoomEgress>,
    #[prost(uint32, tag = "7")]
    pub min_playout_delay: u32,
    #[prost(uint32, tag = "8")]
    pub max_playout_delay: u32,
    #[prost(bool, tag = "9")]
    pub sync_streams: bool,
    #[prost(bool, tag = "13")]
    pub replay_enabled: bool,
    #[prost(message, repeated, tag = "14")]
    pub agents: Vec<RoomAgentDispatch>,
}

/// `livekit.ListRoomsRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListRoomsRequest {
    #[prost(string, repeated, tag = "1")]
    pub names: Vec<String>,
}

/// `livekit.ListRoomsResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListRoomsResponse {
    #[prost(message, repeated, tag = "1")]
    pub rooms: Vec<Room>,
}

/// `livekit.DeleteRoomRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeleteRoomRequest {
    #[prost(string, tag = "1")]
    pub room: String,
}

/// `livekit.DeleteRoomResponse` (and every other empty response).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {}

/// `livekit.ListParticipantsRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListParticipantsRequest {
    #[prost(string, tag = "1")]
    pub room: String,
}

/// `livekit.ListParticipantsResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListParticipantsResponse {
    #[prost(message, repeated, tag = "1")]
    pub participants: Vec<ParticipantInfo>,
}

/// `livekit.RoomParticipantIdentity`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RoomParticipantIdentity {
    #[prost(string, tag = "1")]
    pub room: String,
    #[prost(string, tag = "2")]
    pub identity: String,
    #[prost(int64, tag = "3")]
    pub revoke_token_ts: i64,
}

/// `livekit.MuteRoomTrackRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MuteRoomTrackRequest {
    #[prost(string, tag = "1")]
    pub room: String,
    #[prost(string, tag = "2")]
    pub identity: String,
    #[prost(string, tag = "3")]
    pub track_sid: String,
    #[prost(bool, tag = "4")]
    pub muted: bool,
}

/// `livekit.MuteRoomTrackResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MuteRoomTrackResponse {
    #[prost(message, optional, tag = "1")]
    pub track: Option<TrackInfo>,
}

/// `livekit.UpdateParticipantRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UpdateParticipantRequest {
    #[prost(string, tag = "1")]
    pub room: String,
    #[prost(string, tag = "2")]
    pub identity: String,
    #[prost(string, tag = "3")]
    pub metadata: String,
    #[prost(message, optional, tag = "4")]
    pub permission: Option<ParticipantPermission>,
    #[prost(string, tag = "5")]
    pub name: String,
    #[prost(btree_map = "string, string", tag = "6")]
    pub attributes: BTreeMap<String, String>,
}

/// `livekit.ParticipantTracks`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ParticipantTracks {
    #[prost(string, tag = "1")]
    pub participant_sid: String,
    #[prost(string, repeated, tag = "2")]
    pub track_sids: Vec<String>,
}

/// `livekit.UpdateSubscriptionsRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UpdateSubscriptionsRequest {
    #[prost(string, tag = "1")]
    pub room: String,
    #[prost(string, tag = "2")]
    pub identity: String,
    #[prost(string, repeated, tag = "3")]
    pub track_sids: Vec<String>,
    #[prost(bool, tag = "4")]
    pub subscribe: bool,
    #[prost(message, repeated, tag = "5")]
    pub participant_tracks: Vec<ParticipantTracks>,
}

/// `livekit.SendDataRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SendDataRequest {
    #[prost(string, tag = "1")]
    pub room: String,
    #[prost(bytes = "vec", tag = "2")]
    pub data: Vec<u8>,
    /// `DataPacket.Kind`.
    #[prost(int32, tag = "3")]
    pub kind: i32,
    #[prost(string, repeated, tag = "4")]
    pub destination_sids: Vec<String>,
    #[prost(string, repeated, tag = "6")]
    pub destination_identities: Vec<String>,
    #[prost(string, optional, tag = "5")]
    pub topic: Option<String>,
    #[prost(bytes = "vec", tag = "7")]
    pub nonce: Vec<u8>,
}

/// `livekit.UpdateRoomMetadataRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UpdateRoomMetadataRequest {
    #[prost(string, tag = "1")]
    pub room: String,
    #[prost(string, tag = "2")]
    pub metadata: String,
}

/// `livekit.ForwardParticipantRequest` and `livekit.MoveParticipantRequest` (same fields).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ForwardParticipantRequest {
    #[prost(string, tag = "1")]
    pub room: String,
    #[prost(string, tag = "2")]
    pub identity: String,
    #[prost(string, tag = "3")]
    pub destination_room: String,
}

/// `livekit.PerformRpcRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PerformRpcRequest {
    #[prost(string, tag = "1")]
    pub room: String,
    #[prost(string, tag = "2")]
    pub destination_identity: String,
    #[prost(string, tag = "3")]
    pub method: String,
    #[prost(string, tag = "4")]
    pub payload: String,
    #[prost(uint32, tag = "5")]
    pub response_timeout_ms: u32,
}

/// `livekit.PerformRpcResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PerformRpcResponse {
    #[prost(string, tag = "1")]
    pub payload: String,
}

// ---------------------------------------------------------------------------------------------
// protojson

fn set_enum(slot: &mut i32, v: &Json, names: &[(&str, i32)]) -> JResult<()> {
    if let Some(n) = pjson::enum_(v, names)? {
        *slot = n;
    }
    Ok(())
}

impl FromJson for Codec {
    const FIELDS: &'static [pjson::Field] = fields!["mime" / "mime", "fmtp_line" / "fmtpLine"];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.mime = pjson::string(v)?,
            _ => self.fmtp_line = pjson::string(v)?,
        }
        Ok(())
    }
}

impl ToJson for Codec {
    fn write(&self, w: &mut ObjWriter<'_>) {
        w.str("mime", &self.mime);
        w.str("fmtp_line", &self.fmtp_line);
    }
}

impl FromJson for TimedVersion {
    const FIELDS: &'static [pjson::Field] = fields!["unix_micro" / "unixMicro", "ticks" / "ticks"];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.unix_micro = pjson::i64_(v)?,
            _ => self.ticks = pjson::i32_(v)?,
        }
        Ok(())
    }
}

impl ToJson for TimedVersion {
    fn write(&self, w: &mut ObjWriter<'_>) {
        w.i64("unix_micro", self.unix_micro);
        w.i32("ticks", self.ticks);
    }
}

impl FromJson for Room {
    const FIELDS: &'static [pjson::Field] = fields![
        "sid" / "sid",
        "name" / "name",
        "empty_timeout" / "emptyTimeout",
        "departure_timeout" / "departureTimeout",
        "max_participants" / "maxParticipants",
        "creation_time" / "creationTime",
        "creation_time_ms" / "creationTimeMs",
        "turn_password" / "turnPassword",
        "enabled_codecs" / "enabledCodecs",
        "metadata" / "metadata",
        "num_participants" / "numParticipants",
        "num_publishers" / "numPublishers",
        "active_recording" / "activeRecording",
        "version" / "version",
    ];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.sid = pjson::string(v)?,
            1 => self.name = pjson::string(v)?,
            2 => self.empty_timeout = pjson::u32_(v)?,
            3 => self.departure_timeout = pjson::u32_(v)?,
            4 => self.max_participants = pjson::u32_(v)?,
            5 => self.creation_time = pjson::i64_(v)?,
            6 => self.creation_time_ms = pjson::i64_(v)?,
            7 => self.turn_password = pjson::string(v)?,
            8 => self.enabled_codecs = pjson::repeated(v, pjson::message)?,
            9 => self.metadata = pjson::string(v)?,
            10 => self.num_participants = pjson::u32_(v)?,
            11 => self.num_publishers = pjson::u32_(v)?,
            12 => self.active_recording = pjson::bool_(v)?,
            _ => self.version = Some(pjson::message(v)?),
        }
        Ok(())
    }
}

impl ToJson for Room {
    fn write(&self, w: &mut ObjWriter<'_>) {
        w.str("sid", &self.sid);
        w.str("name", &self.name);
        w.u32("empty_timeout", self.empty_timeout);
        w.u32("departure_timeout", self.departure_timeout);
        w.u32("max_participants", self.max_participants);
        w.i64("creation_time", self.creation_time);
        w.i64("creation_time_ms", self.creation_time_ms);
        w.str("turn_password", &self.turn_password);
        w.messages("enabled_codecs", &self.enabled_codecs);
        w.str("metadata", &self.metadata);
        w.u32("num_participants", self.num_participants);
        w.u32("num_publishers", self.num_publishers);
        w.bool("active_recording", self.active_recording);
        w.message("version", self.version.as_ref());
    }
}

impl FromJson for ParticipantPermission {
    const FIELDS: &'static [pjson::Field] = fields![
        "can_subscribe" / "canSubscribe",
        "can_publish" / "canPublish",
        "can_publish_data" / "canPublishData",
        "can_publish_sources" / "canPublishSources",
        "hidden" / "hidden",
        "recorder" / "recorder",
        "can_update_metadata" / "canUpdateMetadata",
        "agent" / "agent",
        "can_subscribe_metrics" / "canSubscribeMetrics",
        "can_manage_agent_session" / "canManageAgentSession",
    ];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.can_subscribe = pjson::bool_(v)?,
            1 => self.can_publish = pjson::bool_(v)?,
            2 => self.can_publish_data = pjson::bool_(v)?,
            3 => self.can_publish_sources = pjson::repeated_enum(v, TRACK_SOURCE_NAMES)?,
            4 => self.hidden = pjson::bool_(v)?,
            5 => self.recorder = pjson::bool_(v)?,
            6 => self.can_update_metadata = pjson::bool_(v)?,
            7 => self.agent = pjson::bool_(v)?,
            8 => self.can_subscribe_metrics = pjson::bool_(v)?,
            _ => self.can_manage_agent_session = pjson::bool_(v)?,
        }
        Ok(())
    }
}

impl ToJson for ParticipantPermission {
    fn write(&self, w: &mut ObjWriter<'_>) {
        w.bool("can_subscribe", self.can_subscribe);
        w.bool("can_publish", self.can_publish);
        w.bool("can_publish_data", self.can_publish_data);
        w.repeated_enum(
            "can_publish_sources",
            TRACK_SOURCE_NAMES,
            &self.can_publish_sources,
        );
        w.bool("hidden", self.hidden);
        w.bool("recorder", self.recorder);
        w.bool("can_update_metadata", self.can_update_metadata);
        w.bool("agent", self.agent);
        w.bool("can_subscribe_metrics", self.can_subscribe_metrics);
        w.bool("can_manage_agent_session", self.can_manage_agent_session);
    }
}

impl FromJson for TrackInfo {
    const FIELDS: &'static [pjson::Field] = fields![
        "sid" / "sid",
        "type" / "type",
        "name" / "name",
        "muted" / "muted",
        "width" / "width",
        "height" / "height",
        "simulcast" / "simulcast",
        "disable_dtx" / "disableDtx",
        "source" / "source",
        "mime_type" / "mimeType",
        "mid" / "mid",
        "stereo" / "stereo",
        "disable_red" / "disableRed",
        "encryption" / "encryption",
        "stream" / "stream",
        "version" / "version",
        "audio_features" / "audioFeatures",
        "backup_codec_policy" / "backupCodecPolicy",
        "packet_trailer_features" / "packetTrailerFeatures",
    ];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.sid = pjson::string(v)?,
            1 => set_enum(&mut self.r#type, v, TRACK_TYPE_NAMES)?,
            2 => self.name = pjson::string(v)?,
            3 => self.muted = pjson::bool_(v)?,
            4 => self.width = pjson::u32_(v)?,
            5 => self.height = pjson::u32_(v)?,
            6 => self.simulcast = pjson::bool_(v)?,
            7 => self.disable_dtx = pjson::bool_(v)?,
            8 => set_enum(&mut self.source, v, TRACK_SOURCE_NAMES)?,
            9 => self.mime_type = pjson::string(v)?,
            10 => self.mid = pjson::string(v)?,
            11 => self.stereo = pjson::bool_(v)?,
            12 => self.disable_red = pjson::bool_(v)?,
            13 => set_enum(&mut self.encryption, v, ENCRYPTION_TYPE_NAMES)?,
            14 => self.stream = pjson::string(v)?,
            15 => self.version = Some(pjson::message(v)?),
            16 => self.audio_features = pjson::repeated_enum(v, AUDIO_TRACK_FEATURE_NAMES)?,
            17 => set_enum(&mut self.backup_codec_policy, v, BACKUP_CODEC_POLICY_NAMES)?,
            _ => {
                self.packet_trailer_features =
                    pjson::repeated_enum(v, PACKET_TRAILER_FEATURE_NAMES)?;
            }
        }
        Ok(())
    }
}

impl ToJson for TrackInfo {
    fn write(&self, w: &mut ObjWriter<'_>) {
        w.str("sid", &self.sid);
        w.enum_("type", TRACK_TYPE_NAMES, self.r#type);
        w.str("name", &self.name);
        w.bool("muted", self.muted);
        w.u32("width", self.width);
        w.u32("height", self.height);
        w.bool("simulcast", self.simulcast);
        w.bool("disable_dtx", self.disable_dtx);
        w.enum_("source", TRACK_SOURCE_NAMES, self.source);
        w.empty_list("layers");
        w.str("mime_type", &self.mime_type);
        w.str("mid", &self.mid);
        w.empty_list("codecs");
        w.bool("stereo", self.stereo);
        w.bool("disable_red", self.disable_red);
        w.enum_("encryption", ENCRYPTION_TYPE_NAMES, self.encryption);
        w.str("stream", &self.stream);
        w.message("version", self.version.as_ref());
        w.repeated_enum(
            "audio_features",
            AUDIO_TRACK_FEATURE_NAMES,
            &self.audio_features,
        );
        w.enum_(
            "backup_codec_policy",
            BACKUP_CODEC_POLICY_NAMES,
            self.backup_codec_policy,
        );
        w.repeated_enum(
            "packet_trailer_features",
            PACKET_TRAILER_FEATURE_NAMES,
            &self.packet_trailer_features,
        );
    }
}

impl FromJson for ParticipantInfo {
    const FIELDS: &'static [pjson::Field] = fields![
        "sid" / "sid",
        "identity" / "identity",
        "state" / "state",
        "tracks" / "tracks",
        "metadata" / "metadata",
        "joined_at" / "joinedAt",
        "joined_at_ms" / "joinedAtMs",
        "name" / "name",
        "version" / "version",
        "permission" / "permission",
        "region" / "region",
        "is_publisher" / "isPublisher",
        "kind" / "kind",
        "attributes" / "attributes",
        "disconnect_reason" / "disconnectReason",
        "kind_details" / "kindDetails",
        "data_tracks" / "dataTracks",
        "client_protocol" / "clientProtocol",
        "capabilities" / "capabilities",
    ];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.sid = pjson::string(v)?,
            1 => self.identity = pjson::string(v)?,
            2 => set_enum(&mut self.state, v, PARTICIPANT_STATE_NAMES)?,
            3 => self.tracks = pjson::repeated(v, pjson::message)?,
            4 => self.metadata = pjson::string(v)?,
            5 => self.joined_at = pjson::i64_(v)?,
            6 => self.joined_at_ms = pjson::i64_(v)?,
            7 => self.name = pjson::string(v)?,
            8 => self.version = pjson::u32_(v)?,
            9 => self.permission = Some(pjson::message(v)?),
            10 => self.region = pjson::string(v)?,
            11 => self.is_publisher = pjson::bool_(v)?,
            12 => set_enum(&mut self.kind, v, PARTICIPANT_KIND_NAMES)?,
            13 => self.attributes = pjson::string_map(v)?,
            14 => set_enum(&mut self.disconnect_reason, v, DISCONNECT_REASON_NAMES)?,
            15 => self.kind_details = pjson::repeated_enum(v, KIND_DETAIL_NAMES)?,
            16 => {} // data_tracks: not modelled
            17 => self.client_protocol = pjson::i32_(v)?,
            _ => self.capabilities = pjson::repeated_enum(v, CAPABILITY_NAMES)?,
        }
        Ok(())
    }
}

impl ToJson for ParticipantInfo {
    fn write(&self, w: &mut ObjWriter<'_>) {
        w.str("sid", &self.sid);
        w.str("identity", &self.identity);
        w.enum_("state", PARTICIPANT_STATE_NAMES, self.state);
        w.messages("tracks", &self.tracks);
        w.str("metadata", &self.metadata);
        w.i64("joined_at", self.joined_at);
        w.i64("joined_at_ms", self.joined_at_ms);
        w.str("name", &self.name);
        w.u32("version", self.version);
        w.message("permission", self.permission.as_ref());
        w.str("region", &self.region);
        w.bool("is_publisher", self.is_publisher);
        w.enum_("kind", PARTICIPANT_KIND_NAMES, self.kind);
        w.string_map("attributes", &self.attributes);
        w.enum_(
            "disconnect_reason",
            DISCONNECT_REASON_NAMES,
            self.disconnect_reason,
        );
        w.repeated_enum("kind_details", KIND_DETAIL_NAMES, &self.kind_details);
        w.empty_list("data_tracks");
        w.i32("client_protocol", self.client_protocol);
        w.repeated_enum("capabilities", CAPABILITY_NAMES, &self.capabilities);
    }
}

impl FromJson for RoomAgentDispatch {
    const FIELDS: &'static [pjson::Field] = fields![
        "agent_name" / "agentName",
        "metadata" / "metadata",
        "restart_policy" / "restartPolicy",
        "deployment" / "deployment",
        "attributes" / "attributes",
    ];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.agent_name = pjson::string(v)?,
            1 => self.metadata = pjson::string(v)?,
            2 => set_enum(&mut self.restart_policy, v, JOB_RESTART_POLICY_NAMES)?,
            3 => self.deployment = pjson::string(v)?,
            _ => self.attributes = pjson::string_map(v)?,
        }
        Ok(())
    }
}

impl ToJson for RoomAgentDispatch {
    fn write(&self, w: &mut ObjWriter<'_>) {
        w.str("agent_name", &self.agent_name);
        w.str("metadata", &self.metadata);
        w.enum_(
            "restart_policy",
            JOB_RESTART_POLICY_NAMES,
            self.restart_policy,
        );
        w.str("deployment", &self.deployment);
        w.string_map("attributes", &self.attributes);
    }
}

impl FromJson for RoomEgress {
    const FIELDS: &'static [pjson::Field] = &[];
    fn set(&mut self, _: usize, _: &Json) -> JResult<()> {
        Ok(())
    }
}

impl FromJson for CreateRoomRequest {
    const FIELDS: &'static [pjson::Field] = fields![
        "name" / "name",
        "room_preset" / "roomPreset",
        "empty_timeout" / "emptyTimeout",
        "departure_timeout" / "departureTimeout",
        "max_participants" / "maxParticipants",
        "node_id" / "nodeId",
        "metadata" / "metadata",
        "tags" / "tags",
        "egress" / "egress",
        "min_playout_delay" / "minPlayoutDelay",
        "max_playout_delay" / "maxPlayoutDelay",
        "sync_streams" / "syncStreams",
        "replay_enabled" / "replayEnabled",
        "agents" / "agents",
    ];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.name = pjson::string(v)?,
            1 => self.room_preset = pjson::string(v)?,
            2 => self.empty_timeout = pjson::u32_(v)?,
            3 => self.departure_timeout = pjson::u32_(v)?,
            4 => self.max_participants = pjson::u32_(v)?,
            5 => self.node_id = pjson::string(v)?,
            6 => self.metadata = pjson::string(v)?,
            7 => self.tags = pjson::string_map(v)?,
            8 => self.egress = Some(pjson::message(v)?),
            9 => self.min_playout_delay = pjson::u32_(v)?,
            10 => self.max_playout_delay = pjson::u32_(v)?,
            11 => self.sync_streams = pjson::bool_(v)?,
            12 => self.replay_enabled = pjson::bool_(v)?,
            _ => self.agents = pjson::repeated(v, pjson::message)?,
        }
        Ok(())
    }
}

impl FromJson for ListRoomsRequest {
    const FIELDS: &'static [pjson::Field] = fields!["names" / "names"];
    fn set(&mut self, _: usize, v: &Json) -> JResult<()> {
        self.names = pjson::repeated(v, pjson::string)?;
        Ok(())
    }
}

impl ToJson for ListRoomsResponse {
    fn write(&self, w: &mut ObjWriter<'_>) {
        w.messages("rooms", &self.rooms);
    }
}

impl FromJson for DeleteRoomRequest {
    const FIELDS: &'static [pjson::Field] = fields!["room" / "room"];
    fn set(&mut self, _: usize, v: &Json) -> JResult<()> {
        self.room = pjson::string(v)?;
        Ok(())
    }
}

impl ToJson for Empty {
    fn write(&self, _: &mut ObjWriter<'_>) {}
}

impl FromJson for ListParticipantsRequest {
    const FIELDS: &'static [pjson::Field] = fields!["room" / "room"];
    fn set(&mut self, _: usize, v: &Json) -> JResult<()> {
        self.room = pjson::string(v)?;
        Ok(())
    }
}

impl ToJson for ListParticipantsResponse {
    fn write(&self, w: &mut ObjWriter<'_>) {
        w.messages("participants", &self.participants);
    }
}

impl FromJson for RoomParticipantIdentity {
    const FIELDS: &'static [pjson::Field] = fields![
        "room" / "room",
        "identity" / "identity",
        "revoke_token_ts" / "revokeTokenTs",
    ];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.room = pjson::string(v)?,
            1 => self.identity = pjson::string(v)?,
            _ => self.revoke_token_ts = pjson::i64_(v)?,
        }
        Ok(())
    }
}

impl FromJson for MuteRoomTrackRequest {
    const FIELDS: &'static [pjson::Field] = fields![
        "room" / "room",
        "identity" / "identity",
        "track_sid" / "trackSid",
        "muted" / "muted",
    ];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.room = pjson::string(v)?,
            1 => self.identity = pjson::string(v)?,
            2 => self.track_sid = pjson::string(v)?,
            _ => self.muted = pjson::bool_(v)?,
        }
        Ok(())
    }
}

impl ToJson for MuteRoomTrackResponse {
    fn write(&self, w: &mut ObjWriter<'_>) {
        w.message("track", self.track.as_ref());
    }
}

impl FromJson for UpdateParticipantRequest {
    const FIELDS: &'static [pjson::Field] = fields![
        "room" / "room",
        "identity" / "identity",
        "metadata" / "metadata",
        "permission" / "permission",
        "name" / "name",
        "attributes" / "attributes",
    ];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.room = pjson::string(v)?,
            1 => self.identity = pjson::string(v)?,
            2 => self.metadata = pjson::string(v)?,
            3 => self.permission = Some(pjson::message(v)?),
            4 => self.name = pjson::string(v)?,
            _ => self.attributes = pjson::string_map(v)?,
        }
        Ok(())
    }
}

impl FromJson for ParticipantTracks {
    const FIELDS: &'static [pjson::Field] = fields![
        "participant_sid" / "participantSid",
        "track_sids" / "trackSids",
    ];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.participant_sid = pjson::string(v)?,
            _ => self.track_sids = pjson::repeated(v, pjson::string)?,
        }
        Ok(())
    }
}

impl FromJson for UpdateSubscriptionsRequest {
    const FIELDS: &'static [pjson::Field] = fields![
        "room" / "room",
        "identity" / "identity",
        "track_sids" / "trackSids",
        "subscribe" / "subscribe",
        "participant_tracks" / "participantTracks",
    ];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.room = pjson::string(v)?,
            1 => self.identity = pjson::string(v)?,
            2 => self.track_sids = pjson::repeated(v, pjson::string)?,
            3 => self.subscribe = pjson::bool_(v)?,
            _ => self.participant_tracks = pjson::repeated(v, pjson::message)?,
        }
        Ok(())
    }
}

impl FromJson for SendDataRequest {
    const FIELDS: &'static [pjson::Field] = fields![
        "room" / "room",
        "data" / "data",
        "kind" / "kind",
        "destination_sids" / "destinationSids",
        "destination_identities" / "destinationIdentities",
        "topic" / "topic",
        "nonce" / "nonce",
    ];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.room = pjson::string(v)?,
            1 => self.data = pjson::bytes(v)?,
            2 => set_enum(&mut self.kind, v, DATA_PACKET_KIND_NAMES)?,
            3 => self.destination_sids = pjson::repeated(v, pjson::string)?,
            4 => self.destination_identities = pjson::repeated(v, pjson::string)?,
            5 => self.topic = Some(pjson::string(v)?),
            _ => self.nonce = pjson::bytes(v)?,
        }
        Ok(())
    }
}

impl FromJson for UpdateRoomMetadataRequest {
    const FIELDS: &'static [pjson::Field] = fields!["room" / "room", "metadata" / "metadata"];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.room = pjson::string(v)?,
            _ => self.metadata = pjson::string(v)?,
        }
        Ok(())
    }
}

impl FromJson for ForwardParticipantRequest {
    const FIELDS: &'static [pjson::Field] = fields![
        "room" / "room",
        "identity" / "identity",
        "destination_room" / "destinationRoom",
    ];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.room = pjson::string(v)?,
            1 => self.identity = pjson::string(v)?,
            _ => self.destination_room = pjson::string(v)?,
        }
        Ok(())
    }
}

impl FromJson for PerformRpcRequest {
    const FIELDS: &'static [pjson::Field] = fields![
        "room" / "room",
        "destination_identity" / "destinationIdentity",
        "method" / "method",
        "payload" / "payload",
        "response_timeout_ms" / "responseTimeoutMs",
    ];
    fn set(&mut self, i: usize, v: &Json) -> JResult<()> {
        match i {
            0 => self.room = pjson::string(v)?,
            1 => self.destination_identity = pjson::string(v)?,
            2 => self.method = pjson::string(v)?,
            3 => self.payload = pjson::string(v)?,
            _ => self.response_timeout_ms = pjson::u32_(v)?,
        }
        Ok(())
    }
}

impl ToJson for PerformRpcResponse {
    fn write(&self, w: &mut ObjWriter<'_>) {
        w.str("payload", &self.payload);
    }
}

/// A response message the server can write as JSON.
pub trait ServerJson {
    /// The message as the real server writes it in JSON: proto (snake_case) names, every
    /// field present, 64-bit integers as strings, enums by name, unset messages as `null`.
    fn to_server_json(&self) -> String;
}

macro_rules! server_json {
    ($($t:ty),*) => {$(
        impl ServerJson for $t {
            fn to_server_json(&self) -> String {
                pjson::to_json(self)
            }
        }
    )*};
}

server_json!(
    Room,
    ParticipantInfo,
    TrackInfo,
    ListRoomsResponse,
    ListParticipantsResponse,
    MuteRoomTrackResponse,
    PerformRpcResponse,
    Empty
);

/// The default `enabled_codecs` of a new room on a default-configured server.
pub fn default_enabled_codecs() -> Vec<Codec> {
    [
        "audio/PCMU",
        "audio/PCMA",
        "audio/opus",
        "audio/red",
        "video/VP8",
        "video/H264",
        "video/VP9",
        "video/AV1",
        "video/H265",
        "video/rtx",
    ]
    .into_iter()
    .map(|mime| Codec {
        mime: mime.to_owned(),
        fmtp_line: String::new(),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    #[test]
    fn create_room_bytes_match_the_spec() {
        let req = CreateRoomRequest {
            name: "my-room".into(),
            empty_timeout: 600,
            max_participants: 10,
            ..Default::default()
        };
        let hex: String = req
            .encode_to_vec()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, "0a076d792d726f6f6d10d804180a");
    }

    #[test]
    fn json_reads_both_spellings_and_refuses_duplicates() {
        let read = |s: &str| {
            pjson::decode_message::<CreateRoomRequest>(&pjson::first_value(s.as_bytes()).unwrap())
        };
        let r =
            read(r#"{"name":"a","empty_timeout":"5","maxParticipants":3,"metadata":null,"x":[1]}"#)
                .unwrap();
        assert_eq!(
            (r.name.as_str(), r.empty_timeout, r.max_participants),
            ("a", 5, 3)
        );
        assert!(read(r#"{"emptyTimeout":1,"empty_timeout":2}"#).is_err());
        assert!(read(r#"{"name":null,"name":"x"}"#).is_err());
        assert!(read(r#"{"name":5}"#).is_err());
        assert!(read(r#"[]"#).is_err());
        let r = read(r#"{"agents":[{"agentName":"a","restartPolicy":"JRP_NEVER"},{"agent_name":"b","restart_policy":7}]}"#)
            .unwrap();
        assert_eq!(r.agents[0].restart_policy, 1);
        assert_eq!(r.agents[1].restart_policy, 7);
        let r = read(r#"{"agents":[{"restartPolicy":"NOPE"}]}"#).unwrap();
        assert_eq!(r.agents[0].restart_policy, 0);
    }

    #[test]
    fn room_json_has_every_field() {
        let room = Room {
            name: "r".into(),
            creation_time: 5,
            enabled_codecs: default_enabled_codecs(),
            ..Default::default()
        };
        let v: serde_json::Value = serde_json::from_str(&room.to_server_json()).unwrap();
        assert_eq!(v["creation_time"], "5");
        assert_eq!(v["version"], serde_json::Value::Null);
        assert_eq!(v["num_participants"], 0);
        assert_eq!(v["enabled_codecs"].as_array().unwrap().len(), 10);
        assert_eq!(v.as_object().unwrap().len(), 14);
    }
}
