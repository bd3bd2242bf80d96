//! Policy: what a caller may get. A profile fixes the grants, the rooms, where the identity comes
//! from, which request fields a caller may set and the TTL; [`decide`] turns a request into the
//! token to mint, or names the field that is outside the policy.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng as _;
use roomkey_token::grants::{Grant, Setting};
use roomkey_token::{Claims, JobRestartPolicy, RoomConfiguration, VideoGrant};

mod glob;
mod grants;

pub use glob::Glob;
pub use grants::GrantsFile;
use grants::action_grant;
pub(crate) use grants::{FileValue, GRANT_KEYS};

/// Where the participant identity comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityStrategy {
    /// The authenticated subject (OIDC `sub` or the configured claim).
    Subject,
    /// The request's `participant_identity` when the profile lists it in `fields` (generated
    /// when absent).
    Request,
    /// Always a fresh generated identity.
    Generated,
}

/// A request field a profile may let callers set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestField {
    /// `participant_identity`.
    ParticipantIdentity,
    /// `participant_name`.
    ParticipantName,
    /// `participant_metadata`.
    ParticipantMetadata,
    /// `participant_attributes`.
    ParticipantAttributes,
    /// `room_config.agents` (agent dispatch).
    AgentDispatch,
    /// The other `room_config` settings (timeouts, max participants, metadata, playout, tags).
    RoomSettings,
    /// `ttl` (action endpoint).
    Ttl,
    /// `room_config.agents[].deployment`: which deployment of an agent serves the job.
    AgentDeployment,
    /// `room_config.agents[].restart_policy`: whether LiveKit restarts a failed job.
    AgentRestartPolicy,
    /// `room_config.agents[].attributes`: the agent participant's attributes.
    AgentAttributes,
    /// Attributes (participant or agent) whose key starts with `lk.`: LiveKit reserves these
    /// for itself (`lk.agent.state`, `lk.publish_on_behalf`), and clients act on them.
    ReservedAttributes,
}

impl RequestField {
    /// The names used in the configuration file.
    pub const NAMES: &'static [&'static str] = &[
        "participant_identity",
        "participant_name",
        "participant_metadata",
        "participant_attributes",
        "room_config.agents",
        "room_config.settings",
        "ttl",
        "room_config.agents.deployment",
        "room_config.agents.restart_policy",
        "room_config.agents.attributes",
        "lk_attributes",
    ];

    /// Its name in the configuration file (and the request).
    pub fn name(self) -> &'static str {
        RequestField::NAMES[self as usize]
    }

    /// Reads a name from the configuration file.
    pub fn parse(s: &str) -> Option<RequestField> {
        use RequestField::*;
        // In the order of `NAMES`.
        [
            ParticipantIdentity,
            ParticipantName,
            ParticipantMetadata,
            ParticipantAttributes,
            AgentDispatch,
            RoomSettings,
            Ttl,
            AgentDeployment,
            AgentRestartPolicy,
            AgentAttributes,
            ReservedAttributes,
        ]
        .into_iter()
        .find(|f| f.name() == s)
    }
}

/// A checked profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Its name in the configuration.
    pub name: String,
    /// Allowed rooms.
    pub rooms: Vec<Glob>,
    /// Prefix of generated room names.
    pub room_prefix: String,
    /// Identity strategy.
    pub identity: IdentityStrategy,
    /// Request fields a caller may set.
    pub fields: Vec<RequestField>,
    /// Agents a caller may dispatch.
    pub agents: Vec<Glob>,
    /// Longest job metadata a dispatch may carry, in bytes.
    pub max_job_metadata_bytes: usize,
    /// Default TTL.
    pub ttl: Duration,
    /// Longest TTL.
    pub max_ttl: Duration,
    /// Create rooms first.
    pub create_room: bool,
    /// `server_url` returned.
    pub livekit_url: String,
    /// The grants issued (every grant claim; the video grant's room is left empty).
    pub grants: Claims,
    /// The action's switches may grant more than `grants` (development mode only).
    pub unrestricted_switches: bool,
}

impl Profile {
    fn allows(&self, field: RequestField) -> bool {
        self.fields.contains(&field)
    }

    /// A value the caller asked for, when the profile lets callers set `field`; refused with
    /// `refusal` otherwise.
    fn settable<T>(
        &self,
        field: RequestField,
        asked: Option<T>,
        refusal: &str,
    ) -> Result<Option<T>, Denied> {
        match asked {
            Some(_) if !self.allows(field) => Err(denied(field.name(), refusal)),
            asked => Ok(asked),
        }
    }

    /// The video grant this profile issues for `room`.
    pub fn video_grant(&self, room: &str) -> VideoGrant {
        let mut v = self.grants.video.clone().unwrap_or_default();
        room.clone_into(&mut v.room);
        v
    }
}

/// What the caller asked for, from either endpoint.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    /// Requested room.
    pub room_name: Option<String>,
    /// Display name.
    pub participant_name: Option<String>,
    /// Identity.
    pub participant_identity: Option<String>,
    /// Metadata.
    pub participant_metadata: Option<String>,
    /// Attributes.
    pub participant_attributes: Option<BTreeMap<String, String>>,
    /// Room configuration.
    pub room_config: Option<RoomConfiguration>,
    /// TTL (action endpoint).
    pub ttl: Option<Duration>,
    /// Permission switches (action endpoint): each may only narrow the profile's grant.
    pub grants: GrantRequest,
    /// `createRoomIfNotExists` (action endpoint).
    pub create_room: Option<bool>,
}

/// Permission switches of the Generate Access Token action.
#[derive(Debug, Clone, Default)]
pub struct GrantRequest {
    /// (grant, requested value) for every switch present.
    pub switches: Vec<(&'static Grant, Setting)>,
    /// The request comes from the action: the token gets the join grant plus exactly the
    /// switches asked for (within the profile's grants), not the whole profile.
    pub action: bool,
}

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Name for logs, metrics and rate limits.
    pub name: String,
    /// Authenticated subject (OIDC).
    pub subject: Option<String>,
    /// Display name from the identity provider.
    pub display_name: Option<String>,
    /// Profile index.
    pub profile: usize,
    /// May use the action endpoint and the web page.
    pub admin: bool,
    /// The longest TTL this caller's token may have: what is left of the session that
    /// authenticated it, when its issuer says the token may not outlive it.
    pub ttl_cap: Option<Duration>,
    /// That session's `exp` (unix seconds), with [`ttl_cap`](Caller::ttl_cap): the token's
    /// expiry is capped again when it is signed, since the body and a room creation come
    /// between authentication and signing, and a slow client could stretch that time.
    pub session_expires_at: Option<i64>,
}

/// A request outside the policy: 403 naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// The request field.
    pub field: String,
    /// Why.
    pub reason: String,
}

fn denied(field: impl Into<String>, reason: impl Into<String>) -> Denied {
    Denied {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The token to mint.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Participant identity.
    pub identity: String,
    /// Display name.
    pub name: String,
    /// Metadata.
    pub metadata: String,
    /// Attributes.
    pub attributes: BTreeMap<String, String>,
    /// Room configuration for the token (and the create call).
    pub room_config: Option<RoomConfiguration>,
    /// TTL.
    pub ttl: Duration,
    /// Video grant.
    pub video: VideoGrant,
    /// Create the room first.
    pub create_room: bool,
}

/// Applies a profile to a request.
///
/// # Errors
/// [`Denied`] naming the first field outside the policy.
pub fn decide(profile: &Profile, caller: &Caller, req: TokenRequest) -> Result<Decision, Denied> {
    let requested_identity = req.participant_identity.filter(|s| !s.is_empty());
    let identity = match profile.identity {
        IdentityStrategy::Subject => {
            let Some(subject) = caller.subject.clone() else {
                return Err(denied(
                    "participant_identity",
                    "this caller has no authenticated subject to take the identity from",
                ));
            };
            if requested_identity.as_ref().is_some_and(|r| *r != subject) {
                return Err(denied(
                    "participant_identity",
                    "the identity is taken from your session and cannot be chosen",
                ));
            }
            subject
        }
        IdentityStrategy::Request => match requested_identity {
            Some(identity) if profile.allows(RequestField::ParticipantIdentity) => identity,
            Some(_) => {
                return Err(denied(
                    "participant_identity",
                    "you may not choose the participant identity",
                ));
            }
            None => generated("p-"),
        },
        IdentityStrategy::Generated => {
            if requested_identity.is_some() {
                return Err(denied(
                    "participant_identity",
                    "identities are generated and cannot be chosen",
                ));
            }
            generated("p-")
        }
    };

    let room = match req.room_name.filter(|s| !s.is_empty()) {
        Some(room) => {
            if !profile.rooms.iter().any(|g| g.matches(&room)) {
                return Err(denied("room_name", "this room is not allowed for you"));
            }
            room
        }
        None => format!("{}{}", profile.room_prefix, random_id(12)),
    };

    let name = profile
        .settable(
            RequestField::ParticipantName,
            req.participant_name.filter(|s| !s.is_empty()),
            "you may not set the participant name",
        )?
        .unwrap_or_else(|| caller.display_name.clone().unwrap_or_default());
    let metadata = profile
        .settable(
            RequestField::ParticipantMetadata,
            req.participant_metadata.filter(|s| !s.is_empty()),
            "you may not set participant metadata",
        )?
        .unwrap_or_default();
    let attributes = profile
        .settable(
            RequestField::ParticipantAttributes,
            req.participant_attributes.filter(|a| !a.is_empty()),
            "you may not set participant attributes",
        )?
        .unwrap_or_default();
    check_reserved_attributes(profile, "participant_attributes", &attributes)?;
    let room_config = check_room_config(profile, req.room_config)?;

    let ttl = match req.ttl {
        Some(ttl) if !profile.allows(RequestField::Ttl) && ttl != profile.ttl => {
            return Err(denied("ttl", "you may not choose the TTL"));
        }
        Some(ttl) if ttl > profile.max_ttl => {
            return Err(denied(
                "ttl",
                format!("the TTL may be at most {} s", profile.max_ttl.as_secs()),
            ));
        }
        // The endpoints refuse 0 as a bad request before this; a library caller is refused too.
        Some(ttl) if ttl.is_zero() => return Err(denied("ttl", "a TTL of 0 is not a TTL")),
        Some(ttl) => ttl,
        None => profile.ttl,
    };
    let ttl = caller.ttl_cap.map_or(ttl, |cap| ttl.min(cap));

    let video = if req.grants.action {
        action_grant(
            &profile.grants,
            &room,
            &req.grants,
            profile.unrestricted_switches,
        )?
    } else {
        profile.video_grant(&room)
    };

    let create_room = match req.create_room {
        Some(true) if !profile.create_room && !profile.unrestricted_switches => {
            return Err(denied(
                "createRoomIfNotExists",
                "room creation is not enabled for you",
            ));
        }
        Some(true) => true,
        // The action may skip creating the room (it carries no room configuration).
        Some(false) => false,
        _ => profile.create_room,
    };
    Ok(Decision {
        identity,
        name,
        metadata,
        attributes,
        room_config,
        ttl,
        video,
        create_room,
    })
}

fn check_room_config(
    profile: &Profile,
    config: Option<RoomConfiguration>,
) -> Result<Option<RoomConfiguration>, Denied> {
    let Some(config) = config.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    if config.egress.is_some() {
        return Err(denied(
            "room_config.egress",
            "egress is never passed through",
        ));
    }
    if !config.agents.is_empty() {
        if !profile.allows(RequestField::AgentDispatch) {
            return Err(denied("room_config.agents", "you may not dispatch agents"));
        }
        for (i, agent) in config.agents.iter().enumerate() {
            if !profile.agents.iter().any(|g| g.matches(&agent.agent_name)) {
                return Err(denied(
                    format!("room_config.agents[{i}].agent_name"),
                    "this agent is not allowed for you",
                ));
            }
            let at = |field: &str| format!("room_config.agents[{i}].{field}");
            if !agent.deployment.is_empty() && !profile.allows(RequestField::AgentDeployment) {
                return Err(denied(
                    at("deployment"),
                    "you may not choose the agent's deployment (the profile's fields lack room_config.agents.deployment)",
                ));
            }
            if agent.restart_policy != JobRestartPolicy::default()
                && !profile.allows(RequestField::AgentRestartPolicy)
            {
                return Err(denied(
                    at("restart_policy"),
                    "you may not choose the job's restart policy (the profile's fields lack room_config.agents.restart_policy)",
                ));
            }
            if !agent.attributes.is_empty() && !profile.allows(RequestField::AgentAttributes) {
                return Err(denied(
                    at("attributes"),
                    "you may not set the agent's attributes (the profile's fields lack room_config.agents.attributes)",
                ));
            }
            check_reserved_attributes(profile, &at("attributes"), &agent.attributes)?;
            if agent.metadata.len() > profile.max_job_metadata_bytes {
                return Err(denied(
                    format!("room_config.agents[{i}].metadata"),
                    format!(
                        "the job metadata is {} bytes; this profile allows at most {} (max_job_metadata_bytes)",
                        agent.metadata.len(),
                        profile.max_job_metadata_bytes
                    ),
                ));
            }
        }
    }
    let mut settings = config.clone();
    settings.agents.clear();
    if !settings.is_empty() && !profile.allows(RequestField::RoomSettings) {
        return Err(denied(
            "room_config",
            "you may not set room settings other than agent dispatch",
        ));
    }
    Ok(Some(config))
}

/// Refuses attribute keys LiveKit reserves (`lk.…`) unless the profile allows them.
fn check_reserved_attributes(
    profile: &Profile,
    field: &str,
    attributes: &BTreeMap<String, String>,
) -> Result<(), Denied> {
    if profile.allows(RequestField::ReservedAttributes) {
        return Ok(());
    }
    match attributes.keys().find(|k| k.starts_with("lk.")) {
        Some(key) => Err(denied(
            format!("{field}.{key}"),
            "attributes starting with \"lk.\" are reserved for LiveKit (the profile's fields lack lk_attributes)",
        )),
        None => Ok(()),
    }
}

fn generated(prefix: &str) -> String {
    format!("{prefix}{}", random_id(12))
}

/// A random base62 id.
pub fn random_id(len: usize) -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
