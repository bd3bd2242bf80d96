//! Agent dispatch from roomkey's tokens as the real server does it, seen by a real agent worker:
//! PyPI `livekit-agents` 1.8.9 (`interop/agents/worker.py`, through
//! [`roomkey_interop::AgentWorker`]) registered for one explicit agent name with `livekit-server`
//! v1.13.5, and real participants (the realtime SDK driver `interop/python/participant.py`)
//! joining with tokens minted by roomkey whose `roomConfig.agents` names that agent.
//!
//! What is measured:
//! - the join that creates a room dispatches exactly one job per `roomConfig.agents` entry to a
//!   worker registered for that name, in that room, with the entry's metadata byte for byte
//!   (unicode and JSON-looking text included), and no second one follows (the job came about a
//!   second after the join in the runs measured; the test waits up to `JOB_WITHIN` for it);
//! - a later join into the existing room, with a token carrying the same `roomConfig`, adds no
//!   job: the server reads `roomConfig` only when a join creates the room (`pkg/rtc/room.go`);
//! - the worker ends each job at once and the server records it as `JS_SUCCESS`; the worker
//!   exits cleanly on SIGTERM;
//! - for a room created beforehand, `token create --create-room-if-not-exists --dispatch-agent`
//!   leads to exactly one job (through AgentDispatchService), and running it again to none;
//! - `roomkey dispatch create/list/delete` round trip, with the worker's job in `list`;
//! - a dispatch no worker takes is kept, and roomkey says so after its bounded wait;
//! - `roomkey serve` with a room-creating profile: one job for a new room and one for an
//!   existing room however often asked (twelve requests at once included), the audit line's
//!   `agents` field for each case, a 403
//!   naming the field for an agent outside the profile's list.
//!
//! Dispatches reach the worker within a second; `ListDispatch` shows the job 1 to 5 s later.
//!
//! Each test starts a server and a worker of its own (inside `interop/netns`).

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use roomkey_interop::agent_worker::Job;
use roomkey_interop::cli::roomkey;
use roomkey_interop::livekit::http_client;
use roomkey_interop::process::{drive_participants, step};
use roomkey_interop::{AgentWorker, LiveKitServer, RoomkeyServe};
use roomkey_token::{AccessToken, RoomAgentDispatch, RoomConfiguration, VideoGrant};
use serde_json::{Value, json};

/// The agent name the test worker registers for.
const AGENT: &str = "roomkey-test-agent";
/// Job metadata with unicode and JSON-looking text, which must reach the worker verbatim.
const METADATA: &str = r#"{"lang":"de","note":"grüße ✓"}"#;
/// How long the job of a new room may take to reach the worker (it takes well under a second).
const JOB_WITHIN: Duration = Duration::from_secs(30);
/// How long a "no further job" wait lasts after the expected job came: the server dispatches
/// within a second, and a worker that refused or failed would see a retry within seconds.
const NO_MORE_JOBS: Duration = Duration::from_secs(5);
/// How long the second participant stays in the room: past two of the server's 3 s batches of
/// participant updates (`subscriberUpdateInterval`), so the first one sees it, and past
/// [`NO_MORE_JOBS`], so a job its join caused would have come while it is there.
const SECOND_STAYS_SECS: u64 = 7;

/// A join token for `identity` in `room` whose `roomConfig` dispatches [`AGENT`] with
/// [`METADATA`].
fn dispatching_token(server: &LiveKitServer, identity: &str, room: &str) -> String {
    let mut config = RoomConfiguration::default();
    config.agents = vec![RoomAgentDispatch::new(AGENT, METADATA)];
    AccessToken::new()
        .with_identity(identity)
        .with_video(VideoGrant::join(room))
        .with_room_config(config)
        .with_ttl(Duration::from_secs(600))
        .sign(&server.key_pair())
        .expect("roomkey mints the token")
}

/// [`drive`] on a thread of its own, for a participant that stays while the test goes on.
fn drive_in_background(ws_url: &str, script: Value) -> JoinHandle<Value> {
    let ws_url = ws_url.to_owned();
    std::thread::spawn(move || drive_participants(&ws_url, script))
}

#[test]
fn a_join_that_creates_the_room_dispatches_the_token_agent_once_and_a_later_join_adds_none() {
    let server = LiveKitServer::start();
    let mut worker = AgentWorker::start(&server, AGENT);
    let room = "agents-new-room";

    // The first participant creates the room and stays until the second has been seen, so the
    // second join is into the room the first one created.
    let first = drive_in_background(
        &server.ws_url(),
        json!({
            "deadline": 100,
            "participants": {"first": {"token": dispatching_token(&server, "first", room)}},
            "steps": [
                {"op": "connect", "who": "first", "id": "first"},
                {"op": "wait_participant", "who": "first", "identity": "second", "timeout": 60,
                 "id": "saw-second"},
                {"op": "sleep", "seconds": 1},
            ],
        }),
    );

    let jobs = worker.wait_for_jobs(1, JOB_WITHIN);
    assert_eq!(
        jobs.len(),
        1,
        "the join that created {room} dispatched one job to {AGENT} within {JOB_WITHIN:?}: {jobs:#?}"
    );
    std::thread::sleep(NO_MORE_JOBS);
    let jobs = worker.jobs();
    assert_eq!(jobs.len(), 1, "exactly one job, no second one: {jobs:#?}");
    let job = &jobs[0];
    assert_eq!(job.agent_name, AGENT, "{job:#?}");
    assert_eq!(job.room, room, "{job:#?}");
    assert_eq!(
        job.metadata, METADATA,
        "the metadata arrives verbatim: {job:#?}"
    );
    assert_eq!(job.worker_id, worker.worker_id(), "{job:#?}");
    assert!(job.id.starts_with("AJ_"), "a job id: {job:#?}");
    assert!(
        job.dispatch_id.starts_with("AD_"),
        "the job belongs to a dispatch made from the token's roomConfig: {job:#?}"
    );
    assert!(job.room_sid.starts_with("RM_"), "{job:#?}");
    // The worker ended the job without joining; the server counts it as a success.
    server.wait_for_log_line(&["job ended", &job.id, r#""status": "JS_SUCCESS""#]);

    // The control: another identity joins the room that now exists, with the same roomConfig.
    let second = drive_participants(
        &server.ws_url(),
        json!({
            "deadline": 60,
            "participants": {"second": {"token": dispatching_token(&server, "second", room)}},
            "steps": [
                {"op": "connect", "who": "second", "id": "second"},
                {"op": "wait_participant", "who": "second", "identity": "first", "timeout": 20,
                 "id": "saw-first"},
                {"op": "sleep", "seconds": SECOND_STAYS_SECS},
            ],
        }),
    );
    assert_eq!(step(&second, "second")["ok"], true, "{second:#}");
    assert_eq!(
        step(&second, "saw-first")["seen"],
        true,
        "the second join went into the room the first one created: {second:#}"
    );
    let after = worker.jobs();
    assert_eq!(
        after, jobs,
        "a join into an existing room adds no job, whatever its token's roomConfig says"
    );

    let first = first.join().expect("the first participant's driver thread");
    assert_eq!(step(&first, "first")["ok"], true, "{first:#}");
    assert_eq!(step(&first, "saw-second")["seen"], true, "{first:#}");

    let status = worker.stop();
    let log = worker.log_text();
    assert!(
        status.success() && log.contains("roomkey-agent-worker: stopped"),
        "the worker exits cleanly on SIGTERM ({status}):\n{log}"
    );
}

/// The worker's jobs in `room`.
fn jobs_in(worker: &AgentWorker, room: &str) -> Vec<Job> {
    worker
        .jobs()
        .into_iter()
        .filter(|j| j.room == room)
        .collect()
}

/// Waits for the first job in `room`, then [`NO_MORE_JOBS`] more, and returns the room's jobs:
/// exactly one is what every dispatch here should lead to.
fn settled_jobs_in(worker: &AgentWorker, room: &str) -> Vec<Job> {
    let deadline = Instant::now() + JOB_WITHIN;
    while jobs_in(worker, room).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(NO_MORE_JOBS);
    jobs_in(worker, room)
}

#[test]
fn token_create_dispatches_into_a_room_that_existed_once_however_often_it_runs() {
    let server = LiveKitServer::start();
    let worker = AgentWorker::start(&server, AGENT);
    let room = "agents-existing-room";
    roomkey(&server, &["room", "create", room]).expect_code(0);

    let mint = || {
        roomkey(
            &server,
            &[
                "token",
                "create",
                "--identity",
                "alice",
                "--room",
                room,
                "--create-room-if-not-exists",
                "--dispatch-agent",
                AGENT,
                "--job-metadata",
                METADATA,
                // ListDispatch shows a job 1 to 5 s after the worker has it; on a busy machine
                // the default 10 s may not be enough to see it.
                "--wait-for-worker",
                "30s",
            ],
        )
        .expect_code(0)
    };
    let first = mint();
    first.says(&[
        &format!("roomkey: room {room} already exists ("),
        &format!(
            "roomkey: room {room} existed, so LiveKit would not dispatch agent {AGENT} on join; dispatched it (AD_"
        ),
        &format!("roomkey: agent {AGENT}: job AJ_"),
    ]);
    assert_eq!(server.validate(first.stdout.trim()).0, 200, "{first:#?}");
    let jobs = settled_jobs_in(&worker, room);
    assert_eq!(
        jobs.len(),
        1,
        "exactly one job for the existing room: {jobs:#?}"
    );
    assert_eq!(
        (jobs[0].agent_name.as_str(), jobs[0].metadata.as_str()),
        (AGENT, METADATA),
        "{jobs:#?}"
    );
    assert!(
        first.stderr.contains(&jobs[0].dispatch_id) && first.stderr.contains(&jobs[0].id),
        "roomkey names the dispatch and the job the worker got: {first:#?} {jobs:#?}"
    );

    // The same command again: the room has the dispatch, none is added.
    let again = mint();
    again.says(&[&format!(
        "roomkey: room {room} has a dispatch of agent {AGENT} ({}); none added, its job is {}",
        jobs[0].dispatch_id, jobs[0].id
    )]);
    assert!(!again.stderr.contains("dispatched it"), "{again:#?}");
    assert_eq!(settled_jobs_in(&worker, room), jobs, "still one job");

    // Without --create-room-if-not-exists roomkey touches no room, and says what that means.
    let plain = roomkey(
        &server,
        &[
            "token",
            "create",
            "--identity",
            "bob",
            "--room",
            room,
            "--dispatch-agent",
            AGENT,
        ],
    )
    .expect_code(0);
    plain.says(&[&format!(
        "the token's agents ({AGENT}) come only if this participant's join creates the room"
    )]);
}

#[test]
fn dispatch_create_list_delete_round_trip_with_a_real_job() {
    let server = LiveKitServer::start();
    let worker = AgentWorker::start(&server, AGENT);
    let room = "agents-round-trip";
    roomkey(&server, &["room", "create", room]).expect_code(0);

    let created = roomkey(
        &server,
        &[
            "dispatch",
            "create",
            room,
            "--agent",
            AGENT,
            "--metadata",
            METADATA,
            "--json",
        ],
    )
    .expect_code(0);
    let dispatch = created.json();
    let id = dispatch["id"].as_str().expect("a dispatch id").to_owned();
    assert!(id.starts_with("AD_"), "{created:#?}");
    assert_eq!(
        (
            &dispatch["agent_name"],
            &dispatch["room"],
            &dispatch["metadata"]
        ),
        (&json!(AGENT), &json!(room), &json!(METADATA)),
        "{created:#?}"
    );
    let jobs = settled_jobs_in(&worker, room);
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(
        (jobs[0].dispatch_id.as_str(), jobs[0].metadata.as_str()),
        (id.as_str(), METADATA)
    );
    // create waited for the worker: its answer already shows the job.
    assert_eq!(
        dispatch["jobs"][0]["id"],
        jobs[0].id.as_str(),
        "{created:#?}"
    );
    assert_eq!(
        dispatch["jobs"][0]["worker_id"],
        worker.worker_id(),
        "{created:#?}"
    );

    let listed = roomkey(&server, &["dispatch", "list", room, "--json"])
        .expect_code(0)
        .json();
    let mine: Vec<&Value> = listed
        .as_array()
        .expect("a list")
        .iter()
        .filter(|d| d["id"] == id.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{listed:#}");
    assert_eq!(mine[0]["jobs"][0]["id"], jobs[0].id.as_str(), "{listed:#}");
    let table = roomkey(&server, &["dispatch", "list", room]).expect_code(0);
    assert!(
        table.stdout.starts_with("ID ")
            && table.stdout.contains(&id)
            && table.stdout.contains(&jobs[0].id),
        "{table:#?}"
    );

    roomkey(&server, &["dispatch", "delete", room, &id]).expect_code(0);
    let listed = roomkey(&server, &["dispatch", "list", room, "--json"])
        .expect_code(0)
        .json();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["id"] != id.as_str()),
        "deleted: {listed:#}"
    );
    roomkey(&server, &["dispatch", "delete", room, &id])
        .expect_code(1)
        .says(&[
            &format!("room {room} has no dispatch {id}"),
            "dispatch ID not found",
        ]);
    assert_eq!(jobs_in(&worker, room), jobs, "deleting starts no job");
}

#[test]
fn a_dispatch_no_worker_takes_is_created_and_roomkey_says_so() {
    let server = LiveKitServer::start();
    // A worker runs, for another agent name: the server knows workers, none for this name.
    let worker = AgentWorker::start(&server, AGENT);
    let room = "agents-no-worker";
    let absent = "roomkey-absent-agent";
    let run = roomkey(
        &server,
        &[
            "dispatch",
            "create",
            room,
            "--agent",
            absent,
            "--wait-for-worker",
            "3s",
            "--json",
        ],
    )
    .expect_code(0);
    let id = run.json()["id"].as_str().expect("id").to_owned();
    run.says(&[&format!(
        "no worker has taken the job of agent {absent} ({id}) within 3s; the dispatch stays"
    )]);
    let listed = roomkey(&server, &["dispatch", "list", room, "--json"])
        .expect_code(0)
        .json();
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id.as_str())
        .unwrap_or_else(|| panic!("the dispatch is kept: {listed:#}"));
    assert_eq!(mine["jobs"], json!([]), "{mine:#}");
    // A sanity check of the set-up rather than of roomkey: the worker registered for the
    // other name was not handed this job.
    assert!(
        jobs_in(&worker, room).is_empty(),
        "the other agent's worker got nothing"
    );

    // A room that does not exist: the server's ListDispatch has no room to ask ("no response
    // from servers", 503); roomkey says what that means.
    roomkey(&server, &["dispatch", "list", "agents-no-such-room"])
        .expect_code(1)
        .says(&["room agents-no-such-room does not exist"]);
}

/// `roomkey serve` with two profiles: `host` creates rooms and may dispatch the test agents,
/// `guest` does not create rooms.
fn serve_config(server: &LiveKitServer) -> String {
    format!(
        r#"livekit_url = "{ws}"
room_service_url = "{http}"

[rate_limit]
per_caller_per_minute = 0
per_ip_per_minute = 0

[[caller]]
name = "host"
key_sha256 = "{host}"
profile = "host"

[[caller]]
name = "guest"
key_sha256 = "{guest}"
profile = "guest"

[profile.host]
rooms = ["*"]
identity = "request"
fields = ["participant_identity", "room_config.agents"]
agents = ["roomkey-test-*"]
create_room = true

[profile.guest]
rooms = ["*"]
identity = "request"
fields = ["participant_identity", "room_config.agents"]
agents = ["roomkey-test-*"]
"#,
        ws = server.ws_url(),
        http = server.url(),
        host = roomkey_server::hash_key(HOST_KEY),
        guest = roomkey_server::hash_key(GUEST_KEY),
    )
}

const HOST_KEY: &str = "rk_test_agents_host_Qm4Zt8Lw2Xc6";
const GUEST_KEY: &str = "rk_test_agents_guest_Ve7Nr3Ks9Bp1";

/// How many token requests for one existing room arrive at once.
const RUSH: usize = 12;

/// `POST /api/token` as `caller_key`, asking for `agent` (with [`METADATA`]) in `room`.
fn serve_token(serve: &RoomkeyServe, caller_key: &str, room: &str, agent: &str) -> (u16, Value) {
    let reply = http_client()
        .post(serve.url("/api/token"))
        .bearer_auth(caller_key)
        .json(&json!({
            "room_name": room,
            "participant_identity": "p1",
            "room_config": {"agents": [{"agent_name": agent, "metadata": METADATA}]},
        }))
        .send()
        .expect("roomkey serve answers");
    let status = reply.status().as_u16();
    (status, reply.json().unwrap_or(Value::Null))
}

#[test]
fn serve_dispatches_for_room_creating_profiles_and_refuses_agents_outside_the_list() {
    let server = LiveKitServer::start();
    let worker = AgentWorker::start(&server, AGENT);
    let dir = roomkey_interop::paths::scratch_dir("agents-serve");
    let config = dir.join("roomkey.toml");
    std::fs::write(&config, serve_config(&server)).expect("write the config");
    let (key, secret) = server.key();
    let serve = RoomkeyServe::start(
        &["--config", config.to_str().expect("UTF-8 path")],
        &[("LIVEKIT_API_KEY", key), ("LIVEKIT_API_SECRET", secret)],
    );
    // The audit line (roomkey serve's default text format) says what became of the agents.
    let audit = |room: &str, agents: &str| {
        serve.wait_for_log_line(&[
            "token issued",
            &format!("room=\"{room}\""),
            &format!("agents=\"{agents}\""),
        ])
    };

    // A new room: created with the agent, which comes once.
    let (status, answer) = serve_token(&serve, HOST_KEY, "serve-new", AGENT);
    assert_eq!(status, 201, "{answer:#}");
    audit("serve-new", "in_room");
    let jobs = settled_jobs_in(&worker, "serve-new");
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0].metadata, METADATA, "{jobs:#?}");

    // A room that existed: roomkey dispatches the agent into it, once however often asked.
    roomkey(&server, &["room", "create", "serve-existing"]).expect_code(0);
    let (status, answer) = serve_token(&serve, HOST_KEY, "serve-existing", AGENT);
    assert_eq!(status, 201, "{answer:#}");
    audit("serve-existing", "dispatched");
    let jobs = settled_jobs_in(&worker, "serve-existing");
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0].metadata, METADATA, "{jobs:#?}");
    let (status, answer) = serve_token(&serve, HOST_KEY, "serve-existing", AGENT);
    assert_eq!(status, 201, "{answer:#}");
    audit("serve-existing", "in_room");
    assert_eq!(
        settled_jobs_in(&worker, "serve-existing"),
        jobs,
        "still one job"
    );

    // Participants all at once into a room that existed: still one dispatch. (This server
    // answers CreateRoom for one room one call at a time, which staggered these requests by
    // about 1.5 ms in the runs measured, so this passes without serve's per-room lock too;
    // that lock covers the window left, and its unit test in roomkey-server shows it.)
    roomkey(&server, &["room", "create", "serve-rush"]).expect_code(0);
    let start = std::sync::Arc::new(std::sync::Barrier::new(RUSH));
    let rush: Vec<_> = (0..RUSH)
        .map(|_| {
            let (url, start) = (serve.url("/api/token"), start.clone());
            std::thread::spawn(move || {
                let client = http_client();
                start.wait();
                client
                    .post(url)
                    .bearer_auth(HOST_KEY)
                    .json(&json!({
                        "room_name": "serve-rush",
                        "room_config": {"agents": [{"agent_name": AGENT, "metadata": METADATA}]},
                    }))
                    .send()
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    for request in rush {
        assert_eq!(request.join().expect("no panic").ok(), Some(201));
    }
    let dispatches = roomkey(&server, &["dispatch", "list", "serve-rush", "--json"])
        .expect_code(0)
        .json();
    // Besides the server's own unnamed dispatch of a room created without agents.
    let ours = dispatches
        .as_array()
        .map(|all| all.iter().filter(|d| d["agent_name"] == AGENT).count());
    assert_eq!(ours, Some(1), "{dispatches:#}");

    // An agent outside the profile's list: 403 naming the field, and nothing is dispatched.
    let (status, answer) = serve_token(&serve, HOST_KEY, "serve-refused", "billing");
    assert_eq!(status, 403, "{answer:#}");
    assert_eq!(
        answer["error"]["field"], "room_config.agents[0].agent_name",
        "{answer:#}"
    );
    let listed = roomkey(&server, &["room", "list", "serve-refused", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(listed, json!([]), "a refused request creates no room");

    // A profile that does not create rooms: the token is issued, the line says what it means.
    let (status, answer) = serve_token(&serve, GUEST_KEY, "serve-guest", AGENT);
    assert_eq!(status, 201, "{answer:#}");
    audit("serve-guest", "only_if_join_creates_room");
    assert!(jobs_in(&worker, "serve-guest").is_empty());
}
