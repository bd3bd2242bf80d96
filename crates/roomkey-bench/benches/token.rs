//! Mint and verify of a typical join token: roomkey vs livekit-api 0.10 vs a hand-written floor.
//!
//! Groups `mint` and `verify`, each with the functions `roomkey`, `livekit-api` and `floor`.
//! `scripts/bench` runs this and prints the comparison table. See BENCHMARKS.md.
//!
//! The clock is criterion's wall clock, or with `ROOMKEY_BENCH_CLOCK=cpu` the benchmark thread's
//! CPU time (see `support/clock.rs`; `scripts/bench` uses the CPU clock by default).

use std::hint::black_box;

use criterion::Criterion;
use criterion::measurement::Measurement;
use roomkey_bench::{floor, livekit, roomkey, unix_now};

#[path = "support/clock.rs"]
mod clock;

fn mint<M: Measurement>(c: &mut Criterion<M>) {
    // The floor must do exactly roomkey's job: same payload bytes, same token.
    let now = unix_now();
    let rk_key = roomkey::key();
    let fl_key = floor::key();
    assert_eq!(
        roomkey::mint_at(&rk_key, now),
        floor::mint_at(&fl_key, now),
        "the floor must emit roomkey's token byte for byte"
    );

    let mut g = c.benchmark_group("mint");
    // Builder built per call, clock read once, HMAC key schedule reused (KeyPair).
    g.bench_function("roomkey", |b| b.iter(|| roomkey::mint(black_box(&rk_key))));
    // Builder built per call, clock read once, HMAC key built from the secret string per call
    // (to_jwt consumes the builder and takes no prepared key).
    g.bench_function("livekit-api", |b| b.iter(livekit::mint));
    // Borrowed claims struct, clock read once, HMAC keyed state cloned per call.
    g.bench_function("floor", |b| b.iter(|| floor::mint(black_box(&fl_key))));
    g.finish();
}

fn verify<M: Measurement>(c: &mut Criterion<M>) {
    // One token, valid now, verified by all three. It is roomkey's (Go-shaped: iss, exp, nbf,
    // iat, sub, identity, name, video); livekit-api's own token is 2 claims shorter.
    let token = roomkey::mint(&roomkey::key());
    let rk = roomkey::verifier();
    let lk = livekit::verifier();
    let fl = floor::key();
    roomkey::verify(&rk, &token).expect("roomkey verifies");
    livekit::verify(&lk, &token).expect("livekit-api verifies");
    floor::verify(&fl, &token).expect("floor verifies");

    let mut g = c.benchmark_group("verify");
    g.bench_function("roomkey", |b| {
        b.iter(|| roomkey::verify(black_box(&rk), black_box(&token)).expect("valid"));
    });
    g.bench_function("livekit-api", |b| {
        b.iter(|| livekit::verify(black_box(&lk), black_box(&token)).expect("valid"));
    });
    g.bench_function("floor", |b| {
        b.iter(|| floor::verify(black_box(&fl), black_box(&token)).expect("valid"));
    });
    g.finish();
}

fn all<M: Measurement>(c: &mut Criterion<M>) {
    mint(c);
    verify(c);
}

fn main() {
    clock::run_with_clock(all, all);
}
