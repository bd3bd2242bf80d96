//! Agent dispatch from roomkey's tokens as the real server does it, seen by a real agent worker:
//! PyPI `livekit-agents` 1.8.9 (`interop/agents/worker.py`, through
//! [`roomkey_interop::AgentWorker`]) registered for one explicit agent name with `livekit-server`
//! v1.13.5, and real participants (the realtime SDK driver `interop/python/participant.py`)
//! joining with tokens minted by roomkey whose `roomConfig.agents` names that agent.
//!
//! What is measured:
//! - the join that creates a room dispatches exactly one job per `roomConfig.agents` entry to a
//!   worker registered for that name, in that room, with the entry's metadata byte for byte
//!   (unicode and JSON-looking text included); the job comes within a second of the join, and no
//!   second one follows;
//! - a later join into the existing room, with a token carrying the same `roomConfig`, adds no
//!   job: the server reads `roomConfig` only when a join creates the room (`pkg/rtc/room.go`);
//! - the worker ends each job at once and the server records it as `JS_SUCCESS`; the worker
//!   exits cleanly on SIGTERM.
//!
//! Each test starts a server and a worker of its own (inside `interop/netns`).

use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use roomkey_interop::paths::{interop_dir, python_program, require_file};
use roomkey_interop::process::run_json;
use roomkey_interop::{AgentWorker, LiveKitServer};
use roomkey_token::{
    AccessToken, ApiSecret, KeyPair, RoomAgentDispatch, RoomConfiguration, VideoGrant,
};
use serde_json::{Value, json};

/// The agent name the test worker registers for.
const AGENT: &str = "roomkey-test-agent";
/// Job metadata with unicode and JSON-looking text, which must reach the worker verbatim.
const METADATA: &str = r#"{"lang":"de","note":"grüße ✓"}"#;
/// Longest a driver run may take, whatever its script says.
const DRIVER_LIMIT: Duration = Duration::from_secs(120);
/// How long the job of a new room may take to reach the worker (it takes well under a second).
const JOB_WITHIN: Duration = Duration::from_secs(30);
/// How long a "no further job" wait lasts after the expected job came: the server dispatches
/// within a second, and a worker that refused or failed would see a retry within seconds.
const NO_MORE_JOBS: Duration = Duration::from_secs(5);
/// How long the second participant stays in the room: past two of the server's 3 s batches of
/// participant updates (`subscriberUpdateInterval`), so the first one sees it, and past
/// [`NO_MORE_JOBS`], so a job its join caused would have come while it is there.
const SECOND_STAYS_SECS: u64 = 7;

fn key(server: &LiveKitServer) -> KeyPair {
    let (k, s) = server.key();
    KeyPair::new(k, &ApiSecret::new(s)).expect("key pair")
}

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
        .sign(&key(server))
        .expect("roomkey mints the token")
}

/// Runs the Python participant driver on `script` against `ws_url` and returns its report.
fn drive(ws_url: &str, mut script: Value) -> Value {
    script["url"] = json!(ws_url);
    let driver = require_file(
        interop_dir().join("python/participant.py"),
        "the participant driver",
    );
    let mut cmd = Command::new(python_program());
    cmd.arg(&driver)
        .current_dir(interop_dir())
        .env("PYTHONUNBUFFERED", "1");
    let body = serde_json::to_vec(&script).expect("script serializes");
    let report = run_json(cmd, &body, DRIVER_LIMIT, "participant.py");
    eprintln!("participant.py report: {report:#}");
    assert_eq!(
        report["timed_out"], false,
        "the script ran past its deadline: {report:#}"
    );
    report
}

/// [`drive`] on a thread of its own, for a participant that stays while the test goes on.
fn drive_in_background(ws_url: &str, script: Value) -> JoinHandle<Value> {
    let ws_url = ws_url.to_owned();
    std::thread::spawn(move || drive(&ws_url, script))
}

/// The result of the step with `id`.
fn step<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["results"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["id"] == id))
        .unwrap_or_else(|| panic!("no step {id:?} in {report:#}"))
}

/// Waits (10 s at most) until the server's log has a line containing every one of `parts`.
fn wait_for_server_log_line(server: &LiveKitServer, parts: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = server.log_text();
        if let Some(line) = log.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "the server logged no line with {parts:?} within 10 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
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
    wait_for_server_log_line(
        &server,
        &["job ended", &job.id, r#""status": "JS_SUCCESS""#],
    );

    // The control: another identity joins the room that now exists, with the same roomConfig.
    let second = drive(
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
