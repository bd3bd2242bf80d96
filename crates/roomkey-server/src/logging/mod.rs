//! Logging for `roomkey serve`: `RUST_LOG` filtering, text or JSON lines, written to stderr by
//! a background thread.
//!
//! Two parts, both made for a server that logs one audit line per token at tens of thousands of
//! tokens a second:
//!
//! - [`json_layer`] is `tracing-subscriber`'s JSON format,
//!   `{"timestamp":"…Z","level":"INFO","fields":{"message":"…",…},"target":"…"}`, written
//!   through the sink. The one event the server logs per token, the audit line, skips it:
//!   [`write_line`] writes that line directly, byte for byte as the layer would (a test
//!   compares the two), without `tracing`'s field visitors and formatting.
//! - [`LogSink`] collects whole lines from every thread in one shared buffer, and a writer
//!   thread writes what has gathered with one `write(2)`. A request never waits on the write;
//!   it only copies its line. The writer is woken by the first line after it went idle, then
//!   lingers for `sink::LINGER` so that the lines of a busy moment go out together; under load that
//!   is at most a hundred wake-ups a second instead of one per line. Nothing is dropped: when
//!   `sink::MAX_PENDING` bytes are waiting (the output is not keeping up), loggers wait for the
//!   writer. Dropping the [`LogGuard`] writes out everything pending; lines logged after that
//!   are written directly.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{Level, Subscriber};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::json::push_str as write_json_str;

mod sink;

#[cfg(test)]
use sink::CLOSE_WAIT;
#[cfg(test)]
use sink::MAX_PENDING;
pub use sink::{LogGuard, LogSink};

/// Sets up logging for `roomkey serve`: `RUST_LOG` (default `info`), as text or JSON lines, on
/// stderr, through a [`LogSink`]. Keep the returned guard alive for as long as the server runs:
/// dropping it writes out what is pending. The [`AuditLog`] is where the server is to write its
/// audit lines: straight into the sink with JSON logs, as events otherwise.
///
/// Does nothing but return a guard (and [`AuditLog::Events`]) if a global subscriber is
/// already set.
pub fn init_logging(json: bool) -> (LogGuard, AuditLog) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (sink, guard) = LogSink::spawn(Box::new(std::io::stderr()));
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        let audit = match registry.with(json_layer(sink.clone())).try_init() {
            Ok(()) => AuditLog::Json(sink),
            Err(_) => AuditLog::Events,
        };
        return (guard, audit);
    }
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = registry
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(ansi)
                .with_writer(sink),
        )
        .try_init();
    (guard, AuditLog::Events)
}

/// Where a server's audit lines go.
///
/// Either way an audit line is an `INFO` event of target `roomkey::audit` ([`crate::audit::TARGET`]), kept or dropped by the
/// `RUST_LOG` filter of the subscriber in force like any other event. A line written straight
/// into the log writer bypasses the subscriber's other layers, if it has any.
#[derive(Debug, Clone, Default)]
pub enum AuditLog {
    /// As `tracing` events, for whatever subscriber is in force. Servers embedded in another
    /// program use this.
    #[default]
    Events,
    /// Straight into the JSON log writer that `roomkey serve` logs to, as the same JSON line
    /// [`json_layer`] would write for the event, without the cost of
    /// `tracing`'s field visitors (the audit line is written for every token).
    Json(LogSink),
}

/// `tracing-subscriber`'s JSON format writing into `sink`, without span fields (the server has
/// no spans), so that its lines have exactly the shape [`write_line`] writes.
pub fn json_layer<S>(sink: LogSink) -> impl tracing_subscriber::Layer<S>
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(sink)
}

thread_local! {
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `write` on this thread's (cleared) line buffer.
fn with_line(write: impl Fn(&mut Vec<u8>)) {
    let emit = |line: &mut Vec<u8>| {
        line.clear();
        write(line);
    };
    // An event logged while formatting another (from a `Debug` impl) gets its own buffer.
    LINE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut line) => {
            emit(&mut line);
            if line.capacity() > 64 * 1024 {
                *line = Vec::new();
            }
        }
        Err(_) => emit(&mut Vec::new()),
    });
}

/// Writes one line to `sink` without going through `tracing`, exactly as [`json_layer`] writes an
/// event of this level, target, message and fields: for the server's hot-path event (the
/// audit line), whose fields are known in advance. The caller checks that the event is enabled.
// Kept hand-written: through json_layer an issued token costs 1.9 µs more CPU (benches/handler.rs).
pub(crate) fn write_line(
    sink: &LogSink,
    now: SystemTime,
    level: Level,
    target: &str,
    message: &str,
    fields: impl Fn(&mut Fields<'_>),
) {
    with_line(|line| {
        line_start(line, now, level);
        let mut members = Fields {
            out: &mut *line,
            first: true,
        };
        members.str("message", message);
        fields(&mut members);
        line_end(line, target);
        sink.write_lines(line);
    });
}

/// A line up to its fields: `{"timestamp":"…","level":"…","fields":{`.
fn line_start(out: &mut Vec<u8>, now: SystemTime, level: Level) {
    out.extend_from_slice(b"{\"timestamp\":\"");
    write_timestamp(out, now);
    out.extend_from_slice(b"\",\"level\":\"");
    out.extend_from_slice(level.as_str().as_bytes());
    out.extend_from_slice(b"\",\"fields\":{");
}

/// The rest of a line after its fields: `},"target":"…"}` and the newline.
fn line_end(out: &mut Vec<u8>, target: &str) {
    out.extend_from_slice(b"},\"target\":");
    write_json_str(out, target);
    out.extend_from_slice(b"}\n");
}

/// The members of a line's `fields` object, written one by one.
pub(crate) struct Fields<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Fields<'_> {
    /// The name of a member written by the server's own code: a plain identifier, which needs
    /// no escaping.
    fn plain_key(&mut self, name: &'static str) {
        debug_assert!(
            name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "{name:?} is not a plain name"
        );
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A string member with a plain name.
    pub(crate) fn str(&mut self, name: &'static str, value: &str) {
        self.plain_key(name);
        write_json_str(self.out, value);
    }

    /// An unsigned number member with a plain name.
    pub(crate) fn u64(&mut self, name: &'static str, value: u64) {
        self.plain_key(name);
        push_u64(self.out, value);
    }
}

fn push_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Writes `t` as an RFC 3339 UTC time with microseconds: `2026-11-29T09:56:00.123456Z`.
fn write_timestamp(out: &mut Vec<u8>, t: SystemTime) {
    thread_local! {
        /// The second last written on this thread, and its text up to the fraction
        /// (`2026-11-29T09:56:00.`): the many lines of one second share it.
        static SECOND: Cell<(u64, [u8; 20])> = const { Cell::new((u64::MAX, [0; 20])) };
    }
    // Times before 1970 do not happen on a running server; they are written as the epoch.
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    SECOND.with(|cell| {
        let (cached, text) = cell.get();
        if cached == secs {
            out.extend_from_slice(&text);
            return;
        }
        let start = out.len();
        write_second(out, secs);
        // Always 20 bytes (years have four digits); checked rather than assumed.
        if let Ok(text) = <[u8; 20]>::try_from(&out[start..]) {
            cell.set((secs, text));
        }
    });
    push_digits(out, u64::from(since.subsec_micros()), 6);
    out.push(b'Z');
}

/// Writes the part of a timestamp up to its fraction: `2026-11-29T09:56:00.`. The calendar is
/// jiff's; a time past its range (the year 9999) is written as its last representable second.
fn write_second(out: &mut Vec<u8>, secs: u64) {
    let at = i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .unwrap_or(jiff::Timestamp::MAX);
    let t = jiff::tz::Offset::UTC.to_datetime(at);
    #[allow(clippy::cast_sign_loss)] // jiff's fields here are never negative
    let field = |v: i16| u64::from(v as u16);
    push_digits(out, field(t.year()), 4);
    out.push(b'-');
    push_digits(out, field(t.month().into()), 2);
    out.push(b'-');
    push_digits(out, field(t.day().into()), 2);
    out.push(b'T');
    push_digits(out, field(t.hour().into()), 2);
    out.push(b':');
    push_digits(out, field(t.minute().into()), 2);
    out.push(b':');
    push_digits(out, field(t.second().into()), 2);
    out.push(b'.');
}

/// Appends the last `width` decimal digits of `value`, zero-padded.
fn push_digits(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let mut buf = [b'0'; 20];
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// An output that tests can read, and can hold back (a slow terminal or pipe).
    #[derive(Clone, Default)]
    struct Capture {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<std::sync::atomic::AtomicUsize>,
        gate: Arc<Mutex<()>>,
    }

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _held = self.gate.lock().unwrap();
            self.writes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.bytes.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Capture {
        fn text(&self) -> String {
            String::from_utf8(self.bytes.lock().unwrap().clone()).unwrap()
        }
    }

    fn json_lines(capture: &Capture) -> Vec<Value> {
        capture
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn events_are_json_lines_in_tracing_subscribers_shape() {
        let capture = Capture::default();
        let (sink, guard) = LogSink::spawn(Box::new(capture.clone()));
        let subscriber = tracing_subscriber::registry().with(json_layer(sink));
        let before = SystemTime::now();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                target: "roomkey::audit",
                caller = "back\"end\n",
                ttl_s = 900u64,
                delta = -3i64,
                ok = true,
                ratio = 1.5f64,
                nan = f64::NAN,
                debug = ?vec!["a", "b"],
                "token {}",
                "issued"
            );
            tracing::warn!(
                error = &std::io::Error::other("disk \"full\"") as &dyn std::error::Error,
                "oops"
            );
        });
        let after = SystemTime::now();
        drop(guard);
        let lines = json_lines(&capture);
        assert_eq!(lines.len(), 2, "{}", capture.text());
        let audit = &lines[0];
        assert_eq!(audit["level"], "INFO");
        assert_eq!(audit["target"], "roomkey::audit");
        let fields = &audit["fields"];
        assert_eq!(fields["message"], "token issued");
        assert_eq!(fields["caller"], "back\"end\n");
        assert_eq!(fields["ttl_s"], 900);
        assert_eq!(fields["delta"], -3);
        assert_eq!(fields["ok"], true);
        assert_eq!(fields["ratio"], 1.5);
        assert_eq!(fields["nan"], Value::Null);
        assert_eq!(fields["debug"], r#"["a", "b"]"#);
        assert_eq!(lines[1]["level"], "WARN");
        assert_eq!(lines[1]["fields"]["error"], "disk \"full\"");
        assert_eq!(lines[1]["target"], module_path!());
        // The timestamp is this moment's, as RFC 3339 UTC with microseconds (equal formats
        // order as the times do).
        let stamp = audit["timestamp"].as_str().unwrap();
        let format = |t: SystemTime| {
            let mut out = Vec::new();
            write_timestamp(&mut out, t);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(stamp.len(), "2026-11-29T09:56:00.123456Z".len(), "{stamp}");
        assert!(
            format(before).as_str() <= stamp && stamp <= format(after).as_str(),
            "{stamp}"
        );
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let at = |secs: u64, micros: u32| {
            let mut out = Vec::new();
            write_timestamp(
                &mut out,
                UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros.into()),
            );
            String::from_utf8(out).unwrap()
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(1_795_946_160, 42), "2026-11-29T09:56:00.000042Z");
        // The same second again (its text is reused), the next one, and back.
        assert_eq!(at(1_795_946_160, 7), "2026-11-29T09:56:00.000007Z");
        assert_eq!(at(1_795_946_161, 0), "2026-11-29T09:56:01.000000Z");
        assert_eq!(at(1_795_946_160, 999_999), "2026-11-29T09:56:00.999999Z");
        // Past jiff's range (the year 9999): its last second, and still a well-formed time.
        assert!(
            at(253_402_300_800, 1).starts_with("9999-12-"),
            "{}",
            at(253_402_300_800, 1)
        );
        assert_eq!(
            at(11_016 * 86_400 + 86_399, 999_999),
            "2000-02-29T23:59:59.999999Z"
        );
        assert_eq!(at(47_540 * 86_400, 0), "2100-02-28T00:00:00.000000Z");
        assert_eq!(at(47_541 * 86_400, 0), "2100-03-01T00:00:00.000000Z");
        assert_eq!(at(157_113 * 86_400, 0), "2400-02-29T00:00:00.000000Z");
    }

    #[test]
    fn lines_from_many_threads_all_arrive_whole_and_in_order() {
        let capture = Capture::default();
        // A small limit, and an output held back while the loggers run, so they have to wait.
        let (sink, guard) = LogSink::spawn_with(Box::new(capture.clone()), 4096, CLOSE_WAIT);
        let held = capture.gate.lock().unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        sink.write_lines(format!("{t} {i}\n").as_bytes());
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let text = capture.text();
        let mut next = [0usize; 4];
        for line in text.lines() {
            let (t, i) = line.split_once(' ').unwrap();
            let t: usize = t.parse().unwrap();
            assert_eq!(i.parse::<usize>().unwrap(), next[t], "thread {t}");
            next[t] += 1;
        }
        assert_eq!(next, [2000; 4]);
        // Batched: far fewer writes than lines.
        let writes = capture.writes.load(std::sync::atomic::Ordering::SeqCst);
        assert!(writes < 8000, "{writes} writes for 8000 lines");
    }

    #[test]
    fn a_line_is_out_soon_without_the_guard_being_dropped() {
        let capture = Capture::default();
        let (sink, _guard) = LogSink::spawn(Box::new(capture.clone()));
        sink.write_lines(b"one\n");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while capture.text().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the line was never written"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(capture.text(), "one\n");
    }

    #[test]
    fn flush_waits_for_the_lines_queued_before_it() {
        let capture = Capture::default();
        let (sink, _guard) = LogSink::spawn(Box::new(capture.clone()));
        for i in 0..100 {
            sink.write_lines(format!("{i}\n").as_bytes());
        }
        sink.flush();
        assert_eq!(capture.text().lines().count(), 100);
    }

    #[test]
    fn dropping_the_guard_does_not_wait_forever_for_a_stuck_output() {
        // A short wait of its own: the test shows that the drop gives up (it returns, with the
        // output still stuck) after waiting that long, with no assumption about how much longer
        // a busy machine takes.
        let close_wait = Duration::from_millis(50);
        let capture = Capture::default();
        let (sink, guard) = LogSink::spawn_with(Box::new(capture.clone()), MAX_PENDING, close_wait);
        let held = capture.gate.lock().unwrap();
        sink.write_lines(b"stuck\n");
        let started = std::time::Instant::now();
        drop(guard);
        assert!(started.elapsed() >= close_wait);
        assert_eq!(capture.text(), "", "the stuck line was not written");
        drop(held);
    }

    #[test]
    fn lines_after_the_guard_is_dropped_are_written_directly() {
        let capture = Capture::default();
        let (sink, guard) = LogSink::spawn(Box::new(capture.clone()));
        sink.write_lines(b"before\n");
        drop(guard);
        assert_eq!(capture.text(), "before\n");
        sink.write_lines(b"after\n");
        assert_eq!(capture.text(), "before\nafter\n");
    }

    #[test]
    fn the_text_format_writes_through_the_sink() {
        let capture = Capture::default();
        let (sink, guard) = LogSink::spawn(Box::new(capture.clone()));
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(sink),
        );
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "roomkey::audit", identity = "alice", "token issued");
        });
        drop(guard);
        let text = capture.text();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.contains("INFO roomkey::audit: token issued identity=\"alice\""),
            "{text}"
        );
    }
}
