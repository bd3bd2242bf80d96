// Verifies tokens with the Node livekit-server-sdk TokenVerifier (real clock, default 10 s tolerance).
// stdin:  {"apiKey","apiSecret","tokens":[{"id","token"}]}
// stdout: [{"id","ok":true,"claims":<the raw payload TokenVerifier returns>} | {"id","ok":false,"error"}]
import { checkPinnedVersion, readStdinJson, writeStdoutJson } from "./common.mjs";

checkPinnedVersion();
const { TokenVerifier } = await import("livekit-server-sdk");

const input = readStdinJson();
const verifier = new TokenVerifier(input.apiKey, input.apiSecret);
const out = [];
for (const { id, token } of input.tokens) {
  try {
    const claims = await verifier.verify(token);
    out.push({ id, ok: true, claims });
  } catch (e) {
    out.push({ id, ok: false, error: `${e.code ?? e.name}: ${e.message}` });
  }
}
writeStdoutJson(out);
