// Shared helpers for the Node side of roomkey's interop tests.
// Protocol: one JSON document on stdin, one JSON document on stdout.
import { readFileSync } from "node:fs";

export const PINNED_SERVER_SDK = "2.19.2";

/** Fails unless the installed livekit-server-sdk is the pinned version. */
export function checkPinnedVersion() {
  const url = new URL("../node_modules/livekit-server-sdk/package.json", import.meta.url);
  let version;
  try {
    version = JSON.parse(readFileSync(url, "utf8")).version;
  } catch (e) {
    fail(`livekit-server-sdk is not installed (${e.message}); run interop/setup.sh`);
  }
  if (version !== PINNED_SERVER_SDK) {
    fail(`livekit-server-sdk ${version} is installed, ${PINNED_SERVER_SDK} is pinned; run interop/setup.sh`);
  }
}

export function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

export function readStdinJson() {
  const text = readFileSync(0, "utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    fail(`stdin is not JSON: ${e.message}`);
  }
}

export function writeStdoutJson(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
