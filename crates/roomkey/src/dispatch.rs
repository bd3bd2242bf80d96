//! `roomkey dispatch create|list|delete`, and the agent dispatch behind `token create
//! --create-room-if-not-exists` and `room create --dispatch-agent`, which makes sure no agent
//! is dropped because its room already existed.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use roomkey_rooms::{AgentDispatch, CreateDispatchRequest, EnsuredDispatch, RoomClient};
use roomkey_token::{RoomAgentDispatch, input};
use serde_json::json;

use crate::output::{print_json, rfc3339, safe, warn};
use crate::rooms::{Connection, NotFound, block_on, print_table, room_label};

/// Dispatch agents into rooms through LiveKit's AgentDispatchService.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum DispatchCommand {
    /// Dispatch an agent into a room (the room gets a job for a worker of that agent)
    #[command(after_long_help = CREATE_EXAMPLES)]
    Create(CreateDispatchArgs),
    /// List a room's agent dispatches and their jobs
    List(RoomArg),
    /// Delete a dispatch; the server ends its jobs
    Delete(DeleteDispatchArgs),
}

const CREATE_EXAMPLES: &str = "\
A token's roomConfig.agents only take effect when that participant's join creates the room;
`dispatch create` sends an agent into a room that already exists.

Examples:
  roomkey dispatch create support-42 \\
    --agent triage \\
    --metadata '{\"lang\":\"de\"}'
  roomkey dispatch list support-42
  roomkey dispatch delete support-42 \\
    AD_xxxxxxxxxxxx";

/// How long to watch for a worker to take a new dispatch.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct WorkerWait {
    /// After dispatching, wait up to this long for a worker to take the job, and say if none
    /// did (0 does not wait). LiveKit lists a job 1 to 5 s after its worker took it
    #[arg(long, value_name = "DURATION", default_value = "10s",
          value_parser = input::parse_duration, help_heading = "Agents")]
    pub(crate) wait_for_worker: Duration,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CreateDispatchArgs {
    /// Room name (with the server's room.auto_create on, a missing room is created)
    #[arg(value_parser = crate::rooms::room_name)]
    room: String,
    /// The agent's name, as its workers registered it (agent_name in WorkerOptions)
    #[arg(long, value_name = "NAME")]
    agent: String,
    /// Job metadata handed to the agent, verbatim
    #[arg(long, value_name = "TEXT")]
    metadata: Option<String>,
    /// Deployment to dispatch from (LiveKit Cloud) [default: production]
    #[arg(long, value_name = "NAME")]
    deployment: Option<String>,
    #[command(flatten)]
    wait: WorkerWait,
    #[command(flatten)]
    conn: Connection,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RoomArg {
    /// Room name
    #[arg(value_parser = crate::rooms::room_name)]
    room: String,
    #[command(flatten)]
    conn: Connection,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DeleteDispatchArgs {
    /// Room name
    #[arg(value_parser = crate::rooms::room_name)]
    room: String,
    /// The dispatch's id (AD_…), as `roomkey dispatch list` shows it
    dispatch_id: String,
    #[command(flatten)]
    conn: Connection,
}

/// Runs a `roomkey dispatch` command.
pub(crate) fn run(command: &DispatchCommand) -> Result<()> {
    match command {
        DispatchCommand::Create(args) => {
            if args.room.is_empty() || args.agent.is_empty() {
                bail!("the room and --agent must not be empty");
            }
            let client = args.conn.client("roomkey dispatch create")?;
            let mut request = CreateDispatchRequest::new(&args.room, &args.agent);
            request.metadata = args.metadata.clone().unwrap_or_default();
            request.deployment = args.deployment.clone().unwrap_or_default();
            let dispatch = block_on(async {
                let dispatch = client.create_dispatch(&request).await.map_err(|e| {
                    let reached = may_have_reached_the_server(&e);
                    let error = dispatch_error(e, &args.room, "cannot dispatch the agent");
                    if reached {
                        anyhow::anyhow!(
                            "{error:#}; the dispatch may have been created all the same: check `roomkey dispatch list {}` before trying again, or a second job may start",
                            safe(&args.room)
                        )
                    } else {
                        error
                    }
                })?;
                eprintln!(
                    "roomkey: dispatched agent {} into room {} ({})",
                    safe(&dispatch.agent_name),
                    room_label(&args.room),
                    safe(&dispatch.id)
                );
                let seen = watch_or_warn(
                    &client,
                    &args.room,
                    std::slice::from_ref(&dispatch),
                    args.wait.wait_for_worker,
                )
                .await;
                Ok::<_, anyhow::Error>(seen.into_iter().next().unwrap_or(dispatch))
            })??;
            if args.conn.json() {
                print_json(&json!(dispatch));
            } else {
                print_dispatches(&[dispatch]);
            }
        }
        DispatchCommand::List(args) => {
            let client = args.conn.client("roomkey dispatch list")?;
            let mut dispatches = block_on(async {
                match client.list_dispatches(&args.room).await {
                    Ok(d) => Ok(d),
                    Err(e) => {
                        Err(explain(&client, &args.room, e, "cannot list the dispatches").await)
                    }
                }
            })??;
            dispatches.sort_by_key(|d| d.created_at_ns);
            if args.conn.json() {
                print_json(&json!(dispatches));
            } else if dispatches.is_empty() {
                eprintln!("no agent dispatches in room {}", room_label(&args.room));
            } else {
                print_dispatches(&dispatches);
            }
        }
        DispatchCommand::Delete(args) => {
            let client = args.conn.client("roomkey dispatch delete")?;
            block_on(async {
                match client.delete_dispatch(&args.room, &args.dispatch_id).await {
                    Ok(_) => Ok(()),
                    Err(roomkey_rooms::RoomError::NotFound { detail }) => Err(NotFound(format!(
                        "room {} has no dispatch {} (the server answered DeleteDispatch: {detail}); `roomkey dispatch list {}` shows its dispatches",
                        room_label(&args.room),
                        safe(&args.dispatch_id),
                        safe(&args.room)
                    ))
                    .into()),
                    Err(e) => Err(explain(&client, &args.room, e, "cannot delete the dispatch").await),
                }
            })??;
            if args.conn.json() {
                print_json(&json!({"deleted": args.dispatch_id, "room": args.room}));
            } else {
                eprintln!(
                    "deleted dispatch {} of room {}",
                    safe(&args.dispatch_id),
                    room_label(&args.room)
                );
            }
        }
    }
    Ok(())
}

/// The error of a failed ListDispatch or DeleteDispatch. On a room that does not exist the
/// server has no room to ask and answers 503 "no response from servers", which says nothing to
/// a user: ListRooms tells whether that is the case.
async fn explain(
    client: &RoomClient,
    room: &str,
    e: roomkey_rooms::RoomError,
    what: &str,
) -> anyhow::Error {
    let names = [room.to_owned()];
    if client.list_rooms(&names).await.is_ok_and(|r| r.is_empty()) {
        return NotFound(format!(
            "room {} does not exist, so it has no dispatches (the server answered: {e})",
            room_label(room)
        ))
        .into();
    }
    dispatch_error(e, room, what)
}

fn dispatch_error(e: roomkey_rooms::RoomError, room: &str, what: &str) -> anyhow::Error {
    anyhow::Error::new(e).context(format!("{what} in room {}", room_label(room)))
}

/// Whether a failed CreateDispatch may have been carried out all the same: the request may
/// have reached the server (a lost connection, no answer in time, a gateway's 5xx), and the
/// client does not send it again, as that could start a second job.
fn may_have_reached_the_server(e: &roomkey_rooms::RoomError) -> bool {
    use roomkey_rooms::RoomError as E;
    match e {
        E::Unreachable { .. } | E::Timeout { .. } | E::Decode { .. } => true,
        E::Server { status, .. } => *status >= 500,
        _ => false,
    }
}

/// Makes sure `room`, which roomkey has just created or found, has a dispatch of every agent
/// in `agents`, and says on stderr what it did. LiveKit dispatches a token's (or CreateRoom's)
/// agents only when the room is created: for a room that already existed, this creates the
/// dispatches the join would silently not make. Then watches up to `wait` for workers.
pub(crate) async fn ensure_agents(
    client: &RoomClient,
    room: &str,
    agents: &[RoomAgentDispatch],
    wait: Duration,
) -> Result<()> {
    if agents.is_empty() {
        return Ok(());
    }
    let ensured = client
        .ensure_dispatches(room, agents)
        .await
        .with_context(|| {
            format!(
                "the room {} exists, but its agents could not be dispatched",
                room_label(room)
            )
        })?;
    for EnsuredDispatch {
        dispatch,
        created,
        metadata_differs,
        ..
    } in &ensured
    {
        let agent = safe(&dispatch.agent_name);
        let id = safe(&dispatch.id);
        if *created {
            eprintln!(
                "roomkey: room {} existed, so LiveKit would not dispatch agent {agent} on join; dispatched it ({id})",
                room_label(room)
            );
        } else if *metadata_differs {
            warn(&format!(
                "room {} already has a dispatch of agent {agent} ({id}) with other job metadata; none was added. To dispatch it anew: roomkey dispatch delete {} {id}, then run this again",
                room_label(room),
                safe(room)
            ));
        } else {
            eprintln!(
                "roomkey: room {} has a dispatch of agent {agent} ({id}){}",
                room_label(room),
                if dispatch.jobs.is_empty() {
                    String::new()
                } else {
                    format!("; none added, its job is {}", job_summary(dispatch))
                }
            );
        }
    }
    let dispatches: Vec<AgentDispatch> = ensured.into_iter().map(|e| e.dispatch).collect();
    watch_or_warn(client, room, &dispatches, wait).await;
    Ok(())
}

/// [`watch_jobs`], where a failure to look is a warning: the dispatches exist whatever the
/// watch finds, and failing the command would invite a repeat that adds nothing, or worse.
async fn watch_or_warn(
    client: &RoomClient,
    room: &str,
    dispatches: &[AgentDispatch],
    wait: Duration,
) -> Vec<AgentDispatch> {
    match watch_jobs(client, room, dispatches, wait).await {
        Ok(seen) => seen,
        Err(e) => {
            let ids: Vec<String> = dispatches.iter().map(|d| safe(&d.id)).collect();
            warn(&format!(
                "dispatched ({}), but could not watch for a worker taking the job: {e}",
                ids.join(", ")
            ));
            dispatches.to_vec()
        }
    }
}

/// Waits up to `wait` for a worker to take each dispatch, then says which did and warns about
/// each that no worker took. Returns the dispatches as last seen.
async fn watch_jobs(
    client: &RoomClient,
    room: &str,
    dispatches: &[AgentDispatch],
    wait: Duration,
) -> Result<Vec<AgentDispatch>, roomkey_rooms::RoomError> {
    if wait.is_zero() || dispatches.is_empty() {
        return Ok(dispatches.to_vec());
    }
    let ids: Vec<String> = dispatches.iter().map(|d| d.id.clone()).collect();
    let seen = client.wait_for_jobs(room, &ids, wait).await?;
    for d in &seen {
        if d.jobs.is_empty() {
            warn(&format!(
                "no worker has taken the job of agent {} ({}) within {:?}; the dispatch stays and a worker may still take it. Is a worker registered for agent_name {:?} running against {}?",
                safe(&d.agent_name),
                safe(&d.id),
                wait,
                d.agent_name,
                client.base_url()
            ));
        } else {
            eprintln!(
                "roomkey: agent {}: job {}",
                safe(&d.agent_name),
                job_summary(d)
            );
        }
    }
    for d in dispatches {
        if !seen.iter().any(|s| s.id == d.id) {
            warn(&format!(
                "the dispatch {} of agent {} is gone (deleted meanwhile?)",
                safe(&d.id),
                safe(&d.agent_name)
            ));
        }
    }
    Ok(seen)
}

/// `AJ_… (JS_RUNNING, worker AW_…)` for each of a dispatch's jobs.
fn job_summary(d: &AgentDispatch) -> String {
    d.jobs
        .iter()
        .map(|j| {
            let mut s = format!("{} ({}", safe(&j.id), safe(&j.status));
            if !j.worker_id.is_empty() {
                s.push_str(&format!(", worker {}", safe(&j.worker_id)));
            }
            if !j.error.is_empty() {
                s.push_str(&format!(", error: {}", safe(&j.error)));
            }
            s.push(')');
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_dispatches(dispatches: &[AgentDispatch]) {
    let rows: Vec<Vec<String>> = dispatches
        .iter()
        .map(|d| {
            vec![
                safe(&d.id),
                safe(&d.agent_name),
                if d.jobs.is_empty() {
                    "none yet".to_owned()
                } else {
                    d.jobs
                        .iter()
                        .map(|j| format!("{} {}", safe(&j.id), safe(&j.status)))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                if d.created_at_ns == 0 {
                    "-".into()
                } else {
                    rfc3339(d.created_at_ns.div_euclid(1_000_000_000))
                },
                if d.deployment.is_empty() {
                    "-".into()
                } else {
                    safe(&d.deployment)
                },
                safe(&d.metadata),
            ]
        })
        .collect();
    print_table(
        &["ID", "AGENT", "JOBS", "CREATED", "DEPLOYMENT", "METADATA"],
        &rows,
    );
}
