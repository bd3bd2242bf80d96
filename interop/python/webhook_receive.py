"""A webhook receiver on the Python livekit-api's own WebhookReceiver (TokenVerifier: PyJWT,
HS256, the configured key as issuer, `exp` required, 60 s leeway; a missing sha256 claim is an
error; the decoded digests are compared).

    LIVEKIT_API_KEY=... LIVEKIT_API_SECRET=... python python/webhook_receive.py [PORT]

Listens on 127.0.0.1:PORT (0 or none: a free port) with the standard library's http.server, one
request at a time. stdout: {"listening":"http://127.0.0.1:PORT"}, then one line per request,
written before it is answered: {"ok":true,"event","id","room","error":null} (answered 200 with
the event's name) or {"ok":false,"event":null,"id":null,"room":null,"error"} (answered 401 with
the SDK's message). Stops on EOF of stdin and on SIGTERM.
"""

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check_pinned_version, fail  # noqa: E402

check_pinned_version()

from livekit.api import TokenVerifier, WebhookReceiver  # noqa: E402

_print_lock = threading.Lock()


def record(value) -> None:
    with _print_lock:
        sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
        sys.stdout.flush()


def refused(error: str):
    return {"ok": False, "event": None, "id": None, "room": None, "error": error}


def make_handler(receiver: WebhookReceiver):
    class Handler(BaseHTTPRequestHandler):
        def answer(self, status: int, text: str) -> None:
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            # receive() takes the body as str and hashes body.encode() (UTF-8): the raw bytes
            # are decoded once, as a framework's request.text does, and not parsed before it.
            body = raw.decode("utf-8", errors="replace")
            # The SDK's signature takes a str; an absent header is the empty string.
            auth = self.headers.get("Authorization", "")
            try:
                event = receiver.receive(body, auth)
            except Exception as e:  # noqa: BLE001 (the SDK raises plain Exception too)
                error = f"{type(e).__name__}: {e}"
                record(refused(error))
                self.answer(401, error)
                return
            room = event.room.name if event.HasField("room") else None
            record({"ok": True, "event": event.event, "id": event.id, "room": room, "error": None})
            self.answer(200, event.event)

        def do_GET(self) -> None:  # noqa: N802
            error = f"method {self.command} is not POST"
            record(refused(error))
            self.answer(405, error)

        do_PUT = do_DELETE = do_PATCH = do_GET  # noqa: N815

        def log_message(self, format, *args) -> None:  # noqa: A002
            # Access logs on stderr, where the harness keeps them; stdout is only records.
            sys.stderr.write("webhook_receive: " + (format % args) + "\n")

    return Handler


def main() -> None:
    args = sys.argv[1:]
    if len(args) > 1 or (args and not (args[0].isdigit() and int(args[0]) <= 65535)):
        fail("usage: python python/webhook_receive.py [PORT]")
    port = int(args[0]) if args else 0
    api_key = os.environ.get("LIVEKIT_API_KEY")
    api_secret = os.environ.get("LIVEKIT_API_SECRET")
    if not api_key or not api_secret:
        fail("set LIVEKIT_API_KEY and LIVEKIT_API_SECRET")
    receiver = WebhookReceiver(TokenVerifier(api_key, api_secret))

    # serve_forever runs on a thread; the main thread reads stdin to its EOF, and SIGTERM
    # interrupts that read by raising. (A daemon thread blocked on stdin instead makes the
    # interpreter abort at exit.) The handler is in place before the listening line, which
    # tells the test that both ways of stopping work.
    class Stop(Exception):
        pass

    def on_sigterm(*_) -> None:
        raise Stop

    signal.signal(signal.SIGTERM, on_sigterm)
    server = serving = None
    try:
        # Loopback only: the tests' requests never leave the machine.
        server = HTTPServer(("127.0.0.1", port), make_handler(receiver))
        serving = threading.Thread(target=server.serve_forever)
        serving.start()
        record({"listening": f"http://127.0.0.1:{server.server_address[1]}"})
        sys.stdin.buffer.read()
    except Stop:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if serving is not None:
        # Waits for serve_forever to return (it sees the request even if it had not started).
        server.shutdown()
        serving.join()
    if server is not None:
        server.server_close()

main()
