"""Shared helpers for the Python side of roomkey's interop tests.

Protocol: one JSON document on stdin, one JSON document on stdout.
"""

import json
import sys
from importlib.metadata import PackageNotFoundError, version

PINNED_LIVEKIT_API = "1.2.2"


def fail(message: str) -> "None":
    sys.stderr.write(message + "\n")
    sys.exit(2)


def check_pinned_version() -> None:
    try:
        installed = version("livekit-api")
    except PackageNotFoundError:
        fail("livekit-api is not installed in this interpreter; run interop/setup.sh")
    if installed != PINNED_LIVEKIT_API:
        fail(f"livekit-api {installed} is installed, {PINNED_LIVEKIT_API} is pinned; run interop/setup.sh")


def read_stdin_json():
    try:
        return json.load(sys.stdin)
    except ValueError as e:
        fail(f"stdin is not JSON: {e}")


def write_stdout_json(value) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
