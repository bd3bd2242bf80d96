//! `roomkey room create|list|delete|participants`, and the room creation behind
//! `token create --create-room-if-not-exists`.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use roomkey_rooms::{
    ClientOptions, CreateRoomRequest, CredentialSources, ParticipantInfo, Room, RoomClient,
    RoomError,
};
use roomkey_token::{KeyPair, RoomAgentDispatch, RoomConfiguration};
use serde_json::json;

use crate::credentials::{DEV_API_KEY, DEV_API_SECRET, KeyArgs, env_var};
use crate::dispatch::{WorkerWait, ensure_agents};
use crate::output::{out, print_json, rfc3339, safe};
use roomkey_token::input;

/// Where the LiveKit server is, and how long to wait for it.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Server")]
pub(crate) struct ServerArgs {
    /// LiveKit server URL: ws://, wss://, http:// or https:// (e.g. http://localhost:7880 for
    /// `livekit-server --dev`) [env: LIVEKIT_URL]
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,

    /// Time allowed for each request, in seconds or as a duration
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = input::parse_duration)]
    pub(crate) timeout: Duration,

    /// Time allowed to connect, in seconds or as a duration
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = input::parse_duration)]
    pub(crate) connect_timeout: Duration,
}

impl ServerArgs {
    /// The LiveKit URL: `--url`, else `LIVEKIT_URL`.
    pub(crate) fn target_url(&self) -> Option<String> {
        self.url.clone().or_else(|| env_var("LIVEKIT_URL"))
    }

    /// A client for the configured server, or an error that says how to configure one.
    pub(crate) fn client(&self, key: KeyPair, purpose: &str) -> Result<RoomClient> {
        self.client_at(key, purpose, None)
    }

    /// [`ServerArgs::client`], minting each call's token as if the time were `sign_at`.
    fn client_at(&self, key: KeyPair, purpose: &str, sign_at: Option<i64>) -> Result<RoomClient> {
        let Some(url) = self.target_url() else {
            bail!(
                "{purpose} needs the LiveKit server URL: pass --url or set LIVEKIT_URL (e.g. http://localhost:7880)"
            );
        };
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            bail!("--timeout and --connect-timeout must be longer than 0 s");
        }
        let mut options = ClientOptions::default();
        options.timeout = self.timeout;
        options.connect_timeout = self.connect_timeout;
        options.sign_at = sign_at;
        Ok(RoomClient::with_options(&url, key, options)?
            .with_credential_sources(credential_sources()))
    }
}

/// Where the credentials came from, by the precedence `KeyArgs::resolve` applies (flags, then
/// the environment, then the development pair), for messages about a rejected key or secret.
/// The flags are read from the command line as clap saw them: a value never starts with `--`.
pub(crate) fn credential_sources() -> CredentialSources {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .take_while(|a| a != "--")
        .collect();
    // The value of the last `--name VALUE` or `--name=VALUE`.
    let flag = |name: &str| -> Option<String> {
        let mut found = None;
        for (i, arg) in args.iter().enumerate() {
            if arg == name {
                found = Some(args.get(i + 1).cloned().unwrap_or_default());
            } else if let Some(value) = arg.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                found = Some(value.to_owned());
            }
        }
        found
    };
    let key = if flag("--api-key").is_some() {
        Some("--api-key".to_owned())
    } else {
        env_var("LIVEKIT_API_KEY").map(|_| "LIVEKIT_API_KEY".to_owned())
    };
    let secret = if let Some(file) = flag("--api-secret-file") {
        Some(if file == "-" {
            "--api-secret-file -, standard input".to_owned()
        } else {
            format!("--api-secret-file {}", safe(&file))
        })
    } else if flag("--api-secret").is_some() {
        Some("--api-secret".to_owned())
    } else {
        env_var("LIVEKIT_API_SECRET").map(|_| "LIVEKIT_API_SECRET".to_owned())
    };
    match (key, secret) {
        (None, None) => {
            let dev = format!(
                "the development pair {DEV_API_KEY}/{DEV_API_SECRET}, used because no credentials were given"
            );
            CredentialSources::new(dev.clone(), dev)
        }
        (key, secret) => {
            CredentialSources::new(key.unwrap_or_default(), secret.unwrap_or_default())
        }
    }
}

/// Runs a future to completion on a small runtime of its own.
pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(runtime.block_on(future))
}

/// Manage rooms through LiveKit's RoomService API.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum RoomCommand {
    /// Create a room (an existing room of that name is returned unchanged)
    Create(CreateRoomArgs),
    /// List rooms: all, or those of the given names that exist
    List(ListRoomsArgs),
    /// Delete a room, disconnecting everyone in it
    Delete(NamedRoomArgs),
    /// List the participants of a room
    Participants(NamedRoomArgs),
}

/// Settings of a room to create.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Room settings")]
pub(crate) struct RoomSettings {
    /// How long an empty room stays open: seconds, or a duration such as 10m [server default:
    /// 300]
    #[arg(long, value_name = "SECONDS|DURATION", value_parser = timeout_seconds)]
    pub(crate) empty_timeout: Option<u32>,
    /// How long the room stays open after the last participant leaves: seconds, or a duration
    /// such as 1m [server default: 20]
    #[arg(long, value_name = "SECONDS|DURATION", value_parser = timeout_seconds)]
    pub(crate) departure_timeout: Option<u32>,
    /// Maximum number of participants [server default: unlimited]
    #[arg(long, value_name = "N")]
    pub(crate) max_participants: Option<u32>,
    /// Room metadata
    #[arg(long = "room-metadata", value_name = "TEXT")]
    pub(crate) metadata: Option<String>,
    /// Minimum playout delay, ms
    #[arg(long, value_name = "MS")]
    pub(crate) min_playout_delay: Option<u32>,
    /// Maximum playout delay, ms
    #[arg(long, value_name = "MS")]
    pub(crate) max_playout_delay: Option<u32>,
    /// Synchronise each participant's audio and video
    #[arg(long)]
    pub(crate) sync_streams: bool,
}

/// A room name, checked here as a token's room is: not empty, and within the server's default
/// limit, so that a typo is refused before any request.
pub(crate) fn room_name(text: &str) -> Result<String, String> {
    use roomkey_token::limits::MAX_ROOM_NAME_LEN;
    if text.is_empty() {
        return Err(
            "the room name is empty; LiveKit would create a room that no participant can join"
                .to_owned(),
        );
    }
    if text.len() > MAX_ROOM_NAME_LEN {
        return Err(format!(
            "the room name is {} bytes, over the server's default limit of {MAX_ROOM_NAME_LEN}",
            text.len()
        ));
    }
    Ok(text.to_owned())
}

/// A room timeout in whole seconds, from `300` or a duration such as `10m` (the server keeps
/// seconds in 32 bits).
fn timeout_seconds(text: &str) -> Result<u32, String> {
    let duration = input::parse_duration(text)?;
    if duration.subsec_nanos() != 0 {
        return Err(format!("{text:?} is not whole seconds"));
    }
    u32::try_from(duration.as_secs())
        .map_err(|_| format!("{text:?} is longer than the server keeps"))
}

/// The server, the credentials and the output format, shared by every room command.
#[derive(Debug, clap::Args)]
pub(crate) struct Connection {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    keys: KeyArgs,
    /// Print JSON
    #[arg(long, help_heading = "Output")]
    json: bool,
    /// Mint the RoomService tokens as if the time were this (unix seconds); for tests
    #[arg(long, hide = true, value_name = "UNIX")]
    now: Option<i64>,
}

impl Connection {
    pub(crate) fn client(&self, command: &str) -> Result<RoomClient> {
        self.server.client_at(
            self.keys.resolve(self.server.target_url().as_deref())?,
            command,
            self.now,
        )
    }

    /// `--json` was given.
    pub(crate) fn json(&self) -> bool {
        self.json
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct CreateRoomArgs {
    /// Room name
    #[arg(value_parser = room_name)]
    name: String,
    #[command(flatten)]
    settings: RoomSettings,
    /// Named room configuration (preset) on the server
    #[arg(long, value_name = "NAME")]
    room_preset: Option<String>,
    /// Dispatch this agent into the room (repeatable); into a room that already exists too
    #[arg(long, value_name = "AGENT_NAME")]
    dispatch_agent: Vec<String>,
    /// Job metadata for the dispatched agents
    #[arg(long, value_name = "TEXT", requires = "dispatch_agent")]
    job_metadata: Option<String>,
    #[command(flatten)]
    wait: WorkerWait,
    #[command(flatten)]
    conn: Connection,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ListRoomsArgs {
    /// Only these rooms (names that do not exist are left out)
    names: Vec<String>,
    #[command(flatten)]
    conn: Connection,
}

#[derive(Debug, clap::Args)]
pub(crate) struct NamedRoomArgs {
    /// Room name
    #[arg(value_parser = room_name)]
    name: String,
    #[command(flatten)]
    conn: Connection,
}

/// The room was not found: exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct NotFound(pub(crate) String);

/// A room name for a message: escaped, and shortened when long (a name the server refused as
/// too long would fill the screen).
pub(crate) fn room_label(name: &str) -> String {
    const SHOWN: usize = 32;
    if name.chars().count() <= SHOWN + 8 {
        return safe(name);
    }
    let head: String = name.chars().take(SHOWN).collect();
    format!("{}… ({} bytes)", safe(&head), name.len())
}

/// What an existing room has that differs from what was asked for: the settings RoomService
/// reports back. (Playout delay, stream sync, agents and the preset are not reported.)
fn differences(asked: &CreateRoomRequest, room: &Room) -> Vec<String> {
    let mut out = Vec::new();
    let mut seconds = |what: &str, asked: u32, has: u32| {
        if asked != 0 && asked != has {
            out.push(format!("{what} {asked} s asked, the room has {has} s"));
        }
    };
    seconds("empty timeout", asked.empty_timeout, room.empty_timeout);
    seconds(
        "departure timeout",
        asked.departure_timeout,
        room.departure_timeout,
    );
    if asked.max_participants != 0 && asked.max_participants != room.max_participants {
        out.push(format!(
            "max participants {} asked, the room has {}",
            asked.max_participants,
            if room.max_participants == 0 {
                "no limit".to_owned()
            } else {
                room.max_participants.to_string()
            }
        ));
    }
    if !asked.metadata.is_empty() && asked.metadata != room.metadata {
        out.push("other metadata asked".to_owned());
    }
    out
}

/// Runs a `roomkey room` command.
pub(crate) fn run(command: &RoomCommand) -> Result<()> {
    match command {
        RoomCommand::Create(args) => {
            let client = args.conn.client("roomkey room create")?;
            let mut config = RoomConfiguration::default();
            for agent in &args.dispatch_agent {
                config.agents.push(RoomAgentDispatch::new(
                    agent,
                    args.job_metadata.clone().unwrap_or_default(),
                ));
            }
            let request = create_request(
                &args.name,
                &args.settings,
                Some(&config),
                args.room_preset.as_deref().unwrap_or(""),
            );
            let names = [args.name.clone()];
            let (existed, room) = block_on(async {
                let existed = !client.list_rooms(&names).await?.is_empty();
                Ok::<_, RoomError>((existed, client.create_room(&request).await?))
            })?
            .with_context(|| format!("cannot create the room {}", room_label(&args.name)))?;
            report_creation(existed, &room, &request);
            block_on(ensure_agents(
                &client,
                &args.name,
                &request.agents,
                args.wait.wait_for_worker,
            ))??;
            if args.conn.json {
                print_json(&json!(room));
            } else {
                print_rooms(&[room]);
            }
        }
        RoomCommand::List(args) => {
            let client = args.conn.client("roomkey room list")?;
            let mut rooms = block_on(client.list_rooms(&args.names))??;
            rooms.sort_by(|a, b| a.name.cmp(&b.name));
            if args.conn.json {
                print_json(&json!(rooms));
            } else if rooms.is_empty() {
                eprintln!("no rooms");
            } else {
                print_rooms(&rooms);
            }
        }
        RoomCommand::Delete(args) => {
            let client = args.conn.client("roomkey room delete")?;
            block_on(client.delete_room(&args.name))?
                .map_err(|e| not_found(e, &args.name, "DeleteRoom"))?;
            if args.conn.json {
                print_json(&json!({"deleted": args.name}));
            } else {
                eprintln!("deleted room {}", safe(&args.name));
            }
        }
        RoomCommand::Participants(args) => {
            let client = args.conn.client("roomkey room participants")?;
            let names = [args.name.clone()];
            let participants = block_on(async {
                let participants = client.list_participants(&args.name).await?;
                // LiveKit answers a room that does not exist with an empty list.
                if participants.is_empty() && client.list_rooms(&names).await?.is_empty() {
                    return Ok(None);
                }
                Ok::<_, RoomError>(Some(participants))
            })?
            .with_context(|| {
                format!(
                    "cannot list the participants of the room {}",
                    room_label(&args.name)
                )
            })?;
            let Some(participants) = participants else {
                return Err(NotFound(format!(
                    "room {} does not exist (ListRooms does not have it; ListParticipants answers a missing room with an empty list)",
                    room_label(&args.name)
                ))
                .into());
            };
            if args.conn.json {
                print_json(&json!(participants));
            } else if participants.is_empty() {
                eprintln!("no participants in room {}", safe(&args.name));
            } else {
                print_participants(&participants);
            }
        }
    }
    Ok(())
}

/// Says on stderr whether the room was created or found, and for a room found, which asked-for
/// settings it does not have (LiveKit keeps an existing room's settings).
pub(crate) fn report_creation(existed: bool, room: &Room, asked: &CreateRoomRequest) {
    if existed {
        let changed = differences(asked, room);
        eprintln!(
            "roomkey: room {} already exists ({}); it was not changed, as LiveKit keeps an existing room's settings and ignores a token's roomConfig for it{}",
            safe(&room.name),
            safe(&room.sid),
            if changed.is_empty() {
                String::new()
            } else {
                format!(" ({})", changed.join("; "))
            }
        );
    } else {
        eprintln!(
            "roomkey: created room {} ({})",
            safe(&room.name),
            safe(&room.sid)
        );
    }
}

/// A DeleteRoom that failed. A room that does not exist is a failure like any other (exit 2):
/// the room to delete was not there, so whatever the caller meant by it did not happen.
fn not_found(e: RoomError, room: &str, method: &str) -> anyhow::Error {
    match e {
        RoomError::NotFound { detail } => anyhow::anyhow!(
            "cannot delete the room {}: it does not exist (the server answered {method}: {detail})",
            room_label(room)
        ),
        e => anyhow::Error::new(e).context(format!("cannot delete the room {}", room_label(room))),
    }
}

/// The CreateRoom request for a room: explicit settings win over the room configuration.
pub(crate) fn create_request(
    name: &str,
    settings: &RoomSettings,
    config: Option<&RoomConfiguration>,
    preset: &str,
) -> CreateRoomRequest {
    let mut r = CreateRoomRequest::from_config(
        name,
        config.unwrap_or(&RoomConfiguration::default()),
        preset,
    );
    r.empty_timeout = settings.empty_timeout.unwrap_or(r.empty_timeout);
    r.departure_timeout = settings.departure_timeout.unwrap_or(r.departure_timeout);
    r.max_participants = settings.max_participants.unwrap_or(r.max_participants);
    if let Some(metadata) = &settings.metadata {
        metadata.clone_into(&mut r.metadata);
    }
    r.min_playout_delay = settings.min_playout_delay.unwrap_or(r.min_playout_delay);
    r.max_playout_delay = settings.max_playout_delay.unwrap_or(r.max_playout_delay);
    r.sync_streams |= settings.sync_streams;
    r
}

pub(crate) fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let render = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (cell, w) in cells.zip(&widths) {
            line.push_str(cell);
            line.extend(std::iter::repeat_n(
                ' ',
                w.saturating_sub(cell.chars().count()) + 2,
            ));
        }
        line.trim_end().to_owned()
    };
    out(&render(&mut header.iter().copied()));
    for row in rows {
        out(&render(&mut row.iter().map(String::as_str)));
    }
}

fn print_rooms(rooms: &[Room]) {
    let rows: Vec<Vec<String>> = rooms
        .iter()
        .map(|r| {
            vec![
                safe(&r.name),
                safe(&r.sid),
                r.num_participants.to_string(),
                if r.max_participants == 0 {
                    "-".into()
                } else {
                    r.max_participants.to_string()
                },
                format!("{}s", r.empty_timeout),
                if r.creation_time == 0 {
                    "-".into()
                } else {
                    rfc3339(r.creation_time)
                },
                safe(&r.metadata),
            ]
        })
        .collect();
    print_table(
        &[
            "NAME",
            "SID",
            "PARTICIPANTS",
            "MAX",
            "EMPTY_TIMEOUT",
            "CREATED",
            "METADATA",
        ],
        &rows,
    );
}

fn print_participants(participants: &[ParticipantInfo]) {
    let rows: Vec<Vec<String>> = participants
        .iter()
        .map(|p| {
            vec![
                safe(&p.identity),
                safe(&p.name),
                safe(&p.sid),
                safe(&p.state),
                safe(&p.kind),
                p.num_tracks.to_string(),
                if p.joined_at == 0 {
                    "-".into()
                } else {
                    rfc3339(p.joined_at)
                },
            ]
        })
        .collect();
    print_table(
        &[
            "IDENTITY", "NAME", "SID", "STATE", "KIND", "TRACKS", "JOINED",
        ],
        &rows,
    );
}
