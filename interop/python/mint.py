"""Mints one token per spec with the Python livekit-api AccessToken, as a user would.

stdin:  {"apiKey","apiSecret","now": <unix seconds, or null for the real clock>,"specs":[{"id","ttl","claims"}]}
stdout: [{"id","token","unsupported":[claim paths this SDK cannot express]}]

A claim the SDK cannot express is left out (and listed); an unknown claim is an error.
The builder is used with its own defaults: VideoGrants' can_publish, can_subscribe and
can_publish_data default to True and are therefore always written (spec section 4).
"""

import datetime as _dt
import os
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check_pinned_version, fail, read_stdin_json, write_stdout_json  # noqa: E402

check_pinned_version()

from google.protobuf.json_format import ParseDict  # noqa: E402
from livekit.api import access_token as lkat  # noqa: E402
from livekit.api.access_token import (  # noqa: E402
    AccessToken,
    AgentEndpointGrants,
    AgentGrants,
    AgentThreadGrants,
    InferenceGrants,
    ObservabilityGrants,
    SIPGrants,
    VideoGrants,
    camel_to_snake,
)
from livekit.protocol.room import RoomConfiguration  # noqa: E402

UNSUPPORTED_TOP = {"kindDetails"}
GRANTS = {
    "video": (VideoGrants, "with_grants"),
    "sip": (SIPGrants, "with_sip_grants"),
    "inference": (InferenceGrants, "with_inference_grants"),
    "observability": (ObservabilityGrants, "with_observability_grants"),
    "agent": (AgentGrants, "with_agent_grants"),
    "agentEndpoint": (AgentEndpointGrants, "with_agent_endpoint_grants"),
    "agentThread": (AgentThreadGrants, "with_agent_thread_grants"),
}
SETTERS = {
    "sub": "with_identity",
    "name": "with_name",
    "metadata": "with_metadata",
    "kind": "with_kind",
    "attributes": "with_attributes",
    "sha256": "with_sha256",
    "roomPreset": "with_room_preset",
}


def pin_clock(now) -> None:
    """access_token.py reads the clock only through datetime.datetime.now(timezone.utc)."""
    if now is None:
        lkat.datetime = _dt
        return

    class FixedDateTime(_dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return _dt.datetime.fromtimestamp(now, tz or _dt.timezone.utc)

    lkat.datetime = types.SimpleNamespace(
        datetime=FixedDateTime, timezone=_dt.timezone, timedelta=_dt.timedelta
    )


def grant(cls, spec_id, where, obj):
    fields = cls.__dataclass_fields__
    kwargs = {}
    for key, value in obj.items():
        name = camel_to_snake(key)
        if name not in fields:
            fail(f"spec {spec_id}: claim {where}.{key} is not a field of {cls.__name__}")
        kwargs[name] = value
    return cls(**kwargs)


def mint(api_key, api_secret, spec):
    token = AccessToken(api_key, api_secret).with_ttl(_dt.timedelta(seconds=spec["ttl"]))
    unsupported = []
    for key, value in spec["claims"].items():
        if key in UNSUPPORTED_TOP:
            unsupported.append(key)
        elif key in GRANTS:
            cls, method = GRANTS[key]
            token = getattr(token, method)(grant(cls, spec["id"], key, value))
        elif key in SETTERS:
            token = getattr(token, SETTERS[key])(value)
        elif key == "roomConfig":
            token = token.with_room_config(ParseDict(value, RoomConfiguration()))
        else:
            fail(f"spec {spec['id']}: claim {key} is not known to this script")
    return {"id": spec["id"], "token": token.to_jwt(), "unsupported": unsupported}


def main():
    request = read_stdin_json()
    pin_clock(request.get("now"))
    out = []
    for spec in request["specs"]:
        try:
            out.append(mint(request["apiKey"], request["apiSecret"], spec))
        except Exception as e:  # noqa: BLE001
            fail(f"spec {spec['id']}: {type(e).__name__}: {e}")
    write_stdout_json(out)


main()
