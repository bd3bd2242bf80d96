//! The shared store against a real redis-server: the script's answers beside governor's GCRA,
//! reconnection, the breaker and the refused-key cache.

use governor::RateLimiter;
use governor::clock::{Clock as _, FakeRelativeClock};
use governor::state::keyed::DefaultKeyedStateStore;

use super::*;

/// A time of 2026 in microseconds: the script's numbers are that large in production.
const EPOCH_US: u64 = 1_780_000_000_000_000;

type MemoryLimiter<K> = RateLimiter<
    K,
    DefaultKeyedStateStore<K>,
    FakeRelativeClock,
    governor::middleware::NoOpMiddleware<<FakeRelativeClock as governor::clock::Clock>::Instant>,
>;

/// governor with the server's quota, on a clock the test moves.
fn memory<K: std::hash::Hash + Eq + Clone>(
    per_minute: u32,
    burst: u32,
    clock: &FakeRelativeClock,
) -> MemoryLimiter<K> {
    let quota = super::super::quota(per_minute, burst).expect("a limit");
    RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock.clone())
}

/// What a limiter answered: `Ok` admitted, `Err(Retry-After)` refused.
fn in_memory<K: std::hash::Hash + Eq + Clone>(
    limiter: &MemoryLimiter<K>,
    key: &K,
    clock: &FakeRelativeClock,
) -> Result<(), u64> {
    limiter
        .check_key(key)
        .map_err(|not_until| not_until.wait_time_from(clock.now()).as_secs() + 1)
}

/// The script at a given time: `Ok` admitted, `Err((1-based key, Retry-After))`.
async fn in_redis(
    connection: &mut redis::aio::MultiplexedConnection,
    keys: &[(&str, Rate)],
    now_us: u64,
) -> Result<(), (i64, u64)> {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(SCRIPT).arg(keys.len());
    for (name, _) in keys {
        cmd.arg(*name);
    }
    cmd.arg(EPOCH_US + now_us);
    for (_, rate) in keys {
        cmd.arg(rate.t_us).arg(rate.tau_us);
    }
    let (index, wait): Answer = cmd.query_async(connection).await.expect("the script");
    if index == 0 {
        return Ok(());
    }
    let wait = Duration::from_micros(u64::try_from(wait).expect("a wait"));
    Err((index, wait.as_secs() + 1))
}

/// The real time that passes between two steps, added to the test's gaps: Redis expires a
/// key after the time the script gave it in real time, so the test's clock must go at least
/// as fast as the real one, or a key would vanish before its time on the test's clock.
/// Both stores are given the same times, so the answers still have to agree.
struct RealTime {
    started: Instant,
    last_us: u64,
}

impl RealTime {
    fn start() -> Self {
        RealTime {
            started: Instant::now(),
            last_us: 0,
        }
    }

    fn since_last(&mut self) -> u64 {
        let now = u64::try_from(self.started.elapsed().as_micros()).unwrap();
        let passed = now - self.last_us;
        self.last_us = now;
        passed
    }
}

/// A deterministic sequence of gaps and choices (a linear congruential generator).
struct Sequence(u64);

impl Sequence {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below.max(1)
    }
}

async fn connection(server: &redis_server::RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_shared_store_answers_as_the_memory_store_at_the_same_times() {
    let server = redis_server::RedisServer::start();
    let mut connection = connection(&server).await;
    // Limits that divide a minute into whole microseconds, and 7 a minute, which does not.
    for (per_minute, burst) in [(60, 3), (600, 50), (1200, 1), (3000, 20), (7, 2)] {
        let clock = FakeRelativeClock::default();
        let limiter = memory::<String>(per_minute, burst, &clock);
        let rate = Rate::new(per_minute, burst).unwrap();
        let mut sequence = Sequence(u64::from(per_minute) * 1000 + u64::from(burst));
        let (mut now_us, mut admitted, mut refused) = (0, 0, 0);
        let mut real = RealTime::start();
        for step in 0..400 {
            // Runs of requests at once, and gaps of up to two intervals.
            let gap = if sequence.next(4) != 0 {
                0
            } else {
                sequence.next(2 * rate.t_us)
            };
            let gap = gap + real.since_last();
            now_us += gap;
            clock.advance(Duration::from_micros(gap));
            let key = ["alice", "bob"][usize::try_from(sequence.next(2)).unwrap()];
            let name = format!("same:{per_minute}:{burst}:{key}");
            let memory = in_memory(&limiter, &key.to_owned(), &clock);
            let shared = in_redis(&mut connection, &[(&name, rate)], now_us)
                .await
                .map_err(|(_, retry)| retry);
            assert_eq!(
                memory, shared,
                "{per_minute}/min, burst {burst}, step {step} at {now_us} µs, key {key}"
            );
            if memory.is_ok() {
                admitted += 1;
            } else {
                refused += 1;
            }
        }
        assert!(
            admitted > 30 && refused > 30,
            "{per_minute}/min: {admitted} admitted, {refused} refused"
        );
    }
}

#[tokio::test]
async fn two_keys_in_one_run_count_as_the_memory_store_checks_them_in_turn() {
    let server = redis_server::RedisServer::start();
    let mut connection = connection(&server).await;
    let clock = FakeRelativeClock::default();
    let (ip_rate, caller_rate) = ((120, 4), (60, 2));
    let per_ip = memory::<&str>(ip_rate.0, ip_rate.1, &clock);
    let per_caller = memory::<&str>(caller_rate.0, caller_rate.1, &clock);
    let ip = Rate::new(ip_rate.0, ip_rate.1).unwrap();
    let caller = Rate::new(caller_rate.0, caller_rate.1).unwrap();
    let mut sequence = Sequence(7);
    let mut now_us = 0;
    let mut seen = [0; 3];
    let mut real = RealTime::start();
    for step in 0..400 {
        let gap = if sequence.next(2) == 0 {
            0
        } else {
            sequence.next(800_000)
        };
        let gap = gap + real.since_last();
        now_us += gap;
        clock.advance(Duration::from_micros(gap));
        let address = ["203.0.113.1", "203.0.113.2"][usize::try_from(sequence.next(2)).unwrap()];
        let who = ["backend", "kiosk", "ops"][usize::try_from(sequence.next(3)).unwrap()];
        // In memory: the address, then (if it passed) the caller.
        let memory = in_memory(&per_ip, &address, &clock)
            .map_err(|retry| (1, retry))
            .and_then(|()| in_memory(&per_caller, &who, &clock).map_err(|retry| (2, retry)));
        let (ip_key, caller_key) = (format!("two:ip:{address}"), format!("two:caller:{who}"));
        let shared = in_redis(
            &mut connection,
            &[(&ip_key, ip), (&caller_key, caller)],
            now_us,
        )
        .await;
        assert_eq!(
            memory, shared,
            "step {step} at {now_us} µs: {address} {who}"
        );
        seen[memory.map_or_else(|(i, _)| usize::try_from(i).unwrap(), |()| 0)] += 1;
    }
    assert!(
        seen.iter().all(|n| *n > 20),
        "admitted, refused by address, by caller: {seen:?}"
    );
}

#[test]
fn rates_in_microseconds() {
    assert_eq!(Rate::new(0, 5), None);
    assert_eq!(
        Rate::new(600, 50),
        Some(Rate {
            t_us: 100_000,
            tau_us: 4_900_000
        })
    );
    assert_eq!(
        Rate::new(60, 1),
        Some(Rate {
            t_us: 1_000_000,
            tau_us: 0
        })
    );
    assert_eq!(
        Rate::new(60, 0),
        Some(Rate {
            t_us: 1_000_000,
            tau_us: 0
        })
    );
    assert_eq!(Rate::new(7, 2).map(|r| r.t_us), Some(8_571_428));
}
