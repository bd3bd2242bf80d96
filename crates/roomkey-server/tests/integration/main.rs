//! roomkey-server's integration tests, in one binary.
//!
//! Every token a test receives is checked with roomkey's verifier ([`common::verify`]).

mod common;

mod action;
mod audit;
mod config;
mod cors;
mod denials;
mod endpoint;
mod fuzz_smoke;
mod grant_table;
mod hardening;
mod inspect;
mod limits;
mod metrics;
mod oidc;
mod policy;
mod redis_server;
mod replicas;
mod rooms;
mod shared_limits;
mod shutdown;
mod strict;
mod webhooks;
