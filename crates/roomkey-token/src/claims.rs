//! [`Claims`]: the whole payload of a LiveKit access token.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::de::{nullable, object};
use crate::grants::{
    AgentEndpointGrant, AgentGrant, AgentThreadGrant, InferenceGrant, KindDetail,
    ObservabilityGrant, ParticipantKind, SipGrant, VideoGrant,
};
use crate::room_config::RoomConfiguration;

/// The claims of a LiveKit access token, field by field as the Go reference
/// (`livekit/protocol auth`) writes them: registered claims first, then the LiveKit claims.
///
/// Serializing writes only what is set, with Go's omission rules, so a serialized `Claims` is
/// the exact payload roomkey signs. Deserializing accepts every SDK's output: missing fields,
/// `null`, partial grant objects, `roomConfig` with or without default values, and unknown
/// claims (ignored here; [`VerifiedToken::payload`](crate::VerifiedToken::payload) keeps them).
///
/// The rarely used, larger parts (the room configuration, the agent endpoint and thread grants)
/// are boxed, which keeps the struct small to move on the minting and verifying paths.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Claims {
    /// Issuer: the API key that signed the token.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub iss: String,
    /// Subject: the participant identity.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sub: String,
    /// Expiry, unix seconds.
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub exp: Option<i64>,
    /// Not before, unix seconds.
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<i64>,
    /// Issued at, unix seconds.
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<i64>,
    /// JWT ID. No SDK sets it; the server takes it as the identity when `sub` is empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jti: String,
    /// Copy of the identity that Go emits; verifiers ignore it (see [`Claims::identity`]).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub identity: String,
    /// Display name.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Participant kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ParticipantKind>,
    /// Details of the participant kind.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub kind_details: Vec<KindDetail>,
    /// The video grant.
    #[serde(
        default,
        deserialize_with = "object",
        skip_serializing_if = "Option::is_none"
    )]
    pub video: Option<VideoGrant>,
    /// The SIP grant.
    #[serde(
        default,
        deserialize_with = "object",
        skip_serializing_if = "Option::is_none"
    )]
    pub sip: Option<SipGrant>,
    /// The agent grant.
    #[serde(
        default,
        deserialize_with = "object",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent: Option<AgentGrant>,
    /// The inference grant.
    #[serde(
        default,
        deserialize_with = "object",
        skip_serializing_if = "Option::is_none"
    )]
    pub inference: Option<InferenceGrant>,
    /// The observability grant.
    #[serde(
        default,
        deserialize_with = "object",
        skip_serializing_if = "Option::is_none"
    )]
    pub observability: Option<ObservabilityGrant>,
    /// The agent endpoint grant.
    #[serde(
        default,
        deserialize_with = "object",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_endpoint: Option<Box<AgentEndpointGrant>>,
    /// The agent thread grant.
    #[serde(
        default,
        deserialize_with = "object",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_thread: Option<Box<AgentThreadGrant>>,
    /// Room configuration applied if this join creates the room.
    #[serde(
        default,
        deserialize_with = "object",
        skip_serializing_if = "Option::is_none"
    )]
    pub room_config: Option<Box<RoomConfiguration>>,
    /// Named room configuration (preset) on the server.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub room_preset: String,
    /// Base64 SHA-256 of an HTTP body (webhooks).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub sha256: String,
    /// Participant metadata.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub metadata: String,
    /// Participant attributes.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub attributes: BTreeMap<String, String>,
}

impl Claims {
    /// The participant identity as the server reads it: `sub`, or `jti` when `sub` is empty.
    pub fn identity(&self) -> &str {
        if self.sub.is_empty() {
            &self.jti
        } else {
            &self.sub
        }
    }

    /// The room named in the video grant (empty if none).
    pub fn room(&self) -> &str {
        self.video.as_ref().map_or("", |v| v.room.as_str())
    }

    /// Whether the token lets a participant join a room.
    pub fn can_join(&self) -> bool {
        self.video.as_ref().is_some_and(|v| v.room_join)
    }

    /// Total attribute size as the server counts it: the sum of key and value lengths.
    pub fn attributes_size(&self) -> usize {
        self.attributes.iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}

/// Reads a NumericDate: any JSON number, fractions floored (Go reads floats too).
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a NumericDate (seconds since the epoch, a JSON number)")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom("NumericDate out of range"))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if v.is_finite() && v.abs() < 9.0e15 {
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(v.floor() as i64))
            } else {
                Err(E::custom("NumericDate out of range"))
            }
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_falls_back_to_jti() {
        let c: Claims = serde_json::from_str(r#"{"jti":"j","identity":"ignored"}"#).unwrap();
        assert_eq!(c.identity(), "j");
        let c: Claims = serde_json::from_str(r#"{"sub":"s","jti":"j"}"#).unwrap();
        assert_eq!(c.identity(), "s");
    }

    #[test]
    fn reads_rust_sdk_0_6_shape() {
        // Every field written, roomConfig null (livekit-api 0.6.2).
        let c: Claims = serde_json::from_str(
            r#"{"exp":1700021600,"iss":"APIexample","nbf":1700000000,"sub":"alice","name":"Alice","video":{"roomCreate":false,"roomList":false,"roomRecord":false,"roomAdmin":false,"roomJoin":true,"room":"standup","destinationRoom":"","canPublish":false,"canSubscribe":true,"canPublishData":true,"canPublishSources":[],"canUpdateOwnMetadata":false,"ingressAdmin":false,"hidden":false,"recorder":false},"sip":{"admin":false,"call":false},"sha256":"","metadata":"","attributes":{},"roomConfig":null}"#,
        )
        .unwrap();
        let v = c.video.as_ref().unwrap();
        assert!(v.room_join && v.room == "standup");
        assert_eq!(v.can_publish_data, Some(true));
        assert_eq!(c.room_config, None);
        assert_eq!(c.exp, Some(1_700_021_600));
    }

    #[test]
    fn fractional_times_floor_and_strings_fail() {
        let c: Claims = serde_json::from_str(r#"{"exp":1700000000.9}"#).unwrap();
        assert_eq!(c.exp, Some(1_700_000_000));
        assert!(serde_json::from_str::<Claims>(r#"{"exp":"1700000000"}"#).is_err());
        assert!(serde_json::from_str::<Claims>(r#"{"sub":5}"#).is_err());
        assert!(serde_json::from_str::<Claims>(r#"{"exp":1,"exp":2}"#).is_err());
    }

    #[test]
    fn empty_claims_serialize_to_empty_object() {
        assert_eq!(serde_json::to_string(&Claims::default()).unwrap(), "{}");
    }
}
