//! What a profile grants: its `[profile.NAME.grants]` table, whose keys are the grant table's
//! names (`roomkey_token::grants::GRANTS`), and how the action's switches are checked against it.

use std::fmt;
use std::sync::LazyLock;

use roomkey_token::grants::{GRANTS, Grant, Kind, Setting, Unset, Value, grant_named};
use roomkey_token::{Claims, VideoGrant};
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use super::{Denied, GrantRequest, denied};

/// The keys a `[profile.NAME.grants]` table may hold, in the grant table's order.
pub(crate) static GRANT_KEYS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| GRANTS.iter().filter_map(|g| g.name).collect());

/// The grants a profile gives, as `[profile.NAME.grants]` in the configuration file writes them:
/// each key a grant's name from the grant table, in the file's order.
#[derive(Debug, Default, Clone)]
pub struct GrantsFile {
    pub(crate) entries: Vec<(&'static Grant, FileValue)>,
}

/// A grant's value as the file writes it; lists keep their places for error messages.
#[derive(Debug, Clone)]
pub(crate) enum FileValue {
    Bool(bool),
    Text(String),
    List(Vec<Spanned<String>>),
}

/// A key of the grants table, read as its row so that an unknown key is an error at the key.
struct GrantKey(&'static Grant);

impl<'de> Deserialize<'de> for GrantKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let key = std::borrow::Cow::<'de, str>::deserialize(d)?;
        grant_named(&key)
            .map(GrantKey)
            .ok_or_else(|| de::Error::unknown_field(&key, &GRANT_KEYS))
    }
}

impl<'de> Deserialize<'de> for GrantsFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = GrantsFile;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of grants")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GrantsFile, A::Error> {
                let mut entries = Vec::new();
                while let Some(GrantKey(grant)) = map.next_key()? {
                    let value = match grant.kind {
                        Kind::Flag | Kind::Tri => FileValue::Bool(map.next_value()?),
                        Kind::Text => FileValue::Text(map.next_value()?),
                        _ => FileValue::List(map.next_value()?),
                    };
                    entries.push((grant, value));
                }
                Ok(GrantsFile { entries })
            }
        }
        d.deserialize_map(Entries)
    }
}

/// The action's grant: join the room, plus exactly the switches asked for. Each switch
/// may only ask for what the profile grants (the ceiling); the ceiling's restrictions
/// (`canPublish = false`, a source list) carry over, so leaving a switch unset never widens
/// what the caller may do.
pub(super) fn action_grant(
    ceiling: &Claims,
    room: &str,
    req: &GrantRequest,
    unrestricted: bool,
) -> Result<VideoGrant, Denied> {
    if !ceiling.video.as_ref().is_some_and(|v| v.room_join) && !unrestricted {
        return Err(denied("roomJoin", "joining rooms is not granted to you"));
    }
    let mut granted = Claims::default();
    granted.video = Some(VideoGrant::join(room));
    let set = |granted: &mut Claims, g: &Grant, setting: Setting| {
        g.set(granted, setting)
            .map_err(|e| denied(g.key, e.to_string()))
    };
    for g in GRANTS.iter().filter(|g| g.claim == "video") {
        // What the server would give by default but the profile takes away stays taken away;
        // a list (of sources) given by the profile is a restriction too.
        let carried = match g.get(ceiling) {
            Some(Value::Tri(Some(false))) if g.unset != Unset::Off => Setting::Bool(false),
            Some(Value::Sources(list)) if !list.is_empty() => Setting::Sources(list.to_vec()),
            _ => continue,
        };
        set(&mut granted, g, carried)?;
    }
    for (g, setting) in &req.switches {
        let allowed = match setting {
            // Taking a permission away is always allowed.
            Setting::Bool(want) => !want || g.effective(ceiling) == Some(true),
            Setting::Text(text) => text.is_empty() || g.get(ceiling) == Some(Value::Text(text)),
            _ => false,
        };
        if !allowed && !unrestricted {
            let reason = if g.kind.is_bool() {
                "this permission is not granted to you".to_owned()
            } else {
                format!("this {} is not granted to you", g.key)
            };
            return Err(denied(g.key, reason));
        }
        if *setting != Setting::Text(String::new()) {
            set(&mut granted, g, setting.clone())?;
        }
    }
    Ok(granted.video.unwrap_or_default())
}
