// Drives roomkey's web page (GET /) in a real headless Chromium, and LiveKit's own browser SDK
// against the standard token endpoint, then prints what it saw as one JSON document on stdout.
// Progress and failures go to stderr. Used by crates/roomkey/tests/web.rs.
//
//   node interop/browser/webpage.mjs <dev-base-url>
//       [--admin-url URL --admin-key KEY --user-key KEY]   a non-dev server and its callers
//       [--dev-form JSON] [--admin-form JSON]              what to fill in (defaults below)
//       [--expired-token JWT --hostile-token JWT]          tokens for the inspect scenario
//       [--screenshot PATH]                                the filled page (default /tmp/roomkey-page.png)
//
// Scenarios:
//   dev    the --dev server: fill the form, submit, read token/header/claims/expiry, copy the
//          token and read the clipboard back; then a request the server refuses (a room name
//          over the limit), with the field highlighted; then the page's own check of the
//          required identity.
//   admin  a server with a configured admin caller: the key field, no key (401), a wrong key
//          (401), a non-admin key (403), a TTL over the profile's limit (403, field ttl), then the
//          admin key and a token.
//   inspect  the --dev server's "Inspect a token" panel (POST /api/inspect): a token minted with
//          the form and sent to the panel by its Inspect button; --expired-token pasted in; a
//          token whose claims are markup (--hostile-token), shown as text; garbage (malformed);
//          an empty paste, caught by the page. Reads the findings, times, permissions and
//          signature state the panel shows.
//   sdk    livekit-client (interop/node_modules, served to the page by this script) calling
//          TokenSource.endpoint(<dev>/api/token).fetch(...).
//
// Needs interop/node_modules (bash interop/setup.sh) and /usr/bin/chromium
// (bash scripts/install-browser).
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CHROMIUM = "/usr/bin/chromium";
const here = fileURLToPath(new URL(".", import.meta.url));
const interop = join(here, "..");

function die(message) {
  process.stderr.write(`webpage.mjs: error: ${message}\n`);
  process.exit(2);
}
function log(message) {
  process.stderr.write(`webpage.mjs: ${message}\n`);
}

if (!existsSync(join(interop, "node_modules", "playwright-core", "package.json"))) {
  die("playwright-core is not installed in interop/node_modules; run `bash interop/setup.sh`");
}
if (!existsSync(CHROMIUM)) {
  die(`${CHROMIUM} is missing; run \`bash scripts/install-browser\``);
}
const LIVEKIT_UMD = join(interop, "node_modules", "livekit-client", "dist", "livekit-client.umd.js");
if (!existsSync(LIVEKIT_UMD)) {
  die("livekit-client is not installed in interop/node_modules; run `bash interop/setup.sh`");
}
const { chromium } = await import("playwright-core");

// ---- arguments ------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const opts = { screenshot: "/tmp/roomkey-page.png" };
const positional = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a.startsWith("--")) {
    const name = a.slice(2);
    if (i + 1 >= argv.length) die(`${a} needs a value`);
    opts[name] = argv[++i];
  } else {
    positional.push(a);
  }
}
if (positional.length !== 1) {
  die("usage: webpage.mjs <dev-base-url> [--admin-url URL --admin-key KEY --user-key KEY] [--dev-form JSON] [--admin-form JSON] [--screenshot PATH]");
}
const devUrl = positional[0].replace(/\/+$/, "");
const parseJson = (name, fallback) => {
  if (opts[name] === undefined) return fallback;
  try {
    return JSON.parse(opts[name]);
  } catch (e) {
    return die(`--${name} is not JSON: ${e.message}`);
  }
};

// A form: text fields and ttl as values; switches true / false / null (null = "unset").
const DEFAULT_DEV_FORM = {
  identity: "web-alice",
  room: "web-standup",
  name: "Zoë 李 🎧",
  metadata: '{"role":"host","note":"ünïcödé ✓"}',
  ttl: 900,
  destinationRoom: "web-overflow",
  canPublish: false,
  canSubscribe: true,
  canPublishData: null,
  hidden: true,
  roomCreate: false,
  roomList: null,
  roomRecord: true,
  roomAdmin: null,
  ingressAdmin: null,
  canUpdateOwnMetadata: false,
  recorder: null,
  agent: true,
  canSubscribeMetrics: null,
  createRoomIfNotExists: null,
};
const DEFAULT_ADMIN_FORM = {
  identity: "ops-bob",
  room: "ops-room",
  name: "Bob (ops)",
  metadata: "",
  ttl: 5400,
  canPublish: null,
  canSubscribe: true,
  roomAdmin: true,
  roomList: false,
  canSubscribeMetrics: true,
  hidden: null,
};
const devForm = parseJson("dev-form", DEFAULT_DEV_FORM);
const adminForm = parseJson("admin-form", DEFAULT_ADMIN_FORM);
const admin = opts["admin-url"]
  ? { url: opts["admin-url"].replace(/\/+$/, ""), key: opts["admin-key"], userKey: opts["user-key"] }
  : null;
if (admin && (!admin.key || !admin.userKey)) die("--admin-url needs --admin-key and --user-key");

const TEXT = ["identity", "room", "name", "metadata", "destinationRoom"];
const SWITCHES = [
  "canPublish", "canSubscribe", "canPublishData", "hidden", "roomCreate", "roomList", "roomRecord",
  "roomAdmin", "ingressAdmin", "canUpdateOwnMetadata", "recorder", "agent", "canSubscribeMetrics",
  "createRoomIfNotExists",
];
const ALL_INPUTS = ["identity", "room", "ttl", "name", "metadata", ...SWITCHES.slice(0, 13), "destinationRoom", "createRoomIfNotExists"];

// ---- browser ----------------------------------------------------------------------------------
const profileDir = mkdtempSync(join(tmpdir(), "roomkey-chromium-"));
const watchdog = setTimeout(() => {
  process.stderr.write("webpage.mjs: error: timed out after 150 s\n");
  try { rmSync(profileDir, { recursive: true, force: true }); } catch (_) { /* ignore */ }
  process.exit(3);
}, 150_000);

let context;
const inspectTokens = opts["expired-token"]
  ? { expired: opts["expired-token"], hostile: opts["hostile-token"] }
  : null;
if (inspectTokens && !inspectTokens.hostile) die("--expired-token needs --hostile-token");

const results = { chromium: null, dev: null, admin: null, inspect: null, sdk: null };
try {
  log(`launching ${CHROMIUM}`);
  // launchPersistentContext takes the fresh --user-data-dir (Playwright refuses it in args).
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
    ],
    viewport: { width: 1280, height: 900 },
    locale: "en-US",
    timezoneId: "UTC",
  });
  context.setDefaultTimeout(15_000);
  results.chromium = context.browser()?.version() ?? null;
  // Record Content-Security-Policy violations from the start of every document.
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });

  results.dev = await devScenario(devUrl, devForm);
  if (admin) results.admin = await adminScenario(admin, adminForm);
  if (inspectTokens) results.inspect = await inspectScenario(devUrl, inspectTokens);
  results.sdk = await sdkScenario(devUrl);
} catch (e) {
  process.stderr.write(`webpage.mjs: error: ${e && e.stack ? e.stack : e}\n`);
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(e && e.message ? e.message : e), results })}\n`);
  await closeAll();
  process.exit(1);
}
await closeAll();
process.stdout.write(`${JSON.stringify({ ok: true, ...results })}\n`);
process.exit(0);

async function closeAll() {
  clearTimeout(watchdog);
  try { if (context) await context.close(); } catch (_) { /* ignore */ }
  try { rmSync(profileDir, { recursive: true, force: true }); } catch (_) { /* ignore */ }
}

// ---- helpers ----------------------------------------------------------------------------------
async function newPage() {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  return { page, problems };
}

async function fillForm(page, form) {
  for (const [id, value] of Object.entries(form)) {
    if (SWITCHES.includes(id)) {
      await page.selectOption(`#${id}`, value === null ? "" : String(value));
    } else if (id === "ttl") {
      await page.fill("#ttl", value === null ? "" : String(value));
    } else if (TEXT.includes(id)) {
      await page.fill(`#${id}`, value === null ? "" : String(value));
    } else {
      throw new Error(`unknown form field ${id}`);
    }
  }
}

async function labelsAndDescriptions(page) {
  return page.evaluate((ids) => {
    const out = {};
    for (const id of ids) {
      const el = document.getElementById(id);
      const label = document.querySelector(`label[for="${id}"]`);
      const desc = document.getElementById(`${id}-desc`);
      const described = (el?.getAttribute("aria-describedby") || "").split(/\s+/);
      out[id] = {
        tag: el ? el.tagName.toLowerCase() : null,
        type: el ? (el.getAttribute("type") || null) : null,
        label: label ? label.textContent.trim() : null,
        description: desc ? desc.textContent.trim() : null,
        described_by_description: described.includes(`${id}-desc`),
        options: el && el.tagName === "SELECT" ? [...el.options].map((o) => [o.value, o.textContent.trim()]) : null,
      };
    }
    return out;
  }, ALL_INPUTS);
}

async function submitAndWait(page) {
  // Click, wait for the API's answer, then for the page to have rendered it (the page re-enables
  // the button and renders in the same task, right after the answer's body is read).
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/api/v1/generate-access-token") && r.request().method() === "POST"),
    page.click("#submit"),
  ]);
  await response.finished();
  await page.waitForFunction(() => !document.getElementById("submit").disabled && !document.getElementById("form").hasAttribute("aria-busy"));
  await page.waitForSelector("#result:not([hidden]), #error:not([hidden])", { state: "visible" });
  return page.evaluate(() => !document.getElementById("error").hidden);
}

async function readError(page) {
  return page.evaluate(() => ({
    code: document.getElementById("error-code").textContent,
    message: document.getElementById("error-message").textContent,
    text: document.getElementById("error").textContent.trim(),
    invalid: [...document.querySelectorAll('[aria-invalid="true"]')].map((e) => e.id),
    focused: document.activeElement ? document.activeElement.id : null,
    result_visible: !document.getElementById("result").hidden,
  }));
}

async function readResult(page) {
  return page.evaluate(() => {
    const t = (id) => document.getElementById(id).textContent;
    return {
      token: t("token").trim(),
      header: t("header"),
      claims: t("claims"),
      summary: t("summary"),
      identity: t("out-identity"),
      room: t("out-room"),
      server_url: t("server-url"),
      expires_text: t("expires").trim(),
      expires_exp: document.getElementById("expires").dataset.exp ?? null,
      expires_datetime: document.getElementById("expires-at").getAttribute("datetime"),
      request_json: t("request-json"),
      invalid: [...document.querySelectorAll('[aria-invalid="true"]')].map((e) => e.id),
    };
  });
}

async function copyAndReadClipboard(page, origin) {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  // Put something else on the clipboard first, so the read below proves the copy.
  await page.evaluate(() => navigator.clipboard.writeText("not the token"));
  await page.click("#copy");
  await page.waitForFunction(() => document.getElementById("copy").textContent === "Copied");
  const button = await page.textContent("#copy");
  const clipboard = await page.evaluate(() => navigator.clipboard.readText());
  return { button, clipboard };
}

async function storageAndCsp(page) {
  return page.evaluate(() => ({
    local_storage: Object.keys(localStorage),
    session_storage: Object.keys(sessionStorage),
    cookies: document.cookie,
    csp_violations: window.__csp || [],
  }));
}

// Clicks `selector` (a button that sends the token to POST /api/inspect) and waits until the
// panel has rendered the answer, as submitAndWait does for the form. Returns whether the panel
// shows an error.
async function inspectAndWait(page, selector) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/api/inspect") && r.request().method() === "POST"),
    page.click(selector),
  ]);
  await response.finished();
  await page.waitForFunction(() => !document.getElementById("inspect").disabled && !document.getElementById("inspect-form").hasAttribute("aria-busy"));
  await page.waitForSelector("#inspect-result:not([hidden]), #inspect-error:not([hidden])", { state: "visible" });
  return page.evaluate(() => !document.getElementById("inspect-error").hidden);
}

// What the panel shows, as text read off the DOM.
async function readInspection(page) {
  return page.evaluate(() => {
    const t = (id) => document.getElementById(id).textContent;
    const panel = document.getElementById("inspect-panel");
    return {
      status: t("inspect-status"),
      status_live: document.getElementById("inspect-status").getAttribute("aria-live"),
      verdict: t("inspect-verdict"),
      verdict_class: document.getElementById("inspect-verdict").className,
      signature: t("inspect-signature"),
      identity: t("inspect-identity"),
      name: t("inspect-name"),
      room: t("inspect-room"),
      iss: t("inspect-iss"),
      size: t("inspect-size"),
      iat: t("inspect-iat"),
      nbf: t("inspect-nbf"),
      exp: t("inspect-exp"),
      exp_datetime: document.querySelector("#inspect-exp time")?.getAttribute("datetime") ?? null,
      exp_marked_expired: document.querySelector("#inspect-exp .expired") !== null,
      ttl: t("inspect-ttl"),
      judged_at: t("inspect-now"),
      findings: [...document.querySelectorAll("#inspect-findings > li")].map((li) => ({
        severity: li.querySelector(".sev").textContent,
        code: li.querySelector(".finding-code").textContent,
        message: li.querySelector(".finding-message").textContent,
        hint: li.querySelector(".finding-hint").textContent,
      })),
      grants: [...document.querySelectorAll("#inspect-permissions dl")].map((dl) => dl.dataset.claim),
      video: Object.fromEntries(
        [...document.querySelectorAll('#inspect-permissions dl[data-claim="video"] dd')].map((dd) => [dd.dataset.key, dd.textContent]),
      ),
      permissions_text: t("inspect-permissions"),
      claims: t("inspect-claims"),
      // Markup in the claims must stay text: no element the token wrote, no script it ran.
      injected_elements: panel.querySelectorAll("img, script, b, iframe").length,
      pwned: window.__pwned ?? null,
    };
  });
}

async function modeText(page, want) {
  await page.waitForFunction((w) => document.getElementById("mode").textContent.includes(w), want);
  return page.textContent("#mode");
}

// ---- scenarios --------------------------------------------------------------------------------
async function devScenario(base, form) {
  log(`dev scenario against ${base}`);
  const { page, problems } = await newPage();
  const response = await page.goto(`${base}/`);
  const out = {
    status: response.status(),
    csp_header: response.headers()["content-security-policy"] ?? null,
    dev_header: response.headers()["x-roomkey-dev"] ?? null,
    title: await page.title(),
  };
  out.mode = await modeText(page, "Development");
  out.api_key_visible = await page.isVisible("#apiKey");
  out.fields = await labelsAndDescriptions(page);
  out.form = form;
  await fillForm(page, form);
  if (await submitAndWait(page)) throw new Error(`dev: the page showed an error: ${JSON.stringify(await readError(page))}`);
  out.result = await readResult(page);
  out.copy = await copyAndReadClipboard(page, new URL(base).origin);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: opts.screenshot, fullPage: true });
  out.screenshot = opts.screenshot;
  log(`screenshot: ${opts.screenshot}`);

  // A refused request: a room name over LiveKit's 256-byte limit (the API names the field).
  await page.fill("#room", "r".repeat(300));
  if (!(await submitAndWait(page))) throw new Error("dev: a 300-byte room name was not refused");
  out.refused = await readError(page);
  await page.fill("#room", form.room ?? "");

  // The page's own check: the identity is required (no request is sent).
  let requests = 0;
  const count = (r) => { if (r.url().includes("/api/")) requests++; };
  page.on("request", count);
  await page.fill("#identity", "");
  await page.click("#submit");
  await page.waitForSelector('#identity[aria-invalid="true"]');
  page.off("request", count);
  out.identity_required = {
    invalid: await page.getAttribute("#identity", "aria-invalid"),
    message: (await page.textContent("#identity-err")).trim(),
    requests_sent: requests,
  };
  Object.assign(out, await storageAndCsp(page));
  out.problems = problems;
  await page.close();
  return out;
}

async function adminScenario({ url: base, key, userKey }, form) {
  log(`admin scenario against ${base}`);
  const { page, problems } = await newPage();
  const response = await page.goto(`${base}/`);
  const out = { status: response.status(), dev_header: response.headers()["x-roomkey-dev"] ?? null };
  out.mode = await modeText(page, "Admin");
  out.api_key_visible = await page.isVisible("#apiKey");
  out.api_key_type = await page.getAttribute("#apiKey", "type");
  out.api_key_label = (await page.textContent('label[for="apiKey"]')).trim();
  out.form = form;
  await fillForm(page, form);

  const attempt = async (k, extra) => {
    await page.fill("#apiKey", k);
    if (extra) await fillForm(page, extra);
    const failed = await submitAndWait(page);
    return failed ? { error: await readError(page) } : { result: await readResult(page) };
  };
  out.no_key = await attempt("");
  out.wrong_key = await attempt(`${key}-wrong`);
  out.error_screenshot = opts.screenshot.replace(/(\.png)?$/, "-admin-error.png");
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: out.error_screenshot });
  out.user_key = await attempt(userKey);
  out.ttl_too_long = await attempt(key, { ttl: 10 * 86400 });
  // TTLs as the CLI takes them: 0 is refused at the field, a duration string is read.
  out.ttl_zero = await attempt(key, { ttl: "0" });
  out.ttl_duration = await attempt(key, { ttl: "1h30m" });
  const ok = await attempt(key, { ttl: form.ttl ?? "" });
  if (!ok.result) throw new Error(`admin: the page showed an error: ${JSON.stringify(ok.error)}`);
  out.result = ok.result;
  out.copy = await copyAndReadClipboard(page, new URL(base).origin);
  Object.assign(out, await storageAndCsp(page));
  out.problems = problems;
  await page.close();
  return out;
}

async function inspectScenario(base, tokens) {
  log(`inspect scenario against ${base}`);
  const { page, problems } = await newPage();
  await page.goto(`${base}/`);
  await modeText(page, "Development");
  const out = {
    token_label: (await page.textContent('label[for="inspect-token"]')).trim(),
    token_described_by: await page.getAttribute("#inspect-token", "aria-describedby"),
  };

  // A token minted by the form, sent to the panel by the Inspect button next to it.
  await fillForm(page, { identity: "inspect-carol", room: "inspect-room", name: "Carol", ttl: 600 });
  if (await submitAndWait(page)) throw new Error(`inspect: the form showed an error: ${JSON.stringify(await readError(page))}`);
  const minted = (await page.textContent("#token")).trim();
  if (await inspectAndWait(page, "#inspect-minted")) throw new Error("inspect: the minted token was refused");
  out.minted = await readInspection(page);
  out.minted.pasted = (await page.inputValue("#inspect-token")) === minted;

  const paste = async (text) => {
    await page.fill("#inspect-token", text);
    const failed = await inspectAndWait(page, "#inspect");
    if (failed) throw new Error(`inspect: the panel showed an error for ${JSON.stringify(text.slice(0, 40))}: ${await page.textContent("#inspect-error")}`);
    return readInspection(page);
  };
  out.expired = await paste(tokens.expired);
  out.screenshot = opts.screenshot.replace(/(\.png)?$/, "-inspect.png");
  await page.locator("#inspect-panel").screenshot({ path: out.screenshot });
  log(`screenshot: ${out.screenshot}`);
  out.hostile = await paste(tokens.hostile);
  out.garbage = await paste("this is not a token");

  // The page's own check: an empty paste sends nothing.
  let requests = 0;
  const count = (r) => { if (r.url().includes("/api/")) requests++; };
  page.on("request", count);
  await page.fill("#inspect-token", "");
  await page.click("#inspect");
  await page.waitForSelector('#inspect-token[aria-invalid="true"]');
  page.off("request", count);
  out.empty = {
    message: (await page.textContent("#inspect-token-err")).trim(),
    requests_sent: requests,
  };
  Object.assign(out, await storageAndCsp(page));
  out.problems = problems;
  await page.close();
  return out;
}

async function sdkScenario(base) {
  log(`sdk scenario: livekit-client TokenSource.endpoint(${base}/api/token)`);
  const { page, problems } = await newPage();
  const version = JSON.parse(readFileSync(join(interop, "node_modules", "livekit-client", "package.json"), "utf8")).version;
  const scriptUrl = `${base}/__roomkey-test__/livekit-client.umd.js`;
  // Served by this script from interop/node_modules, on the page's own origin (script-src 'self').
  await page.route(scriptUrl, (route) =>
    route.fulfill({ status: 200, contentType: "text/javascript; charset=utf-8", body: readFileSync(LIVEKIT_UMD, "utf8") }),
  );
  await page.goto(`${base}/`);
  await page.addScriptTag({ url: scriptUrl });
  await page.waitForFunction(() => typeof window.LivekitClient?.TokenSource?.endpoint === "function");
  const request = {
    roomName: "sdk-room",
    participantName: "SDK Ünïcode",
    participantIdentity: "sdk-user",
    participantMetadata: "sdk-meta",
    participantAttributes: { team: "blue" },
    agentName: "triage",
    agentMetadata: '{"lang":"de"}',
  };
  const got = await page.evaluate(async ({ url, request }) => {
    const source = window.LivekitClient.TokenSource.endpoint(url);
    const response = await source.fetch(request);
    return {
      server_url: response.serverUrl,
      participant_token: response.participantToken,
      keys: Object.keys(response),
      payload: source.getCachedResponseJwtPayload(),
    };
  }, { url: `${base}/api/token`, request });
  const out = { livekit_client: version, request, ...got, ...(await storageAndCsp(page)), problems };
  await page.close();
  return out;
}
