//! A real LiveKit agent worker, started for a test, that records the jobs the server dispatches.
//!
//! Which agents a room gets is decided by the server (a token's `roomConfig.agents` when a join
//! creates the room, `AgentDispatchService.CreateDispatch`), and the only faithful witness of a
//! dispatch is a worker the server hands the job to. [`AgentWorker::start`] runs
//! `interop/agents/worker.py`, PyPI `livekit-agents` 1.8.9 with no AI plugins (its venv
//! `interop/.venv-agents` comes from `interop/setup.sh`), registered for one explicit agent name
//! against a [`LiveKitServer`]. The worker accepts every job, appends one JSON line per job to a
//! file of its own and ends the job at once (without joining the room, so the test's rooms hold
//! only the test's participants); [`AgentWorker::jobs`] reads that file.
//!
//! An explicit agent name matters: a worker registered without one takes the default dispatch
//! (empty agent name) that the server gives every new room whose `roomConfig` names no agents,
//! and would see jobs of every test's rooms on the same server.
//!
//! Every wait is bounded. Dropping the worker stops it (SIGTERM, then a kill); when the test is
//! failing, its log is kept and its last lines are printed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::LiveKitServer;
use crate::netns::require_test_network;
use crate::paths::{agents_python_program, interop_dir, require_file, scratch_dir};

/// The pinned framework (`interop/agents/requirements.txt`).
pub const LIVEKIT_AGENTS_VERSION: &str = "1.8.9";

/// How long the worker may take to register with the server. Importing the framework and
/// warming its job runner takes a few seconds on an idle machine; a shared 2-core machine in the
/// middle of a build is much slower.
const REGISTERED_WITHIN: Duration = Duration::from_secs(60);

/// How long a stopped worker may take to exit after SIGTERM before it is killed: it drains
/// running jobs for up to 10 s and then closes (`DRAIN_SECONDS` in worker.py).
const STOP_WITHIN: Duration = Duration::from_secs(20);

/// How often the waits look at the worker's files.
const POLL: Duration = Duration::from_millis(50);

/// What worker.py prints, followed by a JSON object, once the server has registered it.
const REGISTERED_LINE: &str = "roomkey-agent-worker: registered ";

/// One job the server dispatched to the worker, as the worker recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The job's id (`AJ_…`), one per dispatch and worker.
    pub id: String,
    /// The dispatch it came from (`AD_…`): a `roomConfig.agents` entry or a CreateDispatch.
    pub dispatch_id: String,
    /// The agent name the dispatch named.
    pub agent_name: String,
    /// The room's name.
    pub room: String,
    /// The room's sid (`RM_…`): a room closed and created again under the same name has another.
    pub room_sid: String,
    /// The dispatch's metadata, verbatim.
    pub metadata: String,
    /// The worker that got the job (`AW_…`).
    pub worker_id: String,
    /// When the worker's entrypoint ran, in Unix seconds.
    pub time: f64,
}

impl Job {
    /// Reads one record of the jobs file.
    pub fn from_record(record: &Value) -> Result<Job, String> {
        let text = |key: &str| -> Result<String, String> {
            record[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("no string {key:?} in the job record {record}"))
        };
        Ok(Job {
            id: text("id")?,
            dispatch_id: text("dispatch_id")?,
            agent_name: text("agent_name")?,
            room: text("room")?,
            room_sid: text("room_sid")?,
            metadata: text("metadata")?,
            worker_id: text("worker_id")?,
            time: record["time"]
                .as_f64()
                .ok_or_else(|| format!("no number \"time\" in the job record {record}"))?,
        })
    }
}

/// Parses a jobs file's text: one JSON record per complete line. A last line without its
/// newline is one the worker is still writing (it writes each record in one call, so this is
/// rare) and is left for the next read.
pub fn parse_jobs(text: &str) -> Result<Vec<Job>, String> {
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    complete
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let record: Value = serde_json::from_str(line)
                .map_err(|e| format!("a job record is not JSON ({e}): {line}"))?;
            Job::from_record(&record)
        })
        .collect()
}

/// What the worker said when it registered: the JSON after [`REGISTERED_LINE`], from the first
/// complete line that has it.
pub fn registration(log: &str) -> Option<Value> {
    let complete = &log[..log.rfind('\n')?];
    complete
        .lines()
        .find_map(|line| line.strip_prefix(REGISTERED_LINE))
        .and_then(|json| serde_json::from_str(json).ok())
}

/// The worker's process, and how it exited once it has.
#[derive(Debug)]
struct Process {
    child: Child,
    exited: Option<ExitStatus>,
}

impl Process {
    /// How it exited, if it has (reaping it).
    fn poll(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }
}

/// A running agent worker. Dropping it stops it.
#[derive(Debug)]
pub struct AgentWorker {
    // Behind a lock so that the `&self` waits can notice that it exited.
    process: Mutex<Process>,
    agent_name: String,
    worker_id: String,
    jobs: PathBuf,
    log: PathBuf,
}

impl AgentWorker {
    /// Starts a worker for `agent_name` against `server` and waits (bounded) until the server
    /// has registered it: from then on, rooms created with a dispatch for that name get a job.
    /// Panics, with the worker's log, when it exits or does not register in time, and when this
    /// process is not in the test network namespace.
    pub fn start(server: &LiveKitServer, agent_name: &str) -> AgentWorker {
        require_test_network();
        let python = agents_python_program();
        let script = require_file(interop_dir().join("agents/worker.py"), "the agent worker");
        static SERIAL: AtomicUsize = AtomicUsize::new(0);
        let stem = format!(
            "{agent_name}-{}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        let dir = scratch_dir("agents");
        let jobs = dir.join(format!("{stem}.jobs.jsonl"));
        let log = dir.join(format!("{stem}.log"));
        let _ = std::fs::remove_file(&jobs);
        let log_file =
            File::create(&log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let (api_key, api_secret) = server.key();
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .arg("--agent-name")
            .arg(agent_name)
            .arg("--jobs")
            .arg(&jobs)
            .arg("--url")
            .arg(server.ws_url())
            .arg("--api-key")
            .arg(api_key)
            .current_dir(interop_dir())
            // The secret through the environment, not the command line that `ps` shows.
            .env("LIVEKIT_API_SECRET", api_secret)
            // worker.py sets it too; here it also holds for anything the venv's Python starts.
            .env("LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE", "0")
            .env("PYTHONUNBUFFERED", "1")
            .env_remove("LIVEKIT_URL")
            .env_remove("LIVEKIT_API_KEY")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file handle"))
            .stderr(log_file);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let mut worker = AgentWorker {
            process: Mutex::new(Process {
                child,
                exited: None,
            }),
            agent_name: agent_name.to_owned(),
            worker_id: String::new(),
            jobs,
            log,
        };
        worker.wait_registered();
        worker
    }

    fn wait_registered(&mut self) {
        let started = Instant::now();
        let deadline = started + REGISTERED_WITHIN;
        loop {
            if let Some(status) = self.exited() {
                panic!(
                    "the agent worker exited ({status}) before it registered; its log:\n{}",
                    self.log_tail(60)
                );
            }
            if let Some(reg) = registration(&self.log_text()) {
                assert_eq!(
                    reg["agent_name"], self.agent_name,
                    "the worker registered for another agent name: {reg}"
                );
                self.worker_id = reg["worker_id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no worker_id in the registration {reg}"))
                    .to_owned();
                eprintln!(
                    "agent worker {} registered as {} in {:.1?}",
                    self.agent_name,
                    self.worker_id,
                    started.elapsed()
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the agent worker did not register within {REGISTERED_WITHIN:?}; its log:\n{}",
                self.log_tail(60)
            );
            std::thread::sleep(POLL);
        }
    }

    /// The agent name it is registered for.
    pub fn agent_name(&self) -> &str {
        &self.agent_name
    }

    /// The id the server gave it (`AW_…`).
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// The file it appends a JSON line to for each job.
    pub fn jobs_path(&self) -> &Path {
        &self.jobs
    }

    /// Every job it has recorded so far, in the order it got them. Panics on a record that does
    /// not parse: worker.py writes each one whole.
    pub fn jobs(&self) -> Vec<Job> {
        let text = match std::fs::read_to_string(&self.jobs) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => panic!("cannot read {}: {e}", self.jobs.display()),
        };
        parse_jobs(&text).unwrap_or_else(|e| panic!("{}: {e}", self.jobs.display()))
    }

    /// Waits until it has recorded at least `n` jobs and returns them all, or returns what it
    /// has when `within` has passed: a test asserts on the count. Panics, with its log, when the
    /// worker has exited, since no job can come then.
    pub fn wait_for_jobs(&self, n: usize, within: Duration) -> Vec<Job> {
        let deadline = Instant::now() + within;
        loop {
            let jobs = self.jobs();
            if jobs.len() >= n || Instant::now() >= deadline {
                return jobs;
            }
            if let Some(status) = self.exited() {
                // One last look: it may have recorded jobs just before it exited.
                let jobs = self.jobs();
                assert!(
                    jobs.len() >= n,
                    "the agent worker exited ({status}) while the test waited for {n} jobs \
                     ({} recorded); its log:\n{}",
                    jobs.len(),
                    self.log_tail(60)
                );
                return jobs;
            }
            std::thread::sleep(POLL);
        }
    }

    /// How it exited, if it has.
    fn exited(&self) -> Option<ExitStatus> {
        self.process.lock().expect("process lock").poll()
    }

    /// Everything it has logged so far (its stdout and stderr).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        crate::livekit::last_lines(&self.log_text(), lines)
    }

    /// Stops it as [`Drop`] does and returns how it exited: success when SIGTERM ended it
    /// cleanly, a signal when it had to be killed. Its log stays readable until it is dropped.
    pub fn stop(&mut self) -> ExitStatus {
        self.terminate()
    }

    /// SIGTERM (the worker drains and closes), then a kill when it is still running after
    /// [`STOP_WITHIN`].
    fn terminate(&mut self) -> ExitStatus {
        // Even after a panic while the lock was held: the process must still be stopped.
        let process = self
            .process
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(status) = process.poll() {
            return status;
        }
        // std has no SIGTERM and this crate has no unsafe code: procps' `kill` sends it.
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(process.child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + if sent { STOP_WITHIN } else { Duration::ZERO };
        let status = loop {
            match process.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                _ => {
                    let _ = process.child.kill();
                    break process
                        .child
                        .wait()
                        .expect("wait for the killed agent worker");
                }
            }
        };
        process.exited = Some(status);
        status
    }
}

impl Drop for AgentWorker {
    fn drop(&mut self) {
        let status = self.terminate();
        if std::thread::panicking() {
            eprintln!(
                "--- agent worker {} ({status}) log kept at {} (last lines); jobs file {} ---\n{}\n---",
                self.agent_name,
                self.log.display(),
                self.jobs.display(),
                self.log_tail(60)
            );
        } else {
            let _ = std::fs::remove_file(&self.log);
            let _ = std::fs::remove_file(&self.jobs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"agent_name": "a", "dispatch_id": "AD_1", "id": "AJ_1", "metadata": "{\"note\":\"grüße ✓\"}", "room": "r", "room_sid": "RM_1", "time": 1796344936.5, "worker_id": "AW_1"}"#;

    #[test]
    fn a_job_record_reads_back_with_its_metadata_verbatim() {
        let jobs = parse_jobs(&format!("{RECORD}\n")).expect("parses");
        assert_eq!(
            jobs,
            vec![Job {
                id: "AJ_1".into(),
                dispatch_id: "AD_1".into(),
                agent_name: "a".into(),
                room: "r".into(),
                room_sid: "RM_1".into(),
                metadata: r#"{"note":"grüße ✓"}"#.into(),
                worker_id: "AW_1".into(),
                time: 1796344936.5,
            }]
        );
    }

    #[test]
    fn a_line_still_being_written_is_left_for_the_next_read() {
        let text = format!("{RECORD}\n{}", &RECORD[..40]);
        assert_eq!(parse_jobs(&text).expect("parses").len(), 1);
        assert!(parse_jobs(&RECORD[..40]).expect("parses").is_empty());
        assert!(parse_jobs("").expect("parses").is_empty());
    }

    #[test]
    fn a_broken_record_is_an_error() {
        assert!(parse_jobs("{\"id\": \"AJ_1\"}\n").is_err());
        assert!(parse_jobs("not json\n").is_err());
    }

    #[test]
    fn the_registration_is_found_once_its_line_is_complete() {
        let line = r#"roomkey-agent-worker: registered {"agent_name": "a", "worker_id": "AW_x"}"#;
        let log = format!("INFO livekit.agents: starting worker\n{line}");
        assert_eq!(registration(&log), None, "the line has no newline yet");
        let reg = registration(&format!("{log}\n")).expect("registered");
        assert_eq!(reg["worker_id"], "AW_x");
        assert_eq!(registration("INFO registered worker\n"), None);
    }
}
