//! The flags that describe one token, shared by `token create` and `token batch` (whose flags
//! are the defaults of every row): identity, room, TTL, participant, grants, room configuration.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use roomkey_token::input;
use roomkey_token::{
    AccessToken, Claims, KindDetail, ParticipantKind, RoomAgentDispatch, RoomConfiguration,
    VideoGrant,
};

use super::grant_flags::GrantFlags;

/// What the token says: who, where, for how long, with which grants.
#[derive(Debug, Clone, clap::Args)]
#[allow(clippy::struct_excessive_bools)]
pub(crate) struct TokenFlags {
    /// Unique identity for the participant joining the call
    #[arg(long, value_name = "IDENTITY")]
    pub(crate) identity: Option<String>,

    /// The name of the room to join
    #[arg(long, value_name = "ROOM")]
    pub(crate) room: Option<String>,

    /// How long the access token should be valid for (in seconds), or a duration such as 10m,
    /// 1h30m, 2d [default: 6h]
    #[arg(long, visible_alias = "valid-for", value_name = "SECONDS|DURATION", value_parser = input::parse_ttl)]
    pub(crate) ttl: Option<Duration>,

    /// Display name for the participant
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,

    /// Optional metadata to attach to the participant
    #[arg(long, value_name = "TEXT")]
    pub(crate) metadata: Option<String>,

    /// Read the participant's metadata from FILE ("-" for standard input): for metadata too
    /// large for a command line (up to the server's 512 KiB)
    #[arg(long, value_name = "FILE|-", conflicts_with = "metadata")]
    pub(crate) metadata_file: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) grants: GrantFlags,

    /// Video grant members as one JSON object, as `lk token create --grant` takes them (e.g.
    /// '{"canPublish":false,"hidden":true}'); the grant flags win over it
    #[arg(long, value_name = "JSON", help_heading = "Permissions")]
    pub(crate) grant: Option<String>,

    /// A participant attribute, KEY=VALUE (repeatable)
    #[arg(long = "attribute", value_name = "KEY=VALUE", value_parser = parse_attribute,
          help_heading = "Participant")]
    pub(crate) attributes: Vec<(String, String)>,

    /// Participant attributes as a JSON object of strings, inline or @FILE (--attribute wins
    /// on conflicts)
    #[arg(
        long = "attributes",
        value_name = "JSON|@FILE",
        help_heading = "Participant",
        conflicts_with = "attributes_file"
    )]
    pub(crate) attributes_json: Option<String>,

    /// Read participant attributes from FILE, a JSON object of strings (--attribute wins on
    /// conflicts)
    #[arg(long, value_name = "FILE", help_heading = "Participant")]
    pub(crate) attributes_file: Option<PathBuf>,

    /// Participant kind: standard, ingress, egress, sip, agent, connector or bridge
    #[arg(long, value_name = "KIND", help_heading = "Participant")]
    pub(crate) kind: Option<ParticipantKind>,

    /// Participant kind detail: cloud_agent, forwarded, connector_whatsapp, connector_twilio,
    /// bridge_rtsp, simulation (repeatable, or comma-separated)
    #[arg(
        long,
        value_name = "DETAIL",
        value_delimiter = ',',
        help_heading = "Participant"
    )]
    pub(crate) kind_detail: Vec<KindDetail>,

    /// Room configuration used if this join creates the room: a JSON object (LiveKit's
    /// RoomConfiguration) or a file holding one (FILE or @FILE)
    #[arg(long, value_name = "JSON|@FILE", help_heading = "Room")]
    pub(crate) room_config: Option<String>,

    /// Read the room's metadata (roomConfig.metadata, set if this join creates the room) from
    /// FILE ("-" for standard input)
    #[arg(long, value_name = "FILE|-", help_heading = "Room")]
    pub(crate) room_metadata_file: Option<PathBuf>,

    /// Dispatch this agent into the room (repeatable): adds an entry to roomConfig.agents, which
    /// LiveKit honours only if this join creates the room. With --create-room-if-not-exists,
    /// roomkey dispatches it into an existing room too
    #[arg(long, value_name = "AGENT_NAME", help_heading = "Room")]
    pub(crate) dispatch_agent: Vec<String>,

    /// Job metadata for the dispatched agents (with --dispatch-agent)
    #[arg(
        long,
        value_name = "TEXT",
        requires = "dispatch_agent",
        help_heading = "Room"
    )]
    pub(crate) job_metadata: Option<String>,

    /// Deployment to dispatch the agents from (with --dispatch-agent; LiveKit Cloud)
    #[arg(
        long,
        value_name = "NAME",
        requires = "dispatch_agent",
        help_heading = "Room"
    )]
    pub(crate) dispatch_deployment: Option<String>,

    /// Named room configuration (preset) on the server
    #[arg(long, value_name = "NAME", help_heading = "Room")]
    pub(crate) room_preset: Option<String>,

    /// Allow a room configuration that embeds egress storage or stream credentials (anyone who
    /// holds the token can read them)
    #[arg(long, help_heading = "Room")]
    pub(crate) allow_sensitive_credentials: bool,

    /// The sha256 claim: base64 SHA-256 of an HTTP body (webhook-style tokens)
    #[arg(long, value_name = "BASE64", help_heading = "Participant")]
    pub(crate) sha256: Option<String>,
}

fn parse_attribute(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE; write e.g. --attribute role=host"))?;
    if k.is_empty() {
        return Err(format!(
            "{s:?} has an empty key; write e.g. --attribute role=host"
        ));
    }
    Ok((k.to_owned(), v.to_owned()))
}

impl TokenFlags {
    /// Builds the token the flags describe (without signing it).
    pub(crate) fn build(&self) -> Result<AccessToken> {
        let mut grants = Claims::default();
        if let Some(json) = &self.grant {
            apply_grant_json(&mut grants, json)?;
        }
        self.grants.apply(&mut grants)?;
        if let Some(room) = &self.room {
            grants
                .video
                .get_or_insert_with(VideoGrant::default)
                .room
                .clone_from(room);
        }
        let mut token = AccessToken::from_claims(grants);
        if let Some(identity) = &self.identity {
            token = token.with_identity(identity);
        }
        if let Some(name) = &self.name {
            token = token.with_name(name);
        }
        if let Some(metadata) = &self.metadata {
            token = token.with_metadata(metadata);
        }
        if let Some(path) = &self.metadata_file {
            token = token.with_metadata(read_text(path, "--metadata-file")?);
        }
        if let Some(ttl) = self.ttl {
            token = token.with_ttl(ttl);
        }
        token = token.with_attributes(self.attributes()?);
        if let Some(kind) = &self.kind {
            token = token.with_kind(kind.clone());
        }
        if !self.kind_detail.is_empty() {
            token = token.with_kind_details(self.kind_detail.clone());
        }
        if let Some(config) = self.room_configuration()? {
            token = token.with_room_config(config);
        }
        if let Some(preset) = &self.room_preset {
            token = token.with_room_preset(preset);
        }
        if let Some(sha) = &self.sha256 {
            token = token.with_sha256(sha);
        }
        Ok(token.allow_sensitive_credentials(self.allow_sensitive_credentials))
    }

    fn attributes(&self) -> Result<BTreeMap<String, String>> {
        let mut attributes = BTreeMap::new();
        if let Some(arg) = &self.attributes_json {
            let text = match arg.strip_prefix('@') {
                Some(path) => read_text(Path::new(path), "--attributes")?,
                None => arg.clone(),
            };
            attributes = serde_json::from_str(&text).context(
                "--attributes must be a JSON object of strings, e.g. {\"role\":\"host\"}",
            )?;
        }
        if let Some(path) = &self.attributes_file {
            let text = fs::read_to_string(path)
                .with_context(|| format!("cannot read --attributes-file {}", path.display()))?;
            attributes = serde_json::from_str(&text).with_context(|| {
                format!(
                    "--attributes-file {} must hold a JSON object of strings, e.g. {{\"role\":\"host\"}}",
                    path.display()
                )
            })?;
        }
        attributes.extend(self.attributes.iter().cloned());
        Ok(attributes)
    }

    /// The room configuration from `--room-config` plus the dispatch flags, if any.
    pub(crate) fn room_configuration(&self) -> Result<Option<RoomConfiguration>> {
        let mut config = match &self.room_config {
            Some(arg) => Some(parse_room_config(arg)?),
            None => None,
        };
        if let Some(path) = &self.room_metadata_file {
            config
                .get_or_insert_with(RoomConfiguration::default)
                .metadata = read_text(path, "--room-metadata-file")?;
        }
        if !self.dispatch_agent.is_empty() {
            let config = config.get_or_insert_with(RoomConfiguration::default);
            for name in &self.dispatch_agent {
                let mut dispatch =
                    RoomAgentDispatch::new(name, self.job_metadata.clone().unwrap_or_default());
                dispatch.deployment = self.dispatch_deployment.clone().unwrap_or_default();
                config.agents.push(dispatch);
            }
        }
        Ok(config)
    }
}

/// The longest file a text flag reads: past the server's 512 KiB metadata limit, so that a
/// file over it is reported by the token's own check, not cut short here.
const MAX_TEXT_FILE: u64 = 8 * 1024 * 1024;

/// Reads a text flag's file ("-" for standard input), whole and as it is.
fn read_text(path: &Path, flag: &str) -> Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin()
            .take(MAX_TEXT_FILE)
            .read_to_string(&mut text)
    } else {
        fs::File::open(path).and_then(|f| f.take(MAX_TEXT_FILE).read_to_string(&mut text))
    };
    read.with_context(|| format!("cannot read {flag} {}", path.display()))?;
    Ok(text)
}

/// `--grant`: video grant members by their JSON keys, as `lk` takes them.
fn apply_grant_json(claims: &mut Claims, json: &str) -> Result<()> {
    use roomkey_token::grants::{GRANTS, Kind, Setting};
    let value: serde_json::Value = serde_json::from_str(json)
        .context("--grant must be a JSON object, e.g. '{\"canPublish\":false}'")?;
    let Some(members) = value.as_object() else {
        bail!("--grant must be a JSON object, e.g. '{{\"canPublish\":false}}'");
    };
    let video: Vec<&str> = GRANTS
        .iter()
        .filter(|g| g.claim == "video")
        .map(|g| g.key)
        .collect();
    for (key, v) in members {
        let Some(g) = GRANTS.iter().find(|g| g.claim == "video" && g.key == key) else {
            match input::did_you_mean(key, &video) {
                Some(meant) => bail!("--grant has {key:?}; did you mean {meant:?}?"),
                None => bail!("--grant has {key:?}, which is not in the video grant"),
            }
        };
        let setting = match (g.kind, v) {
            (Kind::Flag | Kind::Tri, serde_json::Value::Bool(on)) => Setting::Bool(*on),
            (Kind::Text, serde_json::Value::String(text)) => Setting::Text(text.clone()),
            (Kind::Sources, serde_json::Value::Array(_)) => Setting::Sources(
                serde_json::from_value(v.clone())
                    .with_context(|| format!("--grant {key} takes a list of track sources"))?,
            ),
            (Kind::Texts, serde_json::Value::Array(_)) => Setting::Texts(
                serde_json::from_value(v.clone())
                    .with_context(|| format!("--grant {key} takes a list of strings"))?,
            ),
            _ => bail!("--grant {key} has the wrong type: {v}"),
        };
        g.set(claims, setting)?;
    }
    Ok(())
}

/// Reads `--room-config`: inline JSON (starts with `{`) or a file. Unknown fields are refused,
/// nested ones too (`agents.0.agentname`), since on the command line they are typos.
pub(crate) fn parse_room_config(arg: &str) -> Result<RoomConfiguration> {
    let arg = arg.strip_prefix('@').unwrap_or(arg);
    let text = if arg.trim_start().starts_with('{') {
        arg.to_owned()
    } else {
        fs::read_to_string(arg).with_context(|| {
            format!("--room-config {arg:?} is neither inline JSON nor a readable file")
        })?
    };
    if !text.trim_start().starts_with('{') {
        bail!("--room-config must be a JSON object, e.g. {{\"emptyTimeout\":300}}");
    }
    let (config, unknown) = input::from_json_noting_unknown::<RoomConfiguration>(&text)
        .context("--room-config does not match LiveKit's RoomConfiguration")?;
    if let Some(field) = unknown.fields.first() {
        if let Some(inner) =
            roomkey_token::agent_option_field(&field.key).filter(|_| field.parents.is_empty())
        {
            bail!(
                "--room-config has an unknown field {:?}; an agent goes in agents, as \
                 {{\"agents\":[{{\"{inner}\":…}}]}} (or use --dispatch-agent)",
                field.path()
            );
        }
        let known = match field.parents.first().map(String::as_str) {
            Some("agents") => input::field_names::<RoomAgentDispatch>(),
            _ => input::field_names::<RoomConfiguration>(),
        };
        match input::did_you_mean(&field.key, known) {
            Some(meant) => bail!(
                "--room-config has an unknown field {:?}; did you mean {meant:?}?",
                field.path()
            ),
            None => bail!(
                "--room-config has an unknown field {:?}; the fields there are {}",
                field.path(),
                known
                    .iter()
                    .filter(|f| !f.contains('_'))
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    Ok(config)
}
