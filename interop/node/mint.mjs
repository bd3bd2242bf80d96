// Mints one token per spec with the Node livekit-server-sdk AccessToken, as a user would.
// stdin:  {"apiKey","apiSecret","now": <unix seconds, or null for the real clock>,"specs":[{"id","ttl","claims"}]}
// stdout: [{"id","token","unsupported":[claim paths this SDK cannot express]}]
// A claim the SDK cannot express is left out (and listed); an unknown claim is an error.
import { checkPinnedVersion, fail, readStdinJson, writeStdoutJson } from "./common.mjs";

checkPinnedVersion();
const { AccessToken, RoomConfiguration, TrackSource } = await import("livekit-server-sdk");

// What AccessToken can express: constructor options, setters, addGrant/addSIPGrant/
// addInferenceGrant/addObservabilityGrant (dist/AccessToken.d.ts, dist/grants.d.ts).
const UNSUPPORTED_TOP = ["kindDetails", "agent", "agentEndpoint", "agentThread"];
const SUPPORTED_TOP = [
  "sub", "name", "metadata", "attributes", "kind", "video", "sip", "inference", "observability",
  "roomPreset", "roomConfig", "sha256",
];
// Every key of the SDK's VideoGrant interface.
const VIDEO_KEYS = [
  "roomCreate", "roomJoin", "roomList", "roomRecord", "roomAdmin", "room", "ingressAdmin", "canPublish",
  "canPublishSources", "canSubscribe", "canPublishData", "canUpdateOwnMetadata", "hidden", "recorder",
  "agent", "canSubscribeMetrics", "canManageAgentSession", "destinationRoom",
];
const SIP_KEYS = ["admin", "call"];
// addGrant takes canPublishSources as TrackSource enum numbers and converts them back to names.
const SOURCES = {
  camera: TrackSource.CAMERA,
  microphone: TrackSource.MICROPHONE,
  screen_share: TrackSource.SCREEN_SHARE,
  screen_share_audio: TrackSource.SCREEN_SHARE_AUDIO,
};

function checkKeys(obj, allowed, where) {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) fail(`spec claim ${where}.${k} is not known to this script`);
  }
}

/** Runs fn with `new Date()` and `Date.now()` pinned to `now` (unix seconds), unless now is null. */
async function atTime(now, fn) {
  if (now === null || now === undefined) return fn();
  const RealDate = globalThis.Date;
  class FixedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(now * 1000);
      else super(...args);
    }
    static now() {
      return now * 1000;
    }
  }
  globalThis.Date = FixedDate;
  try {
    return await fn();
  } finally {
    globalThis.Date = RealDate;
  }
}

async function mint(apiKey, apiSecret, now, spec) {
  const c = spec.claims;
  const unsupported = [];
  for (const k of Object.keys(c)) {
    if (UNSUPPORTED_TOP.includes(k)) unsupported.push(k);
    else if (!SUPPORTED_TOP.includes(k)) fail(`spec ${spec.id}: claim ${k} is not known to this script`);
  }
  const options = { ttl: spec.ttl };
  if (c.sub !== undefined) options.identity = c.sub;
  if (c.name !== undefined) options.name = c.name;
  if (c.metadata !== undefined) options.metadata = c.metadata;
  if (c.attributes !== undefined) options.attributes = c.attributes;
  const at = new AccessToken(apiKey, apiSecret, options);
  if (c.kind !== undefined) at.kind = c.kind;
  if (c.video !== undefined) {
    checkKeys(c.video, VIDEO_KEYS, "video");
    const grant = { ...c.video };
    if (grant.canPublishSources !== undefined) {
      grant.canPublishSources = grant.canPublishSources.map((name) => {
        if (!(name in SOURCES)) fail(`spec ${spec.id}: unknown track source ${name}`);
        return SOURCES[name];
      });
    }
    at.addGrant(grant);
  }
  if (c.sip !== undefined) {
    checkKeys(c.sip, SIP_KEYS, "sip");
    at.addSIPGrant(c.sip);
  }
  if (c.inference !== undefined) {
    checkKeys(c.inference, ["perform"], "inference");
    at.addInferenceGrant(c.inference);
  }
  if (c.observability !== undefined) {
    checkKeys(c.observability, ["write"], "observability");
    at.addObservabilityGrant(c.observability);
  }
  if (c.roomPreset !== undefined) at.roomPreset = c.roomPreset;
  if (c.sha256 !== undefined) at.sha256 = c.sha256;
  if (c.roomConfig !== undefined) at.roomConfig = RoomConfiguration.fromJson(c.roomConfig);
  const token = await atTime(now, () => at.toJwt());
  return { id: spec.id, token, unsupported };
}

const input = readStdinJson();
const out = [];
for (const spec of input.specs) {
  try {
    out.push(await mint(input.apiKey, input.apiSecret, input.now ?? null, spec));
  } catch (e) {
    fail(`spec ${spec.id}: ${e.stack ?? e}`);
  }
}
writeStdoutJson(out);
