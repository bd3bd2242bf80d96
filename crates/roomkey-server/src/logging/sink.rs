//! [`LogSink`]: whole lines from every thread gathered in one buffer, and a writer thread that
//! writes what has gathered with one `write(2)` (see the module above for why).

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the writer waits, after the first line of a batch, for more lines to join it.
pub const LINGER: Duration = Duration::from_millis(10);

/// Bytes waiting to be written beyond which loggers wait for the writer.
pub const MAX_PENDING: usize = 8 << 20;

/// The shared end of the log writer: cheap to clone, and a `MakeWriter` for
/// `tracing-subscriber`'s text format (which writes each event with one `write_all`).
#[derive(Clone)]
pub struct LogSink {
    shared: Arc<Shared>,
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogSink").finish_non_exhaustive()
    }
}

struct Shared {
    state: Mutex<State>,
    /// Pending bytes beyond which loggers wait ([`MAX_PENDING`]).
    max_pending: usize,
    /// The longest a close or a flush waits for the writer ([`CLOSE_WAIT`]).
    close_wait: Duration,
    /// Signalled when lines arrive for an idle writer, and when the guard closes the sink.
    writer_wake: Condvar,
    /// Signalled when the writer has taken the pending lines.
    space: Condvar,
}

struct State {
    pending: Vec<u8>,
    /// Bytes queued and bytes written out since the start, for [`LogSink::flush`].
    queued: u64,
    written: u64,
    /// A flush is waiting: the writer does not linger.
    hurry: bool,
    /// The writer thread has stopped.
    finished: bool,
    writer_idle: bool,
    waiting_loggers: usize,
    closed: bool,
    /// The output, once the writer thread has stopped: later lines go straight to it.
    direct: Option<Box<dyn Write + Send>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the buffer usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits, at most `close_wait`, while `waiting` holds; the writer signals `space` after
    /// each batch and when it stops.
    fn wait_for_writer<'a>(
        &self,
        state: MutexGuard<'a, State>,
        waiting: impl FnMut(&mut State) -> bool,
    ) -> MutexGuard<'a, State> {
        self.space
            .wait_timeout_while(state, self.close_wait, waiting)
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }
}

/// Stops the writer thread when dropped, after it has written everything pending.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogGuard").finish_non_exhaustive()
    }
}

/// How long dropping the guard waits for the pending lines to be written (an output nobody
/// reads must not hold the process forever).
pub(super) const CLOSE_WAIT: Duration = Duration::from_secs(2);

impl Drop for LogGuard {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.closed = true;
        self.shared.writer_wake.notify_all();
        // Loggers waiting for room go ahead: the writer takes everything once closed.
        self.shared.space.notify_all();
        let state = self.shared.wait_for_writer(state, |s| !s.finished);
        let finished = state.finished;
        drop(state);
        if let Some(thread) = self.thread.take() {
            // A writer stuck on its output is left behind rather than waited for.
            if finished {
                let _ = thread.join();
            }
        }
    }
}

impl LogSink {
    /// Starts a writer thread for `out`.
    ///
    /// If the thread cannot be started, lines are written directly, under the sink's lock.
    pub fn spawn(out: Box<dyn Write + Send>) -> (LogSink, LogGuard) {
        Self::spawn_with(out, MAX_PENDING, CLOSE_WAIT)
    }

    pub(super) fn spawn_with(
        out: Box<dyn Write + Send>,
        max_pending: usize,
        close_wait: Duration,
    ) -> (LogSink, LogGuard) {
        let shared = Arc::new(Shared {
            max_pending,
            close_wait,
            state: Mutex::new(State {
                pending: Vec::with_capacity(64 * 1024),
                queued: 0,
                written: 0,
                hurry: false,
                finished: false,
                writer_idle: false,
                waiting_loggers: 0,
                closed: false,
                direct: None,
            }),
            writer_wake: Condvar::new(),
            space: Condvar::new(),
        });
        let for_thread = Arc::clone(&shared);
        // The thread takes `out` through this slot, so that it is still here if spawning fails.
        let slot = Arc::new(Mutex::new(Some(out)));
        let thread_slot = Arc::clone(&slot);
        let thread = std::thread::Builder::new()
            .name("roomkey-log".into())
            .spawn(move || {
                let out = thread_slot
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                if let Some(out) = out {
                    run_writer(&for_thread, out);
                }
            })
            .ok();
        if thread.is_none() {
            shared.lock().direct = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        }
        (
            LogSink {
                shared: Arc::clone(&shared),
            },
            LogGuard { shared, thread },
        )
    }

    /// Queues one or more whole lines.
    pub fn write_lines(&self, lines: &[u8]) {
        let mut state = self.shared.lock();
        if let Some(out) = state.direct.as_mut() {
            let _ = out.write_all(lines).and_then(|()| out.flush());
            return;
        }
        while state.pending.len() >= self.shared.max_pending && !state.closed {
            state.waiting_loggers += 1;
            state = self
                .shared
                .space
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.waiting_loggers -= 1;
        }
        if let Some(out) = state.direct.as_mut() {
            let _ = out.write_all(lines).and_then(|()| out.flush());
            return;
        }
        state.pending.extend_from_slice(lines);
        state.queued += lines.len() as u64;
        if state.writer_idle {
            state.writer_idle = false;
            drop(state);
            self.shared.writer_wake.notify_one();
        }
    }
}

fn run_writer(shared: &Shared, mut out: Box<dyn Write + Send>) {
    let mut batch: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        let mut state = shared.lock();
        while state.pending.is_empty() && !state.closed {
            state.writer_idle = true;
            state = shared
                .writer_wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.writer_idle = false;
        if state.pending.is_empty() {
            // Closed, and everything is out: later lines are written directly.
            let _ = out.flush();
            state.direct = Some(out);
            state.finished = true;
            drop(state);
            shared.space.notify_all();
            return;
        }
        if !state.closed && !state.hurry && state.pending.len() < shared.max_pending / 2 {
            drop(state);
            std::thread::sleep(LINGER);
            state = shared.lock();
        }
        std::mem::swap(&mut state.pending, &mut batch);
        let wake_loggers = state.waiting_loggers > 0;
        drop(state);
        if wake_loggers {
            shared.space.notify_all();
        }
        // Nowhere to report a failed write to: the lines are dropped, the next batch tried.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        let mut state = shared.lock();
        state.written += batch.len() as u64;
        if state.hurry && state.written >= state.queued {
            state.hurry = false;
        }
        drop(state);
        shared.space.notify_all();
        batch.clear();
        if batch.capacity() > shared.max_pending.max(64 * 1024) {
            batch = Vec::with_capacity(64 * 1024);
        }
    }
}

impl LogSink {
    /// Waits (at most [`CLOSE_WAIT`]) until every line queued before the call is written out.
    pub fn flush(&self) {
        let mut state = self.shared.lock();
        let target = state.queued;
        if state.written >= target || state.direct.is_some() {
            return;
        }
        state.hurry = true;
        if state.writer_idle {
            state.writer_idle = false;
            self.shared.writer_wake.notify_one();
        }
        drop(
            self.shared
                .wait_for_writer(state, |s| s.written < target && !s.finished),
        );
    }
}

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_lines(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        LogSink::flush(self);
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogSink {
    type Writer = LogSink;

    fn make_writer(&'a self) -> LogSink {
        self.clone()
    }
}
