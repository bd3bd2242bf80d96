//! Realistic events for `roomkey webhook send`: the fields the LiveKit server fills for each,
//! with fresh sids and the current time.

use rand::distr::{Alphanumeric, SampleString as _};
use serde_json::{Value, json};

/// The events `send` can make up.
pub(super) const SENDABLE: &[&str] = &[
    "room_started",
    "room_finished",
    "participant_joined",
    "participant_left",
    "participant_connection_aborted",
    "track_published",
    "track_unpublished",
];

/// A sid as the server makes them: a prefix and 12 letters and digits.
fn sid(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        Alphanumeric.sample_string(&mut rand::rng(), 12)
    )
}

/// The body of event `name` for `room` and `identity` at `now` (unix seconds), or `None` for an
/// event roomkey cannot make up.
pub(super) fn event_body(name: &str, room: &str, identity: &str, now: i64) -> Option<Value> {
    if !SENDABLE.contains(&name) {
        return None;
    }
    let ms = now * 1000;
    let room_info = json!({
        "sid": sid("RM_"),
        "name": room,
        "emptyTimeout": 300,
        "departureTimeout": 20,
        "creationTime": now.to_string(),
        "creationTimeMs": ms.to_string(),
        "turnPassword": Alphanumeric.sample_string(&mut rand::rng(), 32),
        "enabledCodecs": [
            {"mime": "audio/opus"}, {"mime": "audio/red"}, {"mime": "video/VP8"},
            {"mime": "video/H264"}, {"mime": "video/VP9"}, {"mime": "video/AV1"},
            {"mime": "video/H265"}
        ],
        "version": {"unixMicro": (ms * 1000).to_string()}
    });
    let track = json!({
        "sid": sid("TR_"),
        "type": "AUDIO",
        "source": "MICROPHONE",
        "mimeType": "audio/opus",
        "mid": "0",
        "stream": "camera",
        "codecs": [{"mimeType": "audio/opus", "mid": "0"}],
        "version": {"unixMicro": (ms * 1000).to_string()},
        "audioFeatures": ["TF_AUTO_GAIN_CONTROL", "TF_ECHO_CANCELLATION", "TF_NOISE_SUPPRESSION"],
        "backupCodecPolicy": "SIMULCAST"
    });
    let mut participant = json!({
        "sid": sid("PA_"),
        "identity": identity,
        "state": "ACTIVE",
        "joinedAt": now.to_string(),
        "joinedAtMs": ms.to_string(),
        "version": 2,
        "permission": {
            "canSubscribe": true, "canPublish": true, "canPublishData": true,
            "canUpdateMetadata": false, "canSubscribeMetrics": false
        },
        "isPublisher": false,
        "disconnectReason": "UNKNOWN_REASON"
    });
    match name {
        "participant_left" | "participant_connection_aborted" => {
            participant["state"] = json!("DISCONNECTED");
            participant["disconnectReason"] = json!(if name == "participant_left" {
                "CLIENT_INITIATED"
            } else {
                "CONNECTION_TIMEOUT"
            });
        }
        "track_published" | "track_unpublished" => {
            participant["isPublisher"] = json!(true);
            participant["tracks"] = json!([&track]);
        }
        _ => {}
    }
    let mut event = json!({
        "event": name,
        "room": room_info,
        "id": sid("EV_"),
        "createdAt": now.to_string(),
    });
    if name.starts_with("participant_") || name.starts_with("track_") {
        event["participant"] = participant;
    }
    if name.starts_with("track_") {
        event["track"] = track;
    }
    Some(event)
}
