// Reads back a LiveKit server's rooms through the official livekit-server-sdk, for
// crates/roomkey-interop/tests/rooms.rs: what the server holds after `roomkey room …` ran, seen
// by another client than roomkey's own.
//
// stdin:  {"url", "key", "secret", "rooms": [names] (optional; absent lists every room),
//          "participants_of": ROOM (optional), "dispatches_of": ROOM (optional)}
// stdout: {"sdk_version", "rooms": [Room], "participants": [ParticipantInfo] (when asked),
//          "dispatches": [AgentDispatch] (when asked)}
// Messages are protobuf-es JSON with every field (camelCase, int64 as strings, enums by name).
// Exit codes: 0 ok, 2 setup problem or a failed call (the SDK's error on stderr).

import { PINNED_SERVER_SDK, checkPinnedVersion, fail, readStdinJson, writeStdoutJson } from "./common.mjs";

checkPinnedVersion();
const { RoomServiceClient, AgentDispatchClient } = await import("livekit-server-sdk");

const input = readStdinJson();
for (const field of ["url", "key", "secret"]) {
  if (typeof input[field] !== "string") fail(`stdin needs a string "${field}"`);
}

const full = (m) => m.toJson({ emitDefaultValues: true });
const rooms = new RoomServiceClient(input.url, input.key, input.secret);
const out = { sdk_version: PINNED_SERVER_SDK };
try {
  out.rooms = (await rooms.listRooms(input.rooms)).map(full);
  if (typeof input.participants_of === "string") {
    out.participants = (await rooms.listParticipants(input.participants_of)).map(full);
  }
  if (typeof input.dispatches_of === "string") {
    const dispatch = new AgentDispatchClient(input.url, input.key, input.secret);
    out.dispatches = (await dispatch.listDispatch(input.dispatches_of)).map(full);
  }
} catch (e) {
  fail(`livekit-server-sdk call failed: ${e?.status ?? ""} ${e?.code ?? ""} ${e?.message ?? e}`);
}
writeStdoutJson(out);
