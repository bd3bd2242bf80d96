//! Running a helper program (a Node or Python script, the Go helper, a browser driver) to its
//! end for a test, bounded: a helper that hangs fails the test that ran it, with its stderr,
//! instead of hanging the whole run.

use std::io::{Read, Write as _};
use std::process::{Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::paths::setup_hint;

/// Runs `cmd` with `input` on its stdin (then closed) and returns its exit status, stdout and
/// stderr. Panics when it cannot start (with the setup hint), when writing its input fails, and
/// (after killing it) when it runs longer than `within`, showing its stderr. `what` names it in
/// those messages.
pub fn run_bounded(mut cmd: Command, input: &[u8], within: Duration, what: &str) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}; {}", setup_hint()));
    // Written and read on threads of their own, so that neither side waits on a full pipe.
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let stdout = read_to_end(child.stdout.take().expect("piped stdout"));
    let stderr = read_to_end(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what} ran longer than {within:?} and was killed; its stderr:\n{}",
                String::from_utf8_lossy(&joined(stderr))
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = joined(stderr);
    if let Err(e) = writer.join().expect("stdin writer thread") {
        panic!(
            "writing to {what} failed ({e}); its stderr:\n{}",
            String::from_utf8_lossy(&stderr)
        );
    }
    Output {
        status,
        stdout: joined(stdout),
        stderr,
    }
}

/// Like [`run_bounded`], for a helper that prints one JSON value: panics, with its stderr and
/// the setup hint, unless it exits successfully and prints JSON; returns that value.
pub fn run_json(cmd: Command, input: &[u8], within: Duration, what: &str) -> Value {
    let out = run_bounded(cmd, input, within, what);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stderr}\n{}",
        out.status,
        setup_hint()
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what} printed no JSON ({e}):\n{}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn read_to_end(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn joined(reader: JoinHandle<Vec<u8>>) -> Vec<u8> {
    reader.join().expect("pipe reader thread")
}

/// Longest a run of the participant driver may take, whatever its script says.
pub const PARTICIPANT_DRIVER_LIMIT: Duration = Duration::from_secs(120);

/// Runs the Python participant driver (`interop/python/participant.py`, the realtime SDK) on
/// `script` against the server at `ws_url`, and returns its report; panics if the script ran
/// past its own deadline.
pub fn drive_participants(ws_url: &str, mut script: Value) -> Value {
    script["url"] = Value::from(ws_url);
    let driver = crate::paths::require_file(
        crate::paths::interop_dir().join("python/participant.py"),
        "the participant driver",
    );
    let mut cmd = Command::new(crate::paths::python_program());
    cmd.arg(&driver)
        .current_dir(crate::paths::interop_dir())
        .env("PYTHONUNBUFFERED", "1");
    let body = serde_json::to_vec(&script).expect("script serializes");
    let report = run_json(cmd, &body, PARTICIPANT_DRIVER_LIMIT, "participant.py");
    eprintln!("participant.py report: {report:#}");
    assert_eq!(
        report["timed_out"], false,
        "the script ran past its deadline: {report:#}"
    );
    report
}

/// The result of the step with `id` in a participant driver's report, searching inside
/// `parallel` steps too; panics if there is none.
pub fn step<'a>(report: &'a Value, id: &str) -> &'a Value {
    fn find<'a>(results: &'a Value, id: &str) -> Option<&'a Value> {
        results.as_array()?.iter().find_map(|r| {
            if r["id"] == id {
                Some(r)
            } else {
                find(&r["results"], id)
            }
        })
    }
    find(&report["results"], id).unwrap_or_else(|| panic!("no step {id:?} in {report:#}"))
}

/// Waits (10 s at most, then panics) until `log()` has a line containing every one of
/// `parts`, and returns it; `who` names the process in the panic, which shows the log.
pub fn wait_for_line(who: &str, log: impl Fn() -> String, parts: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = log();
        if let Some(line) = text.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "{who} logged no line with {parts:?} within 10 s; its log ends:\n{}",
            crate::livekit::last_lines(&text, 40)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_reaches_the_program_and_its_output_comes_back() {
        let out = run_bounded(
            Command::new("cat"),
            b"hello",
            Duration::from_secs(10),
            "cat",
        );
        assert!(out.status.success());
        assert_eq!(out.stdout, b"hello");
    }

    #[test]
    #[should_panic(expected = "sleep ran longer than")]
    fn a_program_past_its_time_is_killed_and_fails_the_test() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        run_bounded(cmd, b"", Duration::from_millis(200), "sleep");
    }
}
