//! A loop to profile under callgrind or `perf record`: one operation, one implementation, N times.
//!
//! ```text
//! roomkey-profile <mint|sign|verify> <roomkey|livekit-api|floor> [iterations]
//! ```
//!
//! `sign` is roomkey's `sign_at` on a builder made once (mint without building the builder).
//! The loop runs in `run_*` functions (never inlined) so that callgrind can count just them:
//! `valgrind --tool=callgrind --toggle-collect='*run_*' target/release/roomkey-profile mint roomkey 20000`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use roomkey_bench::{floor, livekit, roomkey, unix_now};

#[inline(never)]
fn run_mint_roomkey(n: u64) -> usize {
    let key = roomkey::key();
    let mut total = 0;
    for _ in 0..n {
        total += black_box(roomkey::mint(black_box(&key))).len();
    }
    total
}

#[inline(never)]
fn run_sign_roomkey(n: u64) -> usize {
    let key = roomkey::key();
    let builder = roomkey::builder();
    let mut total = 0;
    for _ in 0..n {
        let token = black_box(&builder)
            .sign_at(black_box(&key), unix_now())
            .expect("valid");
        total += black_box(token).len();
    }
    total
}

#[inline(never)]
fn run_mint_livekit(n: u64) -> usize {
    let mut total = 0;
    for _ in 0..n {
        total += black_box(livekit::mint()).len();
    }
    total
}

#[inline(never)]
fn run_mint_floor(n: u64) -> usize {
    let key = floor::key();
    let mut total = 0;
    for _ in 0..n {
        total += black_box(floor::mint(black_box(&key))).len();
    }
    total
}

#[inline(never)]
fn run_verify_roomkey(token: &str, n: u64) -> usize {
    let verifier = roomkey::verifier();
    let mut total = 0;
    for _ in 0..n {
        let v = roomkey::verify(black_box(&verifier), black_box(token)).expect("valid");
        total += black_box(v).payload().len();
    }
    total
}

#[inline(never)]
fn run_verify_livekit(token: &str, n: u64) -> usize {
    let verifier = livekit::verifier();
    let mut total = 0;
    for _ in 0..n {
        let c = livekit::verify(black_box(&verifier), black_box(token)).expect("valid");
        total += black_box(c).sub.len();
    }
    total
}

#[inline(never)]
fn run_verify_floor(token: &str, n: u64) -> usize {
    let key = floor::key();
    let mut total = 0;
    for _ in 0..n {
        let c = floor::verify(black_box(&key), black_box(token)).expect("valid");
        total += black_box(c).sub.len();
    }
    total
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(op), Some(imp)) = (args.first(), args.get(1)) else {
        eprintln!(
            "usage: roomkey-profile <mint|sign|verify> <roomkey|livekit-api|floor> [iterations]"
        );
        return ExitCode::from(2);
    };
    let n: u64 = match args.get(2).map(|s| s.parse()) {
        None => 100_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("bad iteration count: {e}");
            return ExitCode::from(2);
        }
    };
    let token = roomkey::mint(&roomkey::key());
    let start = Instant::now();
    let total = match (op.as_str(), imp.as_str()) {
        ("mint", "roomkey") => run_mint_roomkey(n),
        ("sign", "roomkey") => run_sign_roomkey(n),
        ("mint", "livekit-api") => run_mint_livekit(n),
        ("mint", "floor") => run_mint_floor(n),
        ("verify", "roomkey") => run_verify_roomkey(&token, n),
        ("verify", "livekit-api") => run_verify_livekit(&token, n),
        ("verify", "floor") => run_verify_floor(&token, n),
        _ => {
            eprintln!("unknown operation/implementation: {op} {imp}");
            return ExitCode::from(2);
        }
    };
    let elapsed = start.elapsed();
    #[allow(clippy::cast_precision_loss)]
    let per_op = elapsed.as_nanos() as f64 / n.max(1) as f64;
    println!("{op} {imp}: {n} iterations, {per_op:.0} ns/op (checksum {total})");
    ExitCode::SUCCESS
}
