//! The benchmark clock: criterion's wall clock, or the benchmark thread's CPU time.
//!
//! `ROOMKEY_BENCH_CLOCK=cpu` selects the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), which
//! leaves out the time the thread spends descheduled: on a busy shared machine that is most of
//! the noise. The measured loops are single-threaded and never block, so on an idle machine the
//! two clocks agree. Unset or `wall`: criterion's wall clock.

use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::Criterion;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// The benchmark thread's CPU time, in nanoseconds, formatted as criterion formats wall time.
pub struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }
    fn end(&self, start: ThreadTime) -> Duration {
        start.elapsed()
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_secs_f64() * 1e9
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WallTime.formatter()
    }
}

/// Runs `groups` with the clock `ROOMKEY_BENCH_CLOCK` names, then prints criterion's summary.
pub fn run_with_clock(wall: fn(&mut Criterion<WallTime>), cpu: fn(&mut Criterion<ThreadCpuTime>)) {
    match std::env::var("ROOMKEY_BENCH_CLOCK").as_deref() {
        Ok("cpu") => {
            let mut c = Criterion::default()
                .with_measurement(ThreadCpuTime)
                .configure_from_args();
            cpu(&mut c);
            c.final_summary();
        }
        Ok("wall") | Err(_) => {
            let mut c = Criterion::default().configure_from_args();
            wall(&mut c);
            c.final_summary();
        }
        Ok(other) => panic!("ROOMKEY_BENCH_CLOCK must be `wall` or `cpu`, not {other:?}"),
    }
}
