// Drives the official livekit-server-sdk RoomServiceClient against a RoomService URL and prints
// what it got back as one JSON document on stdout. Used by crates/roomkey-testserver/tests/node_sdk.rs
// to show that roomkey-testserver speaks the real protocol (the SDK's own JSON encoding, tokens,
// error parsing and failover).
//
// Usage:
//   node interop/node/roomservice.mjs basic    --url URL --key KEY --secret SECRET [--seeded-room R --seeded-identity I]
//   node interop/node/roomservice.mjs failover --url URL --key KEY --secret SECRET
//
// basic:    create (with emptyTimeout, maxParticipants, metadata, agents), create again (idempotent),
//           list, list by names, list participants, get participant, update room metadata, delete,
//           delete again (404), and calls that must fail (wrong secret, missing grant).
// failover: one createRoom with the SDK's failoverForce switch on, so it discovers
//           /settings/regions and retries on the next region when the first answers 5xx.
//
// Needs interop/node_modules (run interop/setup.sh). Exit codes: 0 ok, 2 setup problem, 1 other.

import { readFileSync } from "node:fs";

const PINNED = "2.19.2";

function die(code, message) {
  process.stderr.write(`roomservice.mjs: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const [scenario, ...rest] = argv;
  const opts = { scenario };
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i];
    const value = rest[i + 1];
    if (!key?.startsWith("--") || value === undefined) {
      die(1, `bad arguments near ${JSON.stringify(key)}`);
    }
    opts[key.slice(2)] = value;
  }
  for (const required of ["url", "key", "secret"]) {
    if (!opts[required]) die(1, `missing --${required}`);
  }
  return opts;
}

async function loadSdk() {
  const pkgUrl = new URL("../node_modules/livekit-server-sdk/package.json", import.meta.url);
  let version;
  try {
    version = JSON.parse(readFileSync(pkgUrl, "utf8")).version;
  } catch {
    die(2, "livekit-server-sdk is not installed in interop/node_modules; run interop/setup.sh");
  }
  if (version !== PINNED) {
    die(2, `livekit-server-sdk ${version} is installed but ${PINNED} is pinned; run interop/setup.sh`);
  }
  return import("livekit-server-sdk");
}

// protobuf-es messages, with every field (so the Rust side sees what the SDK parsed).
const full = (m) => m.toJson({ emitDefaultValues: true });

async function outcome(promise) {
  try {
    const value = await promise;
    return { ok: true, value };
  } catch (e) {
    return {
      ok: false,
      error: {
        name: e?.name ?? null,
        message: e?.message ?? String(e),
        status: e?.status ?? null,
        code: e?.code ?? null,
        metadata: e?.metadata ?? null,
      },
    };
  }
}

async function basic(sdk, o) {
  const { RoomServiceClient, RoomAgentDispatch } = sdk;
  const client = new RoomServiceClient(o.url, o.key, o.secret);
  const out = {};

  out.created = full(
    await client.createRoom({
      name: "node-room",
      emptyTimeout: 120,
      maxParticipants: 7,
      metadata: '{"from":"node"}',
      agents: [new RoomAgentDispatch({ agentName: "helper-agent", metadata: "agent-meta" })],
    }),
  );
  out.created_second = full(await client.createRoom({ name: "node-room-2" }));
  out.created_again = full(
    await client.createRoom({ name: "node-room", emptyTimeout: 30, metadata: "ignored" }),
  );
  out.list_all = (await client.listRooms()).map(full);
  out.list_by_names = (await client.listRooms(["node-room", "ghost"])).map(full);
  out.participants_empty = (await client.listParticipants("node-room")).map(full);
  if (o["seeded-room"]) {
    out.participants_seeded = (await client.listParticipants(o["seeded-room"])).map(full);
    out.participant = full(await client.getParticipant(o["seeded-room"], o["seeded-identity"]));
  }
  out.updated = full(await client.updateRoomMetadata("node-room", "updated-by-node"));
  out.delete_first = await outcome(client.deleteRoom("node-room-2"));
  out.delete_again = await outcome(client.deleteRoom("node-room-2"));
  out.get_missing = await outcome(client.getParticipant("node-room", "nobody"));
  out.list_after = (await client.listRooms()).map((r) => r.name);

  const wrongSecret = new RoomServiceClient(o.url, o.key, "not-the-secret");
  out.wrong_secret = await outcome(wrongSecret.listRooms());
  const unknownKey = new RoomServiceClient(o.url, "no-such-key", o.secret);
  out.unknown_key = await outcome(unknownKey.createRoom({ name: "x" }));
  return out;
}

async function failover(sdk, o) {
  const { RoomServiceClient } = sdk;
  const client = new RoomServiceClient(o.url, o.key, o.secret);
  // RoomServiceClient does not pass TwirpRpc's test switches through its options, and a
  // loopback host never fails over on its own: set them on its TwirpRpc directly.
  if (!client.rpc || !("failoverForce" in client.rpc)) {
    die(1, "this livekit-server-sdk has no TwirpRpc.failoverForce");
  }
  client.rpc.failoverForce = true;
  client.rpc.failoverBackoffMs = 10;
  const warnings = [];
  console.warn = (...args) => warnings.push(args.join(" "));
  const result = await outcome(client.createRoom({ name: "failover-room" }));
  if (result.ok) result.value = full(result.value);
  return { result, warnings };
}

const opts = parseArgs(process.argv.slice(2));
const sdk = await loadSdk();
let result;
try {
  if (opts.scenario === "basic") {
    result = await basic(sdk, opts);
  } else if (opts.scenario === "failover") {
    result = await failover(sdk, opts);
  } else {
    die(1, `unknown scenario ${JSON.stringify(opts.scenario)} (basic or failover)`);
  }
} catch (e) {
  die(1, `unexpected failure: ${e?.stack ?? e}`);
}
process.stdout.write(`${JSON.stringify({ sdk_version: PINNED, ...result })}\n`);
