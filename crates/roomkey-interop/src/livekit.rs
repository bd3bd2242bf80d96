//! The real LiveKit server, started for a test.
//!
//! [`LiveKitServer::start`] writes a configuration (see [`server_config`]) that keeps every
//! packet on the machine, starts the `livekit-server` binary that `interop/setup.sh` built on
//! free ports, and waits until `GET /` answers `200 OK` (what LiveKit's own integration tests
//! poll). Dropping it stops the server; when the test is failing, the server's log is kept and
//! its last lines are printed.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::netns::{TestNetwork, require_test_network};
use crate::paths::{livekit_server_binary, scratch_dir};

/// The pinned server: module `github.com/livekit/livekit-server`, program `cmd/server`.
pub const LIVEKIT_SERVER_VERSION: &str = "1.13.5";

/// The key every test server knows unless told otherwise.
pub const API_KEY: &str = "APIroomkeytest";
/// Its secret (40 bytes: the server warns below 32).
pub const API_SECRET: &str = "roomkey-test-secret-0123456789abcdefghij";

/// How long the server may take to answer its first `GET /`.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// What a test wants of its server; [`Default`] is one key, rooms created on join.
#[derive(Debug, Clone)]
pub struct LiveKitOptions {
    /// `keys`: API key → secret.
    pub keys: Vec<(String, String)>,
    /// `room.auto_create`: a join (or CreateDispatch) creates a missing room.
    pub auto_create: bool,
    /// `webhook`: the key that signs them and where they go.
    pub webhook: Option<(String, Vec<String>)>,
    /// A name for the log file.
    pub label: String,
}

impl Default for LiveKitOptions {
    fn default() -> Self {
        LiveKitOptions {
            keys: vec![(API_KEY.to_owned(), API_SECRET.to_owned())],
            auto_create: true,
            webhook: None,
            label: "livekit".to_owned(),
        }
    }
}

/// The ports one server uses.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// HTTP and WebSocket signalling (`port`).
    pub http: u16,
    /// The single UDP port WebRTC media is muxed on (`rtc.udp_port`).
    pub udp: u16,
}

/// The server's configuration, as JSON (which is YAML, and the server parses YAML strictly:
/// an unknown key fails its start-up, so a typo here cannot pass unnoticed).
///
/// Everything that would make the server or its clients talk to the outside is off:
/// - it binds 127.0.0.1 only (with `--keys` and no bind address it would listen everywhere);
/// - `rtc.node_ip` is given, so the server does not ask public STUN servers for its address;
/// - `rtc.use_external_ip` is off (it would run that discovery anyway);
/// - `rtc.stun_servers` replaces the public defaults that clients are handed, with a loopback
///   address where nothing listens;
/// - `rtc.tcp_port: 0` turns off the ICE/TCP listener, which binds every interface;
/// - `turn.enabled` is off.
///
/// Media candidates: the UDP mux skips loopback unless `enable_loopback_candidate`; the
/// clients gather on the namespace's veth, so the server's veth address is offered too.
pub fn server_config(options: &LiveKitOptions, ports: Ports, network: TestNetwork) -> Value {
    let keys: serde_json::Map<String, Value> = options
        .keys
        .iter()
        .map(|(k, s)| (k.clone(), Value::String(s.clone())))
        .collect();
    let mut config = json!({
        "port": ports.http,
        "bind_addresses": ["127.0.0.1"],
        "keys": keys,
        "rtc": {
            "udp_port": ports.udp,
            "tcp_port": 0,
            "use_external_ip": false,
            "node_ip": network.server_addr.to_string(),
            "enable_loopback_candidate": true,
            "ips": {"includes": ["127.0.0.1/32", format!("{}/32", network.server_addr)]},
            "stun_servers": ["127.0.0.1:3478"],
        },
        "turn": {"enabled": false},
        "room": {"auto_create": options.auto_create},
        "logging": {"level": "debug"},
    });
    if let Some((api_key, urls)) = &options.webhook {
        config["webhook"] = json!({"api_key": api_key, "urls": urls});
    }
    config
}

/// A running LiveKit server. Dropping it stops it.
#[derive(Debug)]
pub struct LiveKitServer {
    child: Child,
    ports: Ports,
    options: LiveKitOptions,
    log: PathBuf,
    config: PathBuf,
}

impl LiveKitServer {
    /// Starts a server with [`LiveKitOptions::default`].
    pub fn start() -> LiveKitServer {
        Self::start_with(LiveKitOptions::default())
    }

    /// Starts a server and waits until it is ready. Panics, with its log, when it does not
    /// become ready, and when this process is not in the test network namespace.
    pub fn start_with(options: LiveKitOptions) -> LiveKitServer {
        let network = require_test_network();
        let binary = livekit_server_binary();
        let ports = Ports {
            http: free_tcp_port(),
            udp: free_udp_port(),
        };
        static SERIAL: AtomicUsize = AtomicUsize::new(0);
        let stem = format!(
            "{}-{}-{}",
            options.label,
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        let dir = scratch_dir("livekit");
        let config = dir.join(format!("{stem}.yaml"));
        let log = dir.join(format!("{stem}.log"));
        let text = serde_json::to_string_pretty(&server_config(&options, ports, network))
            .expect("config serializes");
        std::fs::write(&config, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
        let log_file =
            File::create(&log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let child = Command::new(&binary)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file handle"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut server = LiveKitServer {
            child,
            ports,
            options,
            log,
            config,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let client = http_client();
        let deadline = Instant::now() + READY_WITHIN;
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("poll the server process") {
                panic!(
                    "the LiveKit server exited ({status}) before it was ready; its log:\n{}",
                    self.log_tail(80)
                );
            }
            match client.get(self.url() + "/").send() {
                Ok(answer) if answer.status().as_u16() == 200 => return,
                Ok(answer) => {
                    last = format!("{} {}", answer.status(), answer.text().unwrap_or_default())
                }
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the LiveKit server did not answer 200 on GET / within {READY_WITHIN:?} (last: {last}); its log:\n{}",
            self.log_tail(80)
        );
    }

    /// `http://127.0.0.1:PORT`, for RoomService and `/rtc/validate`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.http)
    }

    /// `ws://127.0.0.1:PORT`, what clients connect to.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.ports.http)
    }

    /// The ports in use.
    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// The first configured key and its secret.
    pub fn key(&self) -> (&str, &str) {
        let (k, s) = self.options.keys.first().expect("a server has a key");
        (k, s)
    }

    /// [`LiveKitServer::key`] as roomkey's key pair, for minting.
    pub fn key_pair(&self) -> roomkey_token::KeyPair {
        let (k, s) = self.key();
        roomkey_token::KeyPair::new(k, &roomkey_token::ApiSecret::new(s)).expect("key pair")
    }

    /// The configuration file the server was started with.
    pub fn config_path(&self) -> &PathBuf {
        &self.config
    }

    /// Everything the server has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        last_lines(&self.log_text(), lines)
    }

    /// Waits (10 s at most, then panics) until the log has a line containing every one of
    /// `parts`, and returns it.
    pub fn wait_for_log_line(&self, parts: &[&str]) -> String {
        crate::process::wait_for_line("the LiveKit server", || self.log_text(), parts)
    }

    /// Asks `GET /rtc/validate` about a token: the status and the body.
    pub fn validate(&self, token: &str) -> (u16, String) {
        let answer = http_client()
            .get(self.url() + "/rtc/validate")
            .query(&[("access_token", token)])
            .send()
            .unwrap_or_else(|e| panic!("GET /rtc/validate: {e}"));
        let status = answer.status().as_u16();
        (status, answer.text().expect("validate answer body"))
    }
}

impl Drop for LiveKitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- LiveKit server log kept at {} (last lines) ---\n{}\n---",
                self.log.display(),
                self.log_tail(60)
            );
        } else {
            let _ = std::fs::remove_file(&self.log);
            let _ = std::fs::remove_file(&self.config);
        }
    }
}

/// A blocking HTTP client with bounded waits, for the tests' own requests.
pub fn http_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_tcp_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind a free TCP port")
        .port()
}

/// A UDP port free on every interface right now (the server's UDP mux binds them all).
pub fn free_udp_port() -> u16 {
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.local_addr())
        .expect("bind a free UDP port")
        .port()
}

/// The last `lines` lines of `text`.
pub fn last_lines(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Value {
        let network = TestNetwork {
            server_addr: Ipv4Addr::new(192, 0, 2, 1),
            client_addr: Ipv4Addr::new(192, 0, 2, 2),
        };
        let options = LiveKitOptions {
            webhook: Some((
                API_KEY.to_owned(),
                vec!["http://127.0.0.1:9/hook".to_owned()],
            )),
            ..LiveKitOptions::default()
        };
        server_config(
            &options,
            Ports {
                http: 7880,
                udp: 7882,
            },
            network,
        )
    }

    #[test]
    fn the_config_keeps_every_packet_on_the_machine() {
        let c = config();
        assert_eq!(
            c["bind_addresses"],
            json!(["127.0.0.1"]),
            "binds loopback only"
        );
        assert_eq!(
            c["rtc"]["node_ip"], "192.0.2.1",
            "node_ip set: no STUN discovery"
        );
        assert_eq!(
            c["rtc"]["use_external_ip"], false,
            "no external-IP discovery"
        );
        assert_eq!(
            c["rtc"]["tcp_port"], 0,
            "the all-interfaces ICE/TCP listener is off"
        );
        assert_eq!(c["turn"]["enabled"], false);
        let stun = c["rtc"]["stun_servers"]
            .as_array()
            .expect("stun_servers set");
        assert!(
            !stun.is_empty(),
            "an empty list would leave the public defaults"
        );
        for s in stun {
            let host = s
                .as_str()
                .expect("host:port")
                .rsplit_once(':')
                .expect("port")
                .0;
            let ip: Ipv4Addr = host.parse().expect("an address, not a name");
            assert!(ip.is_loopback(), "STUN server {s} is not loopback");
        }
        for url in c["webhook"]["urls"].as_array().expect("webhook urls") {
            assert!(url.as_str().expect("url").starts_with("http://127.0.0.1:"));
        }
    }

    #[test]
    fn the_config_uses_the_given_ports_and_keys() {
        let c = config();
        assert_eq!(c["port"], 7880);
        assert_eq!(c["rtc"]["udp_port"], 7882);
        assert_eq!(c["keys"][API_KEY], API_SECRET);
        assert_eq!(c["room"]["auto_create"], true);
        assert!(
            API_SECRET.len() >= 32,
            "the server warns about shorter secrets"
        );
    }
}
