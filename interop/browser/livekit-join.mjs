// A real join, end to end: a page in headless Chromium asks `roomkey serve` for a token with
// LiveKit's own browser SDK (livekit-client: TokenSource.endpoint(<roomkey>/api/token).fetch),
// connects with `new Room().connect(serverUrl, participantToken)` to the real LiveKit server,
// publishes the fake microphone and camera, and the server's RoomService (livekit-server-sdk's
// RoomServiceClient, from Node) is asked who is in the room, while the page is connected and
// after it has left. Prints what it saw as one JSON document on stdout; progress and failures go
// to stderr. Used by crates/roomkey-interop/tests/token_endpoint.rs.
//
//   node interop/browser/livekit-join.mjs --roomkey <roomkey base URL> --livekit <LiveKit http URL>
//       --key KEY --secret SECRET --request JSON
//
// --request is the TokenSource fetch options (roomName, participantName, participantIdentity,
// participantMetadata, participantAttributes, agentName, ...). --key/--secret are for the
// RoomService calls only; the page never sees them.
//
// The page is served same-origin with roomkey (Playwright `page.route` answers
// <roomkey>/__roomkey-test__/… from this script, livekit-client's UMD bundle from
// interop/node_modules), so the token request needs no CORS; it reaches the real roomkey server.
//
// Must run inside `interop/netns` (the LiveKit server and Chromium's WebRTC stay in there).
// Needs interop/node_modules (bash interop/setup.sh) and /usr/bin/chromium
// (bash scripts/install-browser). Every wait is bounded; the whole run by a watchdog.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CHROMIUM = "/usr/bin/chromium";
const WATCHDOG_MS = 120_000;
const CONNECT_MS = 30_000;
const PUBLISH_MS = 20_000;
const SERVER_SEES_MS = 20_000;
const LEAVE_MS = 20_000;

const here = fileURLToPath(new URL(".", import.meta.url));
const interop = join(here, "..");

function die(message) {
  process.stderr.write(`livekit-join.mjs: error: ${message}\n`);
  process.exit(2);
}
function log(message) {
  process.stderr.write(`livekit-join.mjs: ${message}\n`);
}

for (const pkg of ["playwright-core", "livekit-client", "livekit-server-sdk"]) {
  if (!existsSync(join(interop, "node_modules", pkg, "package.json"))) {
    die(`${pkg} is not installed in interop/node_modules; run \`bash interop/setup.sh\``);
  }
}
if (!existsSync(CHROMIUM)) die(`${CHROMIUM} is missing; run \`bash scripts/install-browser\``);
if (process.env.ROOMKEY_NETNS !== "inside") {
  die("run inside the test network namespace: `bash interop/netns node interop/browser/livekit-join.mjs …`");
}
const LIVEKIT_UMD = join(interop, "node_modules", "livekit-client", "dist", "livekit-client.umd.js");
const version = (pkg) =>
  JSON.parse(readFileSync(join(interop, "node_modules", pkg, "package.json"), "utf8")).version;

// ---- arguments ------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const opts = {};
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (!a.startsWith("--") || i + 1 >= argv.length) {
    die("usage: livekit-join.mjs --roomkey URL --livekit URL --key KEY --secret SECRET --request JSON");
  }
  opts[a.slice(2)] = argv[++i];
}
for (const name of ["roomkey", "livekit", "key", "secret", "request"]) {
  if (!opts[name]) die(`--${name} is required`);
}
const roomkey = opts.roomkey.replace(/\/+$/, "");
const livekitUrl = opts.livekit.replace(/\/+$/, "");
let request;
try {
  request = JSON.parse(opts.request);
} catch (e) {
  die(`--request is not JSON: ${e.message}`);
}

const { chromium } = await import("playwright-core");
const { RoomServiceClient } = await import("livekit-server-sdk");
const rooms = new RoomServiceClient(livekitUrl, opts.key, opts.secret);

// ---- helpers ----------------------------------------------------------------------------------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a non-undefined value, at most `ms`; throws with `what`. */
async function until(what, ms, probe) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${last.message ?? last})` : ""}`);
}

/** RoomService ListParticipants, as protobuf JSON (state as its enum name, int64 as strings). */
async function listParticipants(room) {
  const list = await rooms.listParticipants(room);
  return list.map((p) => p.toJson({ emitDefaultValues: true }));
}

async function listRooms() {
  const list = await rooms.listRooms();
  return list.map((r) => r.name);
}

// ---- browser ----------------------------------------------------------------------------------
const profileDir = mkdtempSync(join(tmpdir(), "roomkey-chromium-"));
let context;
const watchdog = setTimeout(() => {
  process.stderr.write(`livekit-join.mjs: error: timed out after ${WATCHDOG_MS / 1000} s\n`);
  // The browser is a child of this process; the netns PID namespace reaps it at the latest.
  try { context?.close(); } catch (_) { /* ignore */ }
  try { rmSync(profileDir, { recursive: true, force: true }); } catch (_) { /* ignore */ }
  process.exit(3);
}, WATCHDOG_MS);

const out = {
  chromium: null,
  livekit_client: version("livekit-client"),
  livekit_server_sdk: version("livekit-server-sdk"),
  request,
};
const problems = [];
try {
  log(`launching ${CHROMIUM}`);
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      // Host candidates as addresses (192.0.2.2 on rk1), not mDNS names the server would not resolve.
      "--disable-features=WebRtcHideLocalIpsWithMdns",
    ],
  });
  context.setDefaultTimeout(15_000);
  out.chromium = context.browser()?.version() ?? null;
  // Chromium's Local Network Access checks: a document Playwright fulfils has no address of its
  // own, so Chromium counts the page as public and blocks its WebSocket to the LiveKit server on
  // 127.0.0.1 (ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS) unless the page may reach loopback — the
  // permission a user grants at the prompt. (The token request is same-origin, so it is exempt.)
  await context.grantPermissions(["camera", "microphone", "local-network-access"], { origin: new URL(roomkey).origin });

  const page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  const pageUrl = `${roomkey}/__roomkey-test__/join.html`;
  const scriptUrl = `${roomkey}/__roomkey-test__/livekit-client.umd.js`;
  const served = [];
  await page.route(`${roomkey}/__roomkey-test__/**`, (route) => {
    const url = route.request().url();
    served.push(new URL(url).pathname);
    if (url === pageUrl) {
      return route.fulfill({
        status: 200,
        contentType: "text/html; charset=utf-8",
        body: `<!doctype html><meta charset="utf-8"><title>roomkey join</title><script src="${scriptUrl}"></script>`,
      });
    }
    if (url === scriptUrl) {
      return route.fulfill({ status: 200, contentType: "text/javascript; charset=utf-8", body: readFileSync(LIVEKIT_UMD, "utf8") });
    }
    return route.fulfill({ status: 404, body: "not served by the test" });
  });
  // Every request the page makes to roomkey itself (not the routed test files).
  const toRoomkey = [];
  page.on("request", (r) => {
    const url = new URL(r.url());
    // (A favicon fetch is the browser's own doing, not the page's.)
    if (url.origin === new URL(roomkey).origin && !url.pathname.startsWith("/__roomkey-test__/") && url.pathname !== "/favicon.ico") {
      toRoomkey.push(`${r.method()} ${url.pathname}`);
    }
  });

  log(`page ${pageUrl}`);
  await page.goto(pageUrl);
  await page.waitForFunction(() => typeof window.LivekitClient?.TokenSource?.endpoint === "function");

  // 1. The token, from roomkey, through the SDK's endpoint source.
  log(`TokenSource.endpoint(${roomkey}/api/token).fetch(${JSON.stringify(request)})`);
  out.fetched = await page.evaluate(async ({ url, request }) => {
    const source = window.LivekitClient.TokenSource.endpoint(url);
    const response = await source.fetch(request);
    window.__details = response;
    return {
      server_url: response.serverUrl,
      participant_token: response.participantToken,
      payload: source.getCachedResponseJwtPayload(),
    };
  }, { url: `${roomkey}/api/token`, request });

  // 2. The join, on the real server: Connected comes after the first peer connection is up.
  log(`Room.connect(${out.fetched.server_url})`);
  out.connected = await page.evaluate(async (timeoutMs) => {
    const { Room, RoomEvent, ConnectionState } = window.LivekitClient;
    const room = new Room();
    window.__room = room;
    const states = [];
    room.on(RoomEvent.ConnectionStateChanged, (s) => states.push(s));
    window.__states = states;
    const { serverUrl, participantToken } = window.__details;
    let timer;
    await Promise.race([
      room.connect(serverUrl, participantToken),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`connect took over ${timeoutMs} ms`)), timeoutMs); }),
    ]).finally(() => clearTimeout(timer));
    const lp = room.localParticipant;
    return {
      state: room.state,
      is_connected: room.state === ConnectionState.Connected,
      states: [...states],
      room_name: room.name,
      room_sid: await room.getSid(),
      identity: lp.identity,
      name: lp.name,
      metadata: lp.metadata,
      attributes: { ...lp.attributes },
      participant_sid: lp.sid,
      permissions: lp.permissions
        ? { canPublish: lp.permissions.canPublish, canSubscribe: lp.permissions.canSubscribe, canPublishData: lp.permissions.canPublishData, hidden: lp.permissions.hidden }
        : null,
      server_info: room.serverInfo ? { version: room.serverInfo.version, protocol: room.serverInfo.protocol } : null,
    };
  }, CONNECT_MS);
  log(`connected as ${out.connected.identity} in ${out.connected.room_name}`);

  // 3. Media: the fake microphone and camera, published (the server acknowledges each track).
  out.published = await page.evaluate(async (timeoutMs) => {
    const room = window.__room;
    let timer;
    await Promise.race([
      (async () => {
        await room.localParticipant.setMicrophoneEnabled(true);
        await room.localParticipant.setCameraEnabled(true);
      })(),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`publishing took over ${timeoutMs} ms`)), timeoutMs); }),
    ]).finally(() => clearTimeout(timer));
    return [...room.localParticipant.trackPublications.values()].map((p) => ({
      sid: p.trackSid,
      kind: p.kind,
      source: p.source,
      muted: p.isMuted,
    }));
  }, PUBLISH_MS);
  log(`published ${out.published.map((p) => p.source).join(", ")}`);

  // 4. The server's own view, through RoomService, while the page is connected.
  const roomName = out.connected.room_name;
  out.server_rooms = await listRooms();
  out.server_participants = await until(
    "RoomService to list the participant as ACTIVE with its two tracks",
    SERVER_SEES_MS,
    async () => {
      const list = await listParticipants(roomName);
      const me = list.find((p) => p.identity === out.connected.identity);
      return me && me.state === "ACTIVE" && (me.tracks ?? []).length >= 2 ? list : undefined;
    },
  );
  out.still_connected = await page.evaluate(() => window.__room.state);

  // 5. Leave; the server forgets the participant.
  await page.evaluate(async () => { await window.__room.disconnect(); });
  out.final_state = await page.evaluate(() => window.__room.state);
  out.states = await page.evaluate(() => [...window.__states]);
  out.server_participants_after_leave = await until(
    "RoomService to list no participant after the page left",
    LEAVE_MS,
    async () => {
      const list = await listParticipants(roomName);
      return list.length === 0 ? list : undefined;
    },
  );
  out.requests_to_roomkey = toRoomkey;
  out.served_by_test = served;
  out.problems = problems;
  await page.close();
} catch (e) {
  process.stderr.write(`livekit-join.mjs: error: ${e && e.stack ? e.stack : e}\n`);
  out.problems = problems;
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(e && e.message ? e.message : e), ...out })}\n`);
  await closeAll();
  process.exit(1);
}
await closeAll();
process.stdout.write(`${JSON.stringify({ ok: true, ...out })}\n`);
process.exit(0);

// The watchdog stays armed until the browser has closed, so a hanging close is bounded too.
async function closeAll() {
  try { if (context) await context.close(); } catch (_) { /* ignore */ }
  try { rmSync(profileDir, { recursive: true, force: true }); } catch (_) { /* ignore */ }
  clearTimeout(watchdog);
}
