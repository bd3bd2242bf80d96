//! The grants a token carries: video, SIP, agent, inference, observability, agent endpoint and
//! agent thread, plus the participant kind enums.
//!
//! Field names and omission rules follow the Go reference (`livekit/protocol auth/grants.go`):
//! plain booleans and strings are written only when true or non-empty; the permission booleans
//! whose absence the server reads as a default are `Option<bool>` and written only when set.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::de::{is_false, nullable};

/// Declares a string enum with a fixed set of lower-case names plus an `Other` variant that keeps
/// any other string (so that tokens from newer minters still verify and print faithfully).
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $error:ident, case_insensitive = $ci:expr,
        { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version does not know. Kept as read; refused when minting.
            Other(String),
        }

        impl $name {
            /// Every known value, in protocol order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The wire name (lower case).
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(s) => s,
                }
            }

            /// Reads a wire name; unknown names become `Other`.
            pub fn from_wire(s: &str) -> Self {
                $(if s == $text || ($ci && s.eq_ignore_ascii_case($text)) {
                    return $name::$variant;
                })*
                $name::Other(s.to_owned())
            }

            /// Whether this is one of the known values.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = crate::MintError;
            /// Parses a known name (lower case, as on the wire); anything else is an error.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match $name::from_wire(s) {
                    $name::Other(value) => Err(crate::MintError::$error { value }),
                    known => Ok(known),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
                Ok($name::from_wire(&s))
            }
        }
    };
}

string_enum! {
    /// A track source, as listed in `video.canPublishSources`.
    ///
    /// The server's publish check compares these names case-sensitively, so only the lower-case
    /// forms work; anything else reads as [`TrackSource::Other`].
    TrackSource, UnknownTrackSource, case_insensitive = false,
    {
        /// A camera.
        Camera = "camera",
        /// A microphone.
        Microphone = "microphone",
        /// A screen share's video.
        ScreenShare = "screen_share",
        /// A screen share's audio.
        ScreenShareAudio = "screen_share_audio",
    }
}

string_enum! {
    /// The participant kind (`kind` claim). The server reads it case-insensitively and treats an
    /// unknown value as `standard`.
    ParticipantKind, UnknownKind, case_insensitive = true,
    {
        /// A regular participant (the server's default).
        Standard = "standard",
        /// An ingress.
        Ingress = "ingress",
        /// An egress (treated as a recorder).
        Egress = "egress",
        /// A SIP participant.
        Sip = "sip",
        /// An agent.
        Agent = "agent",
        /// A connector.
        Connector = "connector",
        /// A bridge.
        Bridge = "bridge",
    }
}

string_enum! {
    /// A detail of the participant kind (`kindDetails` claim). The server drops unknown values.
    KindDetail, UnknownKindDetail, case_insensitive = true,
    {
        /// A LiveKit Cloud agent.
        CloudAgent = "cloud_agent",
        /// A participant forwarded from another room.
        Forwarded = "forwarded",
        /// A WhatsApp connector.
        ConnectorWhatsapp = "connector_whatsapp",
        /// A Twilio connector.
        ConnectorTwilio = "connector_twilio",
        /// An RTSP bridge.
        BridgeRtsp = "bridge_rtsp",
        /// A simulated participant.
        Simulation = "simulation",
    }
}

/// The video grant (`video` claim): room access and permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[allow(clippy::struct_excessive_bools)] // mirrors the protocol's grant
pub struct VideoGrant {
    /// May create and delete rooms (RoomService CreateRoom, DeleteRoom).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub room_create: bool,
    /// May list rooms.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub room_list: bool,
    /// May use the Egress APIs (start recordings).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub room_record: bool,
    /// May administer the room named in `room`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub room_admin: bool,
    /// May join the room named in `room` (any room, if `room` is empty).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub room_join: bool,
    /// The room to join or administer.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub room: String,
    /// Room this participant may be forwarded or moved to.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub destination_room: String,
    /// May publish tracks. Unset means yes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_publish: Option<bool>,
    /// May subscribe to tracks. Unset means yes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_subscribe: Option<bool>,
    /// May publish data messages. Unset means the same as `can_publish`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_publish_data: Option<bool>,
    /// Track sources that may be published; empty means all.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub can_publish_sources: Vec<TrackSource>,
    /// May update its own name, metadata and attributes. Unset means no.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_update_own_metadata: Option<bool>,
    /// May use the Ingress APIs.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub ingress_admin: bool,
    /// Hidden from other participants.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub hidden: bool,
    /// Records the room (marks it as being recorded).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub recorder: bool,
    /// May connect as an Agents framework worker.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub agent: bool,
    /// May subscribe to metrics. Unset means no.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_subscribe_metrics: Option<bool>,
    /// May manage an agent session. Unset means no.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_manage_agent_session: Option<bool>,
}

impl VideoGrant {
    /// A grant to join one room, with the server's default permissions.
    #[inline]
    pub fn join(room: impl Into<String>) -> Self {
        VideoGrant {
            room_join: true,
            room: room.into(),
            ..VideoGrant::default()
        }
    }

    /// Effective publish permission, as the server reads it (unset → true).
    pub fn effective_can_publish(&self) -> bool {
        self.can_publish.unwrap_or(true)
    }

    /// Effective subscribe permission (unset → true).
    pub fn effective_can_subscribe(&self) -> bool {
        self.can_subscribe.unwrap_or(true)
    }

    /// Effective data permission (unset → the effective publish permission).
    pub fn effective_can_publish_data(&self) -> bool {
        self.can_publish_data
            .unwrap_or_else(|| self.effective_can_publish())
    }

    /// Effective metadata-update permission (unset → false).
    pub fn effective_can_update_own_metadata(&self) -> bool {
        self.can_update_own_metadata.unwrap_or(false)
    }

    /// Effective metrics permission (unset → false).
    pub fn effective_can_subscribe_metrics(&self) -> bool {
        self.can_subscribe_metrics.unwrap_or(false)
    }

    /// Effective agent-session permission (unset → false).
    pub fn effective_can_manage_agent_session(&self) -> bool {
        self.can_manage_agent_session.unwrap_or(false)
    }

    /// Whether the server would let this participant publish `source`: publishing must be
    /// allowed, and the list must be empty or name the source exactly.
    pub fn can_publish_source(&self, source: &TrackSource) -> bool {
        self.effective_can_publish()
            && (self.can_publish_sources.is_empty() || self.can_publish_sources.contains(source))
    }
}

/// The SIP grant (`sip` claim).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SipGrant {
    /// May manage SIP trunks and dispatch rules.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub admin: bool,
    /// May make outbound calls.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub call: bool,
}

/// The agent grant (`agent` claim), used by LiveKit Cloud.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[allow(clippy::struct_excessive_bools)] // mirrors the protocol's grant
pub struct AgentGrant {
    /// May administer agents.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub admin: bool,
    /// May administer simulations.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub simulation_admin: bool,
    /// May administer agent databases.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub database_admin: bool,
    /// May create, list and delete agent dispatches.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub dispatch_admin: bool,
}

/// The inference grant (`inference` claim), used by LiveKit Cloud.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InferenceGrant {
    /// May call LiveKit Inference (LLM, STT, TTS).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub perform: bool,
}

/// The observability grant (`observability` claim), used by LiveKit Cloud.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ObservabilityGrant {
    /// May write observability data.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub write: bool,
}

/// The agent endpoint grant (`agentEndpoint` claim), emitted by the newest SDKs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AgentEndpointGrant {
    /// May call an agent endpoint.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub call: bool,
    /// The agent it may call; empty means any.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub agent_name: String,
    /// The deployment it may call; empty means any.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub deployment: String,
}

/// The agent thread grant (`agentThread` claim), emitted by the newest SDKs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[allow(clippy::struct_excessive_bools)] // mirrors the protocol's grant
pub struct AgentThreadGrant {
    /// Applies to all threads.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub all: bool,
    /// The scope the grant is limited to.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub scope: String,
    /// The threads the grant is limited to.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub thread_ids: Vec<String>,
    /// May list threads.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub list: bool,
    /// May create threads.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub create: bool,
    /// May write to threads.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub write: bool,
    /// May read threads.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub read: bool,
    /// May delete threads.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub delete: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tri_state_defaults_follow_the_server() {
        let mut g = VideoGrant::join("r");
        assert!(
            g.effective_can_publish()
                && g.effective_can_subscribe()
                && g.effective_can_publish_data()
        );
        assert!(!g.effective_can_update_own_metadata());
        assert!(!g.effective_can_subscribe_metrics() && !g.effective_can_manage_agent_session());
        g.can_publish = Some(false);
        assert!(
            !g.effective_can_publish_data(),
            "canPublishData inherits canPublish"
        );
        g.can_publish_data = Some(true);
        assert!(g.effective_can_publish_data());
    }

    #[test]
    fn omits_defaults_and_keeps_explicit_false() {
        let mut g = VideoGrant::join("standup");
        g.can_publish = Some(false);
        assert_eq!(
            serde_json::to_string(&g).unwrap(),
            r#"{"roomJoin":true,"room":"standup","canPublish":false}"#
        );
        assert_eq!(serde_json::to_string(&SipGrant::default()).unwrap(), "{}");
    }

    #[test]
    fn sources_and_kinds() {
        assert_eq!(
            "screen_share".parse::<TrackSource>().unwrap(),
            TrackSource::ScreenShare
        );
        assert_eq!(
            "Camera".parse::<TrackSource>().unwrap_err(),
            crate::MintError::UnknownTrackSource {
                value: "Camera".into()
            }
        );
        assert_eq!(ParticipantKind::from_wire("AGENT"), ParticipantKind::Agent);
        assert_eq!(
            ParticipantKind::from_wire("robot"),
            ParticipantKind::Other("robot".into())
        );
        assert!("bridge_rtsp".parse::<KindDetail>().is_ok());
        assert!("nope".parse::<KindDetail>().is_err());
        let mut g = VideoGrant::join("r");
        g.can_publish_sources = vec![TrackSource::Camera];
        assert!(g.can_publish_source(&TrackSource::Camera));
        assert!(!g.can_publish_source(&TrackSource::Microphone));
        g.can_publish = Some(false);
        assert!(!g.can_publish_source(&TrackSource::Camera));
    }

    #[test]
    fn partial_sip_and_nulls_decode() {
        let sip: SipGrant = serde_json::from_str(r#"{"admin":true}"#).unwrap();
        assert!(sip.admin && !sip.call);
        let v: VideoGrant =
            serde_json::from_str(r#"{"room":null,"roomJoin":null,"canPublish":null}"#).unwrap();
        assert_eq!(v, VideoGrant::default());
        assert!(serde_json::from_str::<VideoGrant>(r#"{"roomJoin":"yes"}"#).is_err());
    }
}
