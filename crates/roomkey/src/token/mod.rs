//! `roomkey token create`, `roomkey token verify` and `roomkey token inspect`.

mod batch;
mod batch_input;
mod batch_rows;
mod create;
mod flags;
mod grant_flags;
mod inspect;
mod join_link;
mod verify;

pub(crate) use batch::{BatchArgs, InvalidRows, run as batch};
pub(crate) use create::{CreateArgs, create};
pub(crate) use inspect::{InspectArgs, Unhealthy, run as inspect};
pub(crate) use verify::{InvalidToken, VerifyArgs, verify};

/// The Generate Access Token action's summary line.
pub(crate) const SUMMARY: &str =
    "Successfully generated access token for participant to join the call.";
