//! The names a grant or a participant claim takes from a fixed set: track sources, participant
//! kinds and kind details.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
