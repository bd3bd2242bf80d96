//! A recording proxy in front of the real LiveKit server: every request is passed on unchanged
//! and kept with the real server's answer, so a test can check what a client sent (its tokens,
//! its bodies, how often it tried) while the real server is the one that answers.
//!
//! HTTP/1.1 with `Content-Length` bodies only (what reqwest sends), one thread per connection,
//! every read and every forwarded call bounded.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

/// How long the proxy waits for a client's next bytes.
const READ_WITHIN: Duration = Duration::from_secs(30);

/// One request and the real server's answer.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub status: u16,
    pub answer: Vec<u8>,
}

impl Exchange {
    /// A request header (the first of that name, case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The RoomService (or other Twirp service) method, `CreateRoom` for
    /// `/twirp/livekit.RoomService/CreateRoom`.
    pub fn rpc(&self) -> Option<&str> {
        self.target
            .strip_prefix("/twirp/")
            .and_then(|rest| rest.split_once('/'))
            .map(|(_, method)| method)
    }

    /// The bearer token sent.
    pub fn token(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }

    /// The bearer token's payload, decoded (not verified: the real server did that).
    pub fn token_payload(&self) -> Value {
        let token = self.token().expect("a bearer token");
        let payload = token.split('.').nth(1).expect("a JWT");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url payload");
        serde_json::from_slice(&bytes).expect("JSON payload")
    }

    /// The request body as JSON.
    pub fn request_json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON request body")
    }
}

/// A running proxy. Dropping it stops accepting connections.
#[derive(Debug)]
pub struct Recorder {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Exchange>>>,
    stop: Arc<AtomicBool>,
}

impl Recorder {
    /// Starts a proxy on a free loopback port in front of `upstream` (`http://host:port`).
    pub fn start(upstream: &str) -> Recorder {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the recording proxy");
        let addr = listener.local_addr().expect("proxy address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_log, thread_stop) = (log.clone(), stop.clone());
        let upstream = upstream.trim_end_matches('/').to_owned();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (log, upstream) = (thread_log.clone(), upstream.clone());
                std::thread::spawn(move || serve_connection(stream, &upstream, &log));
            }
        });
        Recorder { addr, log, stop }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Every exchange so far, in the order the answers came back.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().expect("proxy log").clone()
    }

    /// The exchanges of one method.
    pub fn calls(&self, rpc: &str) -> Vec<Exchange> {
        self.exchanges()
            .into_iter()
            .filter(|e| e.rpc() == Some(rpc))
            .collect()
    }

    /// How many requests for one method were passed on.
    pub fn attempts(&self, rpc: &str) -> usize {
        self.calls(rpc).len()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

fn serve_connection(stream: TcpStream, upstream: &str, log: &Mutex<Vec<Exchange>>) {
    let _ = stream.set_read_timeout(Some(READ_WITHIN));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("proxy HTTP client");
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut words = line.split_whitespace();
        let (Some(method), Some(target)) = (words.next(), words.next()) else {
            return;
        };
        let (method, target) = (method.to_owned(), target.to_owned());
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        assert!(
            !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding")),
            "the recording proxy reads Content-Length bodies only"
        );
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }

        let mut request = client.request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method"),
            format!("{upstream}{target}"),
        );
        for (k, v) in &headers {
            let skip = ["host", "content-length", "connection"];
            if !skip.iter().any(|s| k.eq_ignore_ascii_case(s)) {
                request = request.header(k.as_str(), v.as_str());
            }
        }
        let answer = request
            .body(body.clone())
            .send()
            .unwrap_or_else(|e| panic!("the real server did not answer {method} {target}: {e}"));
        let status = answer.status();
        let content_type = answer
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = answer.bytes().expect("the real server's answer").to_vec();
        log.lock().expect("proxy log").push(Exchange {
            method,
            target,
            headers,
            body,
            status: status.as_u16(),
            answer: bytes.clone(),
        });
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or("Status"),
            bytes.len()
        );
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&bytes).is_err() {
            return;
        }
    }
}
