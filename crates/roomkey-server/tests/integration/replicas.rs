//! Replicas as processes: three `roomkey serve` (the binary of this build) on one Redis admit
//! one limit and burst between them for a flood spread evenly over them, where in memory each
//! admits its own; and `roomkey serve` that cannot use its Redis does not start, and says why.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::common::*;
use crate::redis_server::{RedisOptions, RedisServer};

/// The `roomkey` binary of this build, next to the test's `deps/` folder. `cargo test
/// --workspace` (scripts/test) builds it; `cargo test -p roomkey-server` alone does not, so it
/// must not be missing or older than the sources it is built from.
fn roomkey_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps");
    let binary = profile_dir.join(format!("roomkey{}", std::env::consts::EXE_SUFFIX));
    let rebuild = "build it with `cargo build -p roomkey` (scripts/test runs `cargo test \
                   --workspace`, which builds it)";
    assert!(
        binary.is_file(),
        "{} is missing: {rebuild}",
        binary.display()
    );
    let built = modified(&binary);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository");
    for crate_dir in [
        "roomkey",
        "roomkey-server",
        "roomkey-token",
        "roomkey-rooms",
    ] {
        let src = root.join("crates").join(crate_dir).join("src");
        if let Some(newer) = newest_file(&src).filter(|(t, _)| *t > built) {
            panic!(
                "{} is older than {}: {rebuild}",
                binary.display(),
                newer.1.display()
            );
        }
    }
    binary
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The most recently modified file under `dir`.
fn newest_file(dir: &Path) -> Option<(SystemTime, PathBuf)> {
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let candidate = if path.is_dir() {
            newest_file(&path)
        } else {
            Some((modified(&path), path))
        };
        if let Some(c) = candidate {
            if newest.as_ref().is_none_or(|n| c.0 > n.0) {
                newest = Some(c);
            }
        }
    }
    newest
}

/// A folder of this test's own for configuration files, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("roomkey-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `roomkey serve --config PATH` with the test's LiveKit credentials.
fn serve_command(config: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(roomkey_binary());
    command
        .args(["serve", "--config"])
        .arg(config)
        .env_remove("LIVEKIT_URL")
        .env_remove("ROOMKEY_LISTEN")
        .env_remove("ROOMKEY_REDIS_PASSWORD")
        .env_remove("RUST_LOG")
        .env("LIVEKIT_API_KEY", API_KEY)
        .env("LIVEKIT_API_SECRET", API_SECRET)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// A running `roomkey serve`, killed when dropped.
struct Replica {
    child: Child,
    addr: SocketAddr,
}

impl Replica {
    /// Starts one and waits (at most 10 s) until it answers `/healthz`.
    async fn start(config: &Path) -> Replica {
        let mut child = serve_command(config, &[]).spawn().expect("roomkey serve");
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let stderr = child.stderr.take().unwrap();
        let seen = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                seen.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = loop {
            let banner = lines.lock().unwrap().iter().find_map(|l| {
                l.strip_prefix("roomkey: listening on http://")
                    .and_then(|a| a.parse::<SocketAddr>().ok())
            });
            if let Some(addr) = banner {
                break addr;
            }
            assert!(
                Instant::now() < deadline && child.try_wait().unwrap().is_none(),
                "roomkey serve did not start: {:?}",
                lines.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let replica = Replica { child, addr };
        let client = reqwest::Client::new();
        while client
            .get(format!("http://{addr}/healthz"))
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "roomkey serve does not answer: {:?}",
                lines.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        replica
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A flood of `n` token requests from one caller, spread evenly over the replicas, nine at a
/// time: how many were issued and how long it took.
async fn flood(replicas: &[Replica], n: usize) -> (usize, Duration) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut issued = 0;
    let mut sent = 0;
    while sent < n {
        let batch = (sent..n.min(sent + 9)).map(|i| {
            client
                .post(format!(
                    "http://{}/api/token",
                    replicas[i % replicas.len()].addr
                ))
                .bearer_auth(BACKEND_KEY)
                .json(&serde_json::json!({}))
                .timeout(Duration::from_secs(5))
                .send()
        });
        for reply in futures_util::future::join_all(batch).await {
            let status = reply.expect("an answer").status().as_u16();
            assert!([201, 429].contains(&status), "{status}");
            issued += usize::from(status == 201);
        }
        sent = n.min(sent + 9);
    }
    (issued, started.elapsed())
}

#[tokio::test]
async fn three_replicas_on_one_redis_admit_one_limit_between_them() {
    let redis = RedisServer::start();
    let scratch = Scratch::new("replicas");
    // A request a second and a burst of 10, per caller.
    let memory = caller_rate_limit(&base_config("listen = \"127.0.0.1:0\""), 60, 10);
    let shared = memory.replacen(
        "[rate_limit]\n",
        &format!(
            "[rate_limit]\nstore = \"redis\"\nredis_url = \"{}\"\n",
            redis.url()
        ),
        1,
    );
    let config = scratch.write("shared.toml", &shared);
    let replicas = [
        Replica::start(&config).await,
        Replica::start(&config).await,
        Replica::start(&config).await,
    ];
    let (issued, took) = flood(&replicas, 90).await;
    let most = 10 + took.as_secs() as usize + 1;
    assert!(
        (10..=most).contains(&issued),
        "shared: {issued} issued in {took:?}, at most {most}"
    );
    drop(replicas);

    // In memory, each replica admits its own burst: about three times as many.
    let config = scratch.write("memory.toml", &memory);
    let replicas = [
        Replica::start(&config).await,
        Replica::start(&config).await,
        Replica::start(&config).await,
    ];
    let (in_memory, took) = flood(&replicas, 90).await;
    assert!(
        in_memory >= 30,
        "memory: {in_memory} issued in {took:?}, against {issued} shared"
    );
    // Seen with --nocapture.
    eprintln!("a flood of 90 over 3 replicas: {issued} issued shared, {in_memory} in memory");
}

/// Runs `roomkey serve` that is expected to stop by itself (within 15 s): its status and
/// standard error.
fn run_to_end(config: &Path, env: &[(&str, &str)]) -> (ExitStatus, String) {
    let mut child = serve_command(config, env).spawn().expect("roomkey serve");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("roomkey serve did not stop by itself");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr)
}

#[test]
fn roomkey_serve_does_not_start_on_a_wrong_password_or_an_unreachable_redis() {
    let password = "test-only-redis-password-Lw9c";
    let redis = RedisServer::start_with(RedisOptions {
        password: Some(password.into()),
        unix_socket: false,
    });
    let scratch = Scratch::new("redis-start");
    let with_url = |url: &str| {
        base_config("listen = \"127.0.0.1:0\"").replacen(
            "[rate_limit]\n",
            &format!("[rate_limit]\nstore = \"redis\"\nredis_url = \"{url}\"\n"),
            1,
        )
    };
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = format!("redis://127.0.0.1:{closed}/0");
    let config = scratch.write("unreachable.toml", &with_url(&unreachable));
    let (status, stderr) = run_to_end(&config, &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("roomkey: error: cannot use the shared rate-limit store"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&unreachable) && stderr.contains("is Redis running there"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("listening on"),
        "a server that cannot start never says it is listening: {stderr}"
    );

    let config = scratch.write("wrong.toml", &with_url(&redis.url()));
    let wrong = "test-only-wrong-password-Zp3m";
    let (status, stderr) = run_to_end(&config, &[("ROOMKEY_REDIS_PASSWORD", wrong)]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("check the password"), "{stderr}");
    assert!(!stderr.contains(wrong), "{stderr}");
}
