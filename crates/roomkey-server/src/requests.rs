//! The token endpoints' request bodies: LiveKit's standard endpoint request and the
//! Generate Access Token action's props.

use std::collections::BTreeMap;

use roomkey_token::RoomConfiguration;
use serde::Deserialize;

use crate::error::ApiError;
use crate::policy::{GrantRequest, TokenRequest};

/// The standard token endpoint's request (snake_case or camelCase; unknown fields as
/// [`fields`] says).
#[derive(Debug, Deserialize)]
pub(crate) struct StandardRequest {
    // In the order a did-you-mean prefers them: a bare `name` or `identity` means the
    // participant's.
    #[serde(default, alias = "participantIdentity")]
    participant_identity: Option<String>,
    #[serde(default, alias = "participantName")]
    participant_name: Option<String>,
    #[serde(default, alias = "participantMetadata")]
    participant_metadata: Option<String>,
    #[serde(default, alias = "participantAttributes")]
    participant_attributes: Option<BTreeMap<String, String>>,
    #[serde(default, alias = "roomName")]
    room_name: Option<String>,
    /// Boxed: rarely sent, and inline it would double the size of every parsed request.
    #[serde(default, alias = "roomConfig")]
    room_config: Option<Box<RoomConfiguration>>,
}

impl StandardRequest {
    pub(crate) fn into_request(self) -> TokenRequest {
        TokenRequest {
            room_name: self.room_name,
            participant_name: self.participant_name,
            participant_identity: self.participant_identity,
            participant_metadata: self.participant_metadata,
            participant_attributes: self.participant_attributes,
            room_config: self.room_config.map(|c| *c),
            ..TokenRequest::default()
        }
    }
}

/// The "Generate Access Token" action's props, by their own names. Every other key is refused
/// (see `token_endpoint::prepare`): the action is roomkey's own format, where an unknown key is a typo.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_excessive_bools)]
pub(crate) struct ActionRequest {
    identity: Option<String>,
    room: Option<String>,
    /// Whole seconds or a duration string, as on the command line (checked in `into_request`).
    ttl: Option<serde_json::Value>,
    name: Option<String>,
    metadata: Option<String>,
    can_publish: Option<bool>,
    can_subscribe: Option<bool>,
    can_publish_data: Option<bool>,
    hidden: Option<bool>,
    room_create: Option<bool>,
    room_list: Option<bool>,
    room_record: Option<bool>,
    room_admin: Option<bool>,
    ingress_admin: Option<bool>,
    can_update_own_metadata: Option<bool>,
    recorder: Option<bool>,
    agent: Option<bool>,
    can_subscribe_metrics: Option<bool>,
    destination_room: Option<String>,
    create_room_if_not_exists: Option<bool>,
}

impl ActionRequest {
    pub(crate) fn into_request(self) -> Result<TokenRequest, ApiError> {
        // The action requires an identity; a generated one would not be the participant asked for.
        if self.identity.as_deref().is_none_or(str::is_empty) {
            return Err(ApiError::BadRequest {
                field: Some("identity".into()),
                message: "identity is required: the participant's unique identity in the room"
                    .into(),
            });
        }
        let ttl =
            match &self.ttl {
                Some(value) => Some(roomkey_token::input::ttl_from_json(value).map_err(
                    |message| ApiError::BadRequest {
                        field: Some("ttl".into()),
                        message,
                    },
                )?),
                None => None,
            };
        let switches = [
            ("canPublish", self.can_publish),
            ("canSubscribe", self.can_subscribe),
            ("canPublishData", self.can_publish_data),
            ("hidden", self.hidden),
            ("roomCreate", self.room_create),
            ("roomList", self.room_list),
            ("roomRecord", self.room_record),
            ("roomAdmin", self.room_admin),
            ("ingressAdmin", self.ingress_admin),
            ("canUpdateOwnMetadata", self.can_update_own_metadata),
            ("recorder", self.recorder),
            ("agent", self.agent),
            ("canSubscribeMetrics", self.can_subscribe_metrics),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.map(|v| (name, v)))
        .collect();
        Ok(TokenRequest {
            room_name: self.room,
            participant_name: self.name,
            participant_identity: self.identity,
            participant_metadata: self.metadata,
            participant_attributes: None,
            room_config: None,
            ttl,
            grants: GrantRequest {
                switches,
                destination_room: self.destination_room,
                action: true,
            },
            create_room: self.create_room_if_not_exists,
        })
    }
}
