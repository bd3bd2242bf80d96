// A webhook receiver on the Node livekit-server-sdk's own WebhookReceiver (2.x: async
// receive(body, authHeader), jose's jwtVerify with the configured key as issuer, `exp` required,
// default clock tolerance 10 s, the base64 digest compared as a string).
//
//   LIVEKIT_API_KEY=… LIVEKIT_API_SECRET=… node node/webhook-receive.mjs [PORT]
//
// Listens on 127.0.0.1:PORT (0 or none: a free port). stdout: {"listening":"http://127.0.0.1:PORT"},
// then one line per request, written before it is answered:
// {"ok":true,"event","id","room","error":null} (answered 200 with the event's name) or
// {"ok":false,"event":null,"id":null,"room":null,"error"} (answered 401 with the SDK's message).
// Stops on EOF of stdin and on SIGTERM.
import { createServer } from "node:http";
import { checkPinnedVersion, fail } from "./common.mjs";

checkPinnedVersion();
const { WebhookReceiver } = await import("livekit-server-sdk");

const args = process.argv.slice(2);
if (args.length > 1 || (args.length === 1 && !/^\d{1,5}$/.test(args[0]))) {
  fail("usage: node node/webhook-receive.mjs [PORT]");
}
const port = Number(args[0] ?? 0);
const apiKey = process.env.LIVEKIT_API_KEY;
const apiSecret = process.env.LIVEKIT_API_SECRET;
if (!apiKey || !apiSecret) fail("set LIVEKIT_API_KEY and LIVEKIT_API_SECRET");
const receiver = new WebhookReceiver(apiKey, apiSecret);

// process.stdout is synchronous for pipes and files on Linux, so a record is out before the
// answer that follows it.
const record = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const refused = (error) => ({ ok: false, event: null, id: null, room: null, error });

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", async () => {
    const answer = (status, text) => {
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
      res.end(text);
    };
    if (req.method !== "POST") {
      const error = `method ${req.method} is not POST`;
      record(refused(error));
      return answer(405, error);
    }
    // receive() takes the body as a string and hashes its UTF-8 encoding: the raw bytes are
    // decoded once, as an Express or plain-http app does, and not parsed before it.
    const body = Buffer.concat(chunks).toString("utf8");
    try {
      const event = await receiver.receive(body, req.headers.authorization);
      record({ ok: true, event: event.event, id: event.id, room: event.room?.name ?? null, error: null });
      answer(200, event.event);
    } catch (e) {
      const error = `${e.code ?? e.name}: ${e.message}`;
      record(refused(error));
      answer(401, error);
    }
  });
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  // Keep-alive connections would hold close() open.
  server.closeAllConnections();
}
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();

server.listen(port, "127.0.0.1", () => {
  record({ listening: `http://127.0.0.1:${server.address().port}` });
});
