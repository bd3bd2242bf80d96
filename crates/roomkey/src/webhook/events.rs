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
/// event roomkey cannot make up. The shapes are those livekit-server 1.13 sends (the interop
/// test `webhooks.rs` holds them against the real server's): full room and participant for room
/// and participant events; for track events, the room and participant by name and sid only.
/// Protobuf JSON leaves out default values (an audio track's `type` is `AUDIO`, the default).
pub(super) fn event_body(name: &str, room: &str, identity: &str, now: i64) -> Option<Value> {
    if !SENDABLE.contains(&name) {
        return None;
    }
    let ms = now * 1000;
    let (room_sid, participant_sid) = (sid("RM_"), sid("PA_"));
    let mut event = json!({
        "event": name,
        "id": sid("EV_"),
        "createdAt": now.to_string(),
    });
    if name.starts_with("track_") {
        let mid = "0";
        event["room"] = json!({"name": room, "sid": room_sid});
        event["participant"] = json!({"identity": identity, "sid": participant_sid});
        event["track"] = json!({
            "sid": sid("TR_"),
            "name": "microphone",
            "source": "MICROPHONE",
            "mimeType": "audio/red",
            "mid": mid,
            "stream": "camera",
            "codecs": [{
                "cid": sid("cid-"),
                "mid": mid,
                "mimeType": "audio/red",
                "videoLayerMode": "ONE_SPATIAL_LAYER_PER_STREAM"
            }],
            "backupCodecPolicy": "SIMULCAST",
            "version": {"unixMicro": (ms * 1000).to_string()}
        });
        return Some(event);
    }
    event["room"] = json!({
        "sid": room_sid,
        "name": room,
        "emptyTimeout": 300,
        "departureTimeout": 20,
        "creationTime": now.to_string(),
        "creationTimeMs": ms.to_string(),
        "turnPassword": Alphanumeric.sample_string(&mut rand::rng(), 44),
        "enabledCodecs": [
            {"mime": "audio/PCMU"}, {"mime": "audio/PCMA"}, {"mime": "audio/opus"},
            {"mime": "audio/red"}, {"mime": "video/VP8"}, {"mime": "video/H264"},
            {"mime": "video/VP9"}, {"mime": "video/AV1"}, {"mime": "video/H265"},
            {"mime": "video/rtx"}
        ]
    });
    if name.starts_with("participant_") {
        let mut participant = json!({
            "sid": participant_sid,
            "identity": identity,
            "state": "ACTIVE",
            "joinedAt": now.to_string(),
            "joinedAtMs": ms.to_string(),
            "version": 2,
            "permission": {"canSubscribe": true, "canPublish": true, "canPublishData": true},
            "clientProtocol": 2,
            "capabilities": ["CAP_PACKET_TRAILER", "CAP_COMPRESSION_DEFLATE_RAW"]
        });
        if name != "participant_joined" {
            participant["state"] = json!("DISCONNECTED");
            participant["version"] = json!(5);
            participant["disconnectReason"] = json!(if name == "participant_left" {
                "CLIENT_INITIATED"
            } else {
                "CONNECTION_TIMEOUT"
            });
        }
        event["participant"] = participant;
    }
    Some(event)
}
