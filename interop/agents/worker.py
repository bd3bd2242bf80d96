"""A real LiveKit agent worker for roomkey's interop tests: PyPI `livekit-agents` 1.8.9 (no AI
plugins) registers with a real LiveKit server for one explicit agent name, accepts every job the
server dispatches to it, records each job and ends it. Used by
crates/roomkey-interop/src/agent_worker.rs, so that tests can assert which jobs the server
dispatched (a token's roomConfig.agents, AgentDispatchService.CreateDispatch).

    worker.py --agent-name NAME --jobs FILE [--url ws://127.0.0.1:PORT] [--api-key KEY]
              [--api-secret SECRET]

--url, --api-key and --api-secret default to LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET.
The URL must name a loopback host: the worker talks to nothing else.

For each job it appends one JSON line to FILE (one write, so a reader never sees half a record):
  {"id": "AJ_…", "dispatch_id": "AD_…", "agent_name": …, "room": …, "room_sid": "RM_…",
   "metadata": "<the dispatch's metadata, verbatim>", "worker_id": "AW_…", "time": <unix seconds>}

stdout, one line each, flushed (the harness waits for the first):
  roomkey-agent-worker: registered {"worker_id": "AW_…", "agent_name": …, "server_version": …}
  roomkey-agent-worker: job {<the record above>}
  roomkey-agent-worker: stopping (SIGTERM)
  roomkey-agent-worker: stopped
stderr: the framework's log (INFO and up, extras as JSON).

How it runs, and why:
- the AgentServer API with our own asyncio loop and signal handling, not the framework's CLI (the
  deprecated rich CLI also sets up a console, audio devices and a file watcher). SIGTERM or
  SIGINT drains the worker (bounded) and closes it; the exit code is then 0;
- the THREAD job executor: each job runs in a thread of this process, so the entrypoint writes the
  jobs file directly and no forkserver is started (that would preload the framework's media and
  inference modules into a process of its own);
- no load shedding (a load function that says 0 and an infinite threshold): on a busy test
  machine the default (CPU load against 0.7) would mark the worker full, and the server would
  then skip it;
- the entrypoint records the job and calls ctx.shutdown() without connecting to the room: the
  job then ends as JS_SUCCESS on the server, and no agent participant joins the test's room.

Nothing here reaches past the machine:
- LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE=0: the job executor's warm-up (livekit.agents.ipc._preload)
  would otherwise load the bundled VAD and end-of-turn models;
- every other LIVEKIT_* and OTEL_* variable and the proxy variables are removed before the
  framework is imported: LIVEKIT_OBSERVABILITY_URL (or a *.livekit.cloud URL) switches on the
  OTLP trace/log upload and the session-report upload, LIVEKIT_WORKER_TOKEN and
  LIVEKIT_AGENT_DEPLOYMENT are for hosted agents, LIVEKIT_AGENT_NAME_OVERRIDE would replace the
  agent name, LIVEKIT_INFERENCE_* and LIVEKIT_REMOTE_EOT_URL point at LiveKit's inference gateway;
- the URL must be loopback, and the worker's health-check HTTP server binds 127.0.0.1.

Exit codes: 0 stopped by a signal, 1 the worker failed (e.g. could not connect), 2 bad arguments
or environment.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import math
import os
import signal
import sys
import time
from urllib.parse import urlparse

PINNED_AGENTS = "1.8.9"
PREFIX = "roomkey-agent-worker:"
# How long a SIGTERM waits for running jobs to end, and then for the worker to close.
DRAIN_SECONDS = 10
CLOSE_SECONDS = 15


def fail(message: str) -> None:
    sys.stderr.write(f"worker.py: {message}\n")
    sys.stderr.flush()
    sys.exit(2)


def say(what: str, payload: dict | None = None) -> None:
    line = f"{PREFIX} {what}"
    if payload is not None:
        line += " " + json.dumps(payload, ensure_ascii=False, sort_keys=True)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="roomkey's test agent worker (livekit-agents)")
    parser.add_argument("--agent-name", required=True, help="the explicit agent name to register")
    parser.add_argument("--jobs", required=True, help="file to append one JSON line per job to")
    parser.add_argument("--url", default=os.environ.get("LIVEKIT_URL", ""))
    parser.add_argument("--api-key", default=os.environ.get("LIVEKIT_API_KEY", ""))
    parser.add_argument("--api-secret", default=os.environ.get("LIVEKIT_API_SECRET", ""))
    args = parser.parse_args()
    if not args.agent_name:
        fail("--agent-name must not be empty (an empty name is the automatic dispatch)")
    for name in ("url", "api_key", "api_secret"):
        if not getattr(args, name):
            fail(f"--{name.replace('_', '-')} (or LIVEKIT_{name.upper()}) is required")
    return args


def require_loopback(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("ws", "wss", "http", "https"):
        fail(f"{url!r} is not a ws:// or http:// URL")
    host = parsed.hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    fail(f"{url!r} is not on a loopback address; this worker talks to the test server only")


def scrub_environment() -> None:
    """Removes what could point the framework at anything but the test server (see above)."""
    for name in list(os.environ):
        upper = name.upper()
        if (
            upper.startswith("LIVEKIT_")
            or upper.startswith("OTEL_")
            or upper in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "PROMETHEUS_MULTIPROC_DIR")
        ):
            del os.environ[name]
    os.environ["LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE"] = "0"


class ExtrasFormatter(logging.Formatter):
    """The usual line, then the record's `extra=` fields (job ids, rooms) as JSON."""

    STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in self.STANDARD}
        if extras:
            line += " " + json.dumps(extras, default=str, ensure_ascii=False)
        return line


def setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ExtrasFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def append_record(path: str, record: dict) -> None:
    line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def main() -> int:
    args = parse_args()
    require_loopback(args.url)
    scrub_environment()

    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("livekit-agents")
    except PackageNotFoundError:
        fail("livekit-agents is not installed in this interpreter; run interop/setup.sh")
    if installed != PINNED_AGENTS:
        fail(f"livekit-agents {installed} is installed, {PINNED_AGENTS} is pinned; run interop/setup.sh")

    setup_logging()
    from livekit.agents import AgentServer, JobContext, JobExecutorType, JobRequest

    jobs_path = os.path.abspath(args.jobs)
    agent_name = args.agent_name

    server = AgentServer(
        job_executor_type=JobExecutorType.THREAD,
        load_threshold=math.inf,
        load_fnc=lambda: 0.0,
        num_idle_processes=1,
        drain_timeout=DRAIN_SECONDS,
        shutdown_process_timeout=5.0,
        initialize_process_timeout=30.0,
        # a server that is not there fails the worker within seconds (retries wait 0, 2, 4 s)
        max_retry=3,
        ws_url=args.url,
        api_key=args.api_key,
        api_secret=args.api_secret,
        host="127.0.0.1",
        port=0,
        http_proxy=None,
    )

    async def accept_every_job(req: JobRequest) -> None:
        await req.accept()

    async def entrypoint(ctx: JobContext) -> None:
        job = ctx.job
        record = {
            "id": job.id,
            "dispatch_id": job.dispatch_id,
            "agent_name": job.agent_name,
            "room": job.room.name,
            "room_sid": job.room.sid,
            "metadata": job.metadata,
            "worker_id": ctx.worker_id,
            "time": time.time(),
        }
        append_record(jobs_path, record)
        say("job", record)
        ctx.shutdown(reason="recorded by roomkey's test worker")

    server.rtc_session(entrypoint, agent_name=agent_name, on_request=accept_every_job)

    def on_registered(worker_id: str, server_info) -> None:
        say(
            "registered",
            {
                "worker_id": worker_id,
                "agent_name": agent_name,
                "server_version": server_info.version,
                "protocol": server_info.protocol,
            },
        )

    server.on("worker_registered", on_registered)
    return asyncio.run(run(server))


async def run(server) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)

    run_task = asyncio.create_task(server.run(devmode=False), name="agent_server_run")
    stop_task = asyncio.create_task(stop.wait(), name="stop_signal")
    await asyncio.wait({run_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    code = 0
    if run_task.done():
        error = run_task.exception()
        logging.getLogger("worker.py").error("the worker stopped by itself: %r", error)
        code = 1
    else:
        say(f"stopping ({received[0]})")
        try:
            await server.drain(timeout=DRAIN_SECONDS)
        except asyncio.TimeoutError:
            logging.getLogger("worker.py").warning("jobs still running after %d s", DRAIN_SECONDS)
    stop_task.cancel()
    try:
        await asyncio.wait_for(server.aclose(), CLOSE_SECONDS)
    except asyncio.TimeoutError:
        logging.getLogger("worker.py").warning("the worker did not close within %d s", CLOSE_SECONDS)
        code = code or 1
    if not run_task.done():
        run_task.cancel()
    await asyncio.gather(run_task, return_exceptions=True)
    say("stopped")
    return code


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The realtime core's threads (a job's rtc.Room) can outlive asyncio.run; do not wait for them.
    os._exit(code)
