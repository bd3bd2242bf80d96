"""Verifies tokens with the Python livekit-api TokenVerifier (real clock, default 60 s leeway).

stdin:  {"apiKey","apiSecret","tokens":[{"id","token"}]}
stdout: [{"id","ok":true,"claims":{...}} | {"id","ok":false,"error"}]

claims is the Claims dataclass that TokenVerifier.verify returns, as a dict with the SDK's own
(snake_case) field names; room_config, a protobuf message, is given as MessageToDict's JSON.
"""

import dataclasses
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check_pinned_version, read_stdin_json, write_stdout_json  # noqa: E402

check_pinned_version()

from google.protobuf.json_format import MessageToDict  # noqa: E402
from livekit.api.access_token import TokenVerifier  # noqa: E402


def to_dict(claims):
    room_config = claims.room_config
    out = dataclasses.asdict(dataclasses.replace(claims, room_config=None))
    out["room_config"] = None if room_config is None else MessageToDict(room_config)
    return out


def main():
    request = read_stdin_json()
    verifier = TokenVerifier(request["apiKey"], request["apiSecret"])
    out = []
    for item in request["tokens"]:
        try:
            claims = verifier.verify(item["token"])
            out.append({"id": item["id"], "ok": True, "claims": to_dict(claims)})
        except Exception as e:  # noqa: BLE001
            out.append({"id": item["id"], "ok": False, "error": f"{type(e).__name__}: {e}"})
    write_stdout_json(out)


main()
