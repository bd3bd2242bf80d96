//! The rows of `roomkey token batch`: which columns (CSV) or keys (JSON Lines) a row may have,
//! and each row read into the token it describes.

use std::collections::BTreeMap;
use std::time::Duration;

use roomkey_token::grants::{GRANTS, Grant, Kind, Setting};
use roomkey_token::input::{self, did_you_mean, normalized};
use roomkey_token::{AccessToken, Claims, TrackSource, VideoGrant};
use serde_json::Value;

/// A column or key of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
    Identity,
    Name,
    Room,
    Metadata,
    Attributes,
    Ttl,
    Grant(&'static Grant),
}

/// The participant columns, by the names rows use.
const PARTICIPANT: [(&str, Column); 6] = [
    ("identity", Column::Identity),
    ("name", Column::Name),
    ("room", Column::Room),
    ("metadata", Column::Metadata),
    ("attributes", Column::Attributes),
    ("ttl", Column::Ttl),
];

/// Every name a column may have: the participant columns, and each grant by its configuration
/// name (`can_publish`) or its flag (`can-publish`), in any case.
fn known_names() -> Vec<String> {
    let mut names: Vec<String> = PARTICIPANT.iter().map(|(n, _)| (*n).to_owned()).collect();
    for g in GRANTS.iter() {
        if let Some(flag) = g.flag() {
            names.push(flag.into_owned());
        }
    }
    names
}

/// The column a header or key names; the error says what it most likely meant.
pub(super) fn column(name: &str) -> Result<Column, String> {
    let wanted = normalized(name);
    if let Some((_, c)) = PARTICIPANT.iter().find(|(n, _)| normalized(n) == wanted) {
        return Ok(*c);
    }
    let grant = GRANTS.iter().find(|g| {
        g.name.is_some_and(|n| normalized(n) == wanted)
            || g.flag().is_some_and(|f| normalized(&f) == wanted)
    });
    if let Some(g) = grant {
        return Ok(Column::Grant(g));
    }
    let names = known_names();
    let known: Vec<&str> = names.iter().map(String::as_str).collect();
    Err(match did_you_mean(name, &known) {
        Some(meant) => format!("unknown column {name:?}; did you mean {meant:?}?"),
        None => format!(
            "unknown column {name:?}; a row has identity, name, room, metadata, attributes, \
             ttl, and grants by their flag names (can-publish, room-admin, …)"
        ),
    })
}

/// One row: what it sets, by column (its text borrowed from the record or line).
#[derive(Debug, Default)]
pub(super) struct Row<'a> {
    identity: Option<&'a str>,
    name: Option<&'a str>,
    room: Option<&'a str>,
    metadata: Option<&'a str>,
    attributes: Option<BTreeMap<String, String>>,
    ttl: Option<Duration>,
    grants: Vec<(&'static Grant, Setting)>,
}

impl<'a> Row<'a> {
    /// A CSV row: the cells under `columns`; an empty cell leaves the default.
    pub(super) fn from_cells(
        columns: &[Column],
        cells: impl Iterator<Item = &'a str>,
    ) -> Result<Row<'a>, String> {
        let mut row = Row::default();
        let mut count = 0;
        for (column, cell) in columns.iter().zip(cells) {
            count += 1;
            if cell.is_empty() {
                continue;
            }
            row.set_text(*column, cell)?;
        }
        if count != columns.len() {
            return Err(format!(
                "the row has {count} cells, the header {}",
                columns.len()
            ));
        }
        Ok(row)
    }

    /// A JSON Lines row: an object whose keys name columns; `null` leaves the default.
    pub(super) fn from_json(value: &'a Value) -> Result<Row<'a>, String> {
        let Value::Object(object) = value else {
            return Err("a row is a JSON object, e.g. {\"identity\": \"alice\"}".to_owned());
        };
        let mut row = Row::default();
        for (key, value) in object {
            let column = column(key)?;
            match value {
                Value::Null => {}
                Value::String(text) => row.set_text(column, text)?,
                Value::Bool(on) => match column {
                    Column::Grant(g) if g.kind.is_bool() => {
                        row.grants.push((g, Setting::Bool(*on)));
                    }
                    _ => return Err(format!("{key} takes a string, not a boolean")),
                },
                Value::Number(_) if column == Column::Ttl => {
                    row.ttl = Some(input::ttl_from_json(value).map_err(|e| format!("ttl: {e}"))?);
                }
                Value::Object(_) if column == Column::Attributes => {
                    row.attributes = Some(attributes(value)?);
                }
                Value::Array(items) => match column {
                    Column::Grant(g) if matches!(g.kind, Kind::Sources | Kind::Texts) => {
                        let texts = items
                            .iter()
                            .map(|i| i.as_str().map(str::to_owned))
                            .collect::<Option<Vec<String>>>()
                            .ok_or_else(|| format!("{key} takes a list of strings"))?;
                        row.grants.push((g, list_setting(g, texts)?));
                    }
                    _ => return Err(format!("{key} does not take a list")),
                },
                _ => return Err(format!("{key} does not take {value}")),
            }
        }
        Ok(row)
    }

    fn set_text(&mut self, column: Column, text: &'a str) -> Result<(), String> {
        match column {
            Column::Identity => self.identity = Some(text),
            Column::Name => self.name = Some(text),
            Column::Room => self.room = Some(text),
            Column::Metadata => self.metadata = Some(text),
            Column::Attributes => {
                let value: Value = serde_json::from_str(text).map_err(|_| {
                    "attributes is a JSON object of strings, e.g. {\"role\":\"host\"}".to_owned()
                })?;
                self.attributes = Some(attributes(&value)?);
            }
            Column::Ttl => {
                self.ttl = Some(input::parse_ttl(text).map_err(|e| format!("ttl: {e}"))?);
            }
            Column::Grant(g) => {
                let setting = match g.kind {
                    Kind::Flag | Kind::Tri => Setting::Bool(boolean(text).ok_or_else(|| {
                        format!(
                            "{} is true or false, not {text:?}",
                            g.flag().unwrap_or_default()
                        )
                    })?),
                    Kind::Text => Setting::Text(text.to_owned()),
                    Kind::Sources | Kind::Texts => {
                        let items = text
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect();
                        list_setting(g, items)?
                    }
                    _ => return Err(format!("{} cannot be set from a row", g.path())),
                };
                self.grants.push((g, setting));
            }
        }
        Ok(())
    }

    /// The row's identity, when it sets one.
    pub(super) fn identity(&self) -> Option<&'a str> {
        self.identity
    }

    /// The row's room, when it sets one.
    pub(super) fn room(&self) -> Option<&'a str> {
        self.room
    }

    /// Whether the row sets only text fields (identity, name, room, metadata), which
    /// [`Row::sign_in_place`] can change in a token without building it again.
    pub(super) fn is_simple(&self) -> bool {
        self.grants.is_empty() && self.attributes.is_none() && self.ttl.is_none()
    }

    /// Signs a simple row ([`Row::is_simple`]) with `scratch`, a copy of `template` that it
    /// changes for the row and puts back after: most batches are rows of identities and names,
    /// and this skips building and dropping a whole token per row.
    pub(super) fn sign_in_place(
        &self,
        scratch: &mut AccessToken,
        template: &AccessToken,
        sign: impl FnOnce(&AccessToken) -> Result<String, String>,
    ) -> Result<String, String> {
        debug_assert!(self.is_simple());
        self.set_text_fields(scratch.claims_mut());
        let signed = sign(scratch);
        // Back to the template for the next row.
        let (claims, original) = (scratch.claims_mut(), template.claims());
        claims.sub.clone_from(&original.sub);
        claims.name.clone_from(&original.name);
        claims.metadata.clone_from(&original.metadata);
        if self.room.is_some() {
            claims.video.clone_from(&original.video);
        }
        signed
    }

    /// Gives `claims` the row's identity, name, metadata and room.
    fn set_text_fields(&self, claims: &mut Claims) {
        if let Some(identity) = self.identity {
            identity.clone_into(&mut claims.sub);
        }
        if let Some(name) = self.name {
            name.clone_into(&mut claims.name);
        }
        if let Some(metadata) = self.metadata {
            metadata.clone_into(&mut claims.metadata);
        }
        if let Some(room) = self.room {
            room.clone_into(&mut claims.video.get_or_insert_with(VideoGrant::default).room);
        }
    }

    /// The token of this row: `template` (the command's flags) with the row's settings.
    pub(super) fn token(self, template: &AccessToken) -> Result<AccessToken, String> {
        let mut claims: Claims = template.claims().clone();
        self.set_text_fields(&mut claims);
        for (g, setting) in self.grants {
            g.set(&mut claims, setting).map_err(|e| e.to_string())?;
        }
        if let Some(attributes) = self.attributes {
            claims.attributes.extend(attributes);
        }
        let mut token =
            AccessToken::from_claims(claims).with_ttl(self.ttl.unwrap_or(template.ttl()));
        // The template's own switches carry over.
        token = token.allow_sensitive_credentials(template.allows_sensitive_credentials());
        Ok(token)
    }
}

fn boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Some(true),
        "false" | "no" | "0" | "off" => Some(false),
        _ => None,
    }
}

fn list_setting(g: &Grant, items: Vec<String>) -> Result<Setting, String> {
    if g.kind == Kind::Texts {
        return Ok(Setting::Texts(items));
    }
    let mut sources: Vec<TrackSource> = Vec::new();
    for item in items {
        let source = TrackSource::from_wire(&item);
        if !source.is_known() {
            let names: Vec<&str> = TrackSource::ALL.iter().map(TrackSource::as_str).collect();
            return Err(format!(
                "unknown track source {item:?}; the sources are {}",
                names.join(", ")
            ));
        }
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    Ok(Setting::Sources(sources))
}

fn attributes(value: &Value) -> Result<BTreeMap<String, String>, String> {
    serde_json::from_value(value.clone())
        .map_err(|_| "attributes is a JSON object of strings, e.g. {\"role\":\"host\"}".to_owned())
}
