// The Node side of scripts/bench-batch: one join token per row with the Node livekit-server-sdk
// AccessToken, minted in a loop as a user would, written as the same JSON Lines as
// `roomkey token batch` ({"token","identity","room","expires_at"}).
//
//   LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \
//     node interop/node/batch-mint.mjs --input rows.csv --output out.jsonl --room standup --ttl 21600
//
// --input: a CSV file whose header is `identity,name`, unquoted cells only (what the bench
// generates; anything else is refused). --output FILE is written under a temporary name,
// fsync'd and renamed, as roomkey does; --output - writes to standard output. --ttl in seconds.
// The last line on stderr is `minted N tokens`.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { checkPinnedVersion, fail } from "./common.mjs";

checkPinnedVersion();
const { AccessToken } = await import("livekit-server-sdk");

const args = { input: null, output: null, room: null, ttl: null };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const name = argv[i].replace(/^--/, "");
  if (!(name in args) || argv[i + 1] === undefined) fail(`batch-mint.mjs: bad argument ${argv[i]}`);
  args[name] = argv[i + 1];
}
for (const [name, value] of Object.entries(args)) {
  if (value === null) fail(`batch-mint.mjs: --${name} is required`);
}
const ttl = Number(args.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) fail("batch-mint.mjs: --ttl is a positive number of seconds");
const apiKey = process.env.LIVEKIT_API_KEY;
const apiSecret = process.env.LIVEKIT_API_SECRET;
if (!apiKey || !apiSecret) fail("batch-mint.mjs: set LIVEKIT_API_KEY and LIVEKIT_API_SECRET");

const lines = readFileSync(args.input, "utf8").split("\n");
if (lines[0].trim() !== "identity,name") fail("batch-mint.mjs: the header must be identity,name");

let fd = 1;
let temporary = null;
if (args.output !== "-") {
  temporary = join(dirname(args.output), `.${basename(args.output)}.node-${process.pid}.tmp`);
  fd = openSync(temporary, "w");
}
const room = JSON.stringify(args.room);
let pending = [];
let minted = 0;
try {
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === "") continue;
    const comma = line.indexOf(",");
    if (comma < 0 || line.includes('"')) throw new Error(`row ${i}: not an unquoted identity,name row`);
    const identity = line.slice(0, comma);
    const name = line.slice(comma + 1).replace(/\r$/, "");
    const at = new AccessToken(apiKey, apiSecret, { identity, name, ttl });
    at.addGrant({ roomJoin: true, room: args.room });
    const token = await at.toJwt();
    const expiresAt = Math.floor(Date.now() / 1000) + ttl;
    pending.push(
      `{"token":"${token}","identity":${JSON.stringify(identity)},"room":${room},"expires_at":${expiresAt}}\n`,
    );
    minted++;
    if (pending.length === 4096) {
      writeSync(fd, pending.join(""));
      pending = [];
    }
  }
  writeSync(fd, pending.join(""));
  if (temporary !== null) {
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temporary, args.output);
  }
} catch (e) {
  if (temporary !== null) {
    try {
      unlinkSync(temporary);
    } catch {}
  }
  fail(`batch-mint.mjs: ${e.message ?? e}`);
}
process.stderr.write(`minted ${minted} tokens\n`);
