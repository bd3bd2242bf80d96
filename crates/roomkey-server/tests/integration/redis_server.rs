//! A Redis server of a test's own: Debian's `redis-server` on a free loopback port, with a
//! directory of its own, no persistence, stopped (and its directory removed) when dropped.
//!
//! The tests that need one fail when it is not installed, with the command that installs it;
//! they never skip. (roomkey-server is not one of the workspace's default members, so a plain
//! `cargo test` does not run them; `scripts/test` installs Redis and runs them.)
//!
//! Also compiled into roomkey-server's unit tests (`src/limits/shared.rs`), so it uses nothing
//! of the integration tests' `common`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The `redis-server` to run: `ROOMKEY_REDIS_SERVER`, else Debian's, else one on `PATH`.
pub fn redis_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ROOMKEY_REDIS_SERVER") {
        return PathBuf::from(path);
    }
    let debian = Path::new("/usr/bin/redis-server");
    if debian.is_file() {
        return debian.to_path_buf();
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("redis-server"))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "redis-server is not installed, and the shared rate-limit tests start one: run \
             `bash scripts/install-redis` (in {}), which installs Debian's redis-server \
             (scripts/test does), or set ROOMKEY_REDIS_SERVER to a redis-server binary",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .canonicalize()
                .map_or_else(|_| "the repository".to_owned(), |p| p.display().to_string())
        )
    })
}

/// How to start the server.
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    /// `requirepass`.
    pub password: Option<String>,
    /// Also listen on a Unix socket in the server's directory.
    pub unix_socket: bool,
}

/// A running (or stopped, or paused) `redis-server`.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    options: RedisOptions,
}

impl RedisServer {
    /// Starts one without a password.
    pub fn start() -> RedisServer {
        RedisServer::start_with(RedisOptions::default())
    }

    /// Starts one with these options, on a free port of 127.0.0.1.
    pub fn start_with(options: RedisOptions) -> RedisServer {
        static SERVERS: AtomicUsize = AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("roomkey-redis-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut server = RedisServer {
            child: None,
            port: 0,
            dir,
            options,
        };
        // A port found free can be taken before the server binds it: then try another.
        for _ in 0..5 {
            server.port = free_port();
            if server.spawn() {
                return server;
            }
        }
        panic!(
            "redis-server did not start; its log: {}",
            std::fs::read_to_string(server.dir.join("redis.log")).unwrap_or_default()
        );
    }

    /// Starts the process on `self.port`; false if it exited (its port was taken).
    fn spawn(&mut self) -> bool {
        let mut command = Command::new(redis_server_binary());
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--protected-mode", "no", "--loglevel", "warning"])
            .arg("--logfile")
            .arg(self.dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(password) = &self.options.password {
            command.args(["--requirepass", password]);
        }
        if self.options.unix_socket {
            command
                .arg("--unixsocket")
                .arg(self.socket_path())
                .args(["--unixsocketperm", "700"]);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", redis_server_binary().display()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if let Ok(reply) = self.command_inner(&["PING"]) {
                // Up: PONG, or NOAUTH when it wants a password.
                if reply.contains("PONG") || reply.contains("NOAUTH") {
                    self.child = Some(child);
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "redis-server on port {} did not answer within 10 s",
            self.port
        );
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The loopback address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The Unix socket (with [`RedisOptions::unix_socket`]).
    pub fn socket_path(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// Stops the server (SIGKILL: its data goes, as after a crash without persistence).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again, on the same port and directory, empty.
    pub fn restart(&mut self) {
        self.stop();
        assert!(
            self.spawn(),
            "redis-server did not start again on port {}",
            self.port
        );
    }

    /// SIGSTOP: connections stay open and nothing is answered, as with a server that hangs.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`RedisServer::pause`].
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the server is running");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal}");
    }

    /// Runs a command (authenticating first when the server has a password) and returns the
    /// first line of its answer, e.g. `:1` or `$5`.
    pub fn command(&self, args: &[&str]) -> String {
        self.command_inner(args)
            .unwrap_or_else(|e| panic!("redis {args:?}: {e}"))
    }

    fn command_inner(&self, args: &[&str]) -> std::io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&self.addr(), Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut send = |args: &[&str]| -> std::io::Result<String> {
            let mut request = format!("*{}\r\n", args.len());
            for a in args {
                request.push_str(&format!("${}\r\n{a}\r\n", a.len()));
            }
            stream.write_all(request.as_bytes())?;
            let mut line = String::new();
            reader.read_line(&mut line)?;
            Ok(line.trim_end().to_owned())
        };
        if let Some(password) = &self.options.password {
            if args != ["PING"] {
                send(&["AUTH", password])?;
            }
        }
        send(args)
    }

    /// How many keys the server holds.
    pub fn keys(&self) -> usize {
        let reply = self.command(&["DBSIZE"]);
        reply.trim_start_matches(':').parse().unwrap_or(0)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
