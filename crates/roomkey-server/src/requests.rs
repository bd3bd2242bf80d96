//! The token endpoints' request bodies: LiveKit's standard endpoint request and the
//! Generate Access Token action's props.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use roomkey_token::RoomConfiguration;
use roomkey_token::grants::{GRANTS, Grant, Setting, grant};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

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

/// The "Generate Access Token" action's props, by their own names: its own fields, then the
/// grant table's action switches (`roomkey_token::grants::GRANTS`). Every other key is refused
/// (see `token_endpoint::prepare`): the action is roomkey's own format, where an unknown key is a
/// typo.
#[derive(Debug, Default)]
pub(crate) struct ActionRequest {
    identity: Option<String>,
    room: Option<String>,
    /// Whole seconds or a duration string, as on the command line (checked in `into_request`).
    ttl: Option<serde_json::Value>,
    name: Option<String>,
    metadata: Option<String>,
    create_room_if_not_exists: Option<bool>,
    switches: Vec<(&'static Grant, Setting)>,
}

/// The action's own fields, before the switches.
const ACTION_OWN_FIELDS: [&str; 5] = ["identity", "room", "ttl", "name", "metadata"];
const CREATE_ROOM: &str = "createRoomIfNotExists";

/// Every key the action takes, in the order a did-you-mean prefers them.
pub(crate) static ACTION_FIELDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    ACTION_OWN_FIELDS
        .into_iter()
        .chain(
            GRANTS
                .iter()
                .filter(|g| g.is_action_switch())
                .map(|g| g.key),
        )
        .chain([CREATE_ROOM])
        .collect()
});

impl<'de> Deserialize<'de> for ActionRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Props;
        impl<'de> Visitor<'de> for Props {
            type Value = ActionRequest;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the action's props, a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ActionRequest, A::Error> {
                let mut r = ActionRequest::default();
                let mut seen = Vec::<&'static str>::new();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    let Some(&field) = ACTION_FIELDS.iter().find(|f| **f == key) else {
                        // Left for the caller to refuse, with a suggestion.
                        map.next_value::<de::IgnoredAny>()?;
                        continue;
                    };
                    if seen.contains(&field) {
                        return Err(de::Error::duplicate_field(field));
                    }
                    seen.push(field);
                    match field {
                        "identity" => r.identity = map.next_value()?,
                        "room" => r.room = map.next_value()?,
                        "ttl" => r.ttl = map.next_value()?,
                        "name" => r.name = map.next_value()?,
                        "metadata" => r.metadata = map.next_value()?,
                        CREATE_ROOM => r.create_room_if_not_exists = map.next_value()?,
                        key => {
                            let Some(g) = grant("video", key) else {
                                continue;
                            };
                            let setting = if g.kind.is_bool() {
                                map.next_value::<Option<bool>>()?.map(Setting::Bool)
                            } else {
                                map.next_value::<Option<String>>()?.map(Setting::Text)
                            };
                            r.switches.extend(setting.map(|s| (g, s)));
                        }
                    }
                }
                Ok(r)
            }
        }
        d.deserialize_map(Props)
    }
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
        Ok(TokenRequest {
            room_name: self.room,
            participant_name: self.name,
            participant_identity: self.identity,
            participant_metadata: self.metadata,
            participant_attributes: None,
            room_config: None,
            ttl,
            grants: GrantRequest {
                switches: self.switches,
                action: true,
            },
            create_room: self.create_room_if_not_exists,
        })
    }
}
