//! `roomkey token create` and `roomkey token verify`.

mod create;
mod grant_flags;
mod verify;

pub(crate) use create::{CreateArgs, create};
pub(crate) use verify::{InvalidToken, VerifyArgs, verify};

/// The Generate Access Token action's summary line.
pub(crate) const SUMMARY: &str =
    "Successfully generated access token for participant to join the call.";
