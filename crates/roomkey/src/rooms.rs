//! `roomkey room create|list|delete|participants`, and the room creation behind
//! `token create --create-room-if-not-exists`.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use roomkey_rooms::{
    ClientOptions, CreateRoomRequest, ParticipantInfo, Room, RoomClient, RoomError,
};
use roomkey_token::{KeyPair, RoomAgentDispatch, RoomConfiguration};
use serde_json::json;

use crate::credentials::{KeyArgs, env_var};
use crate::output::{out, print_json, rfc3339, safe};
use roomkey_server::duration;

/// Where the LiveKit server is, and how long to wait for it.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Server")]
pub(crate) struct ServerArgs {
    /// LiveKit server URL: ws://, wss://, http:// or https:// (e.g. http://localhost:7880 for
    /// `livekit-server --dev`) [env: LIVEKIT_URL]
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,

    /// Time allowed for each request, in seconds or as a duration
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration::parse)]
    pub(crate) timeout: Duration,

    /// Time allowed to connect, in seconds or as a duration
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration::parse)]
    pub(crate) connect_timeout: Duration,
}

impl ServerArgs {
    /// A client for the configured server, or an error that says how to configure one.
    pub(crate) fn client(&self, key: KeyPair, purpose: &str) -> Result<RoomClient> {
        let Some(url) = self.url.clone().or_else(|| env_var("LIVEKIT_URL")) else {
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
        Ok(RoomClient::with_options(&url, key, options)?)
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
    /// Seconds an empty room stays open [server default: 300]
    #[arg(long, value_name = "SECONDS")]
    pub(crate) empty_timeout: Option<u32>,
    /// Seconds the room stays open after the last participant leaves [server default: 20]
    #[arg(long, value_name = "SECONDS")]
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
}

impl Connection {
    fn client(&self, command: &str) -> Result<RoomClient> {
        self.server.client(self.keys.resolve()?, command)
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct CreateRoomArgs {
    /// Room name
    name: String,
    #[command(flatten)]
    settings: RoomSettings,
    /// Named room configuration (preset) on the server
    #[arg(long, value_name = "NAME")]
    room_preset: Option<String>,
    /// Dispatch this agent into the room (repeatable)
    #[arg(long, value_name = "AGENT_NAME")]
    dispatch_agent: Vec<String>,
    /// Job metadata for the dispatched agents
    #[arg(long, value_name = "TEXT", requires = "dispatch_agent")]
    job_metadata: Option<String>,
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
    name: String,
    #[command(flatten)]
    conn: Connection,
}

/// The room was not found: exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct NotFound(RoomError);

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
            let room = block_on(client.create_room(&request))??;
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
            block_on(client.delete_room(&args.name))?.map_err(not_found)?;
            if args.conn.json {
                print_json(&json!({"deleted": args.name}));
            } else {
                eprintln!("deleted room {}", safe(&args.name));
            }
        }
        RoomCommand::Participants(args) => {
            let client = args.conn.client("roomkey room participants")?;
            let participants = block_on(client.list_participants(&args.name))??;
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

fn not_found(e: RoomError) -> anyhow::Error {
    if e.is_not_found() {
        NotFound(e).into()
    } else {
        e.into()
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

fn print_table(header: &[&str], rows: &[Vec<String>]) {
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
