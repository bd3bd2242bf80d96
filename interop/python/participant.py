"""Real participants for roomkey's interop tests: the PyPI realtime SDK `livekit` (the Rust core,
liblivekit_ffi.so) joins a real LiveKit server with the tokens it is given and does what a script
says, reporting what it saw. Used by crates/roomkey-interop/tests/participants.rs.

stdin: one JSON script
  {"url": "ws://127.0.0.1:PORT",
   "deadline": 90,                                  # seconds for the whole script (hard cap)
   "participants": {"NAME": {"token": "...", "auto_subscribe": true}, ...},
   "steps": [STEP, ...]}

Steps run in order; each has "op" and an optional "id" echoed in its result. Every wait is bounded
by its "timeout" (seconds, default 10).
  {"op": "connect", "who": NAME, "timeout"}        -> {ok, error?, room, identity, sid, permission}
  {"op": "publish", "who", "kind": "audio"|"video", "source": "microphone"|"camera"|
       "screen_share"|"screen_share_audio", "name", "timeout"}
                                                   -> {ok, error?, error_type?, elapsed, sid?}
       (audio: a 440 Hz sine at 48 kHz; video: 64x64 RGBA frames; fed until disconnect)
  {"op": "publish_data", "who", "payload", "topic"} -> {ok, error?}
  {"op": "wait_participant", "who", "identity", "timeout"}
                                                   -> {seen, elapsed, info?}
  {"op": "wait_gone", "who", "identity", "timeout"} -> {gone, elapsed}
  {"op": "wait_data", "who", "from", "timeout"}    -> {received, elapsed, packets}
  {"op": "wait_subscribed", "who", "from", "source"?, "timeout"}
                                                   -> {subscribed, elapsed, track_sid?}
  {"op": "wait_audio", "who", "from", "frames", "timeout"}
                                                   -> {frames, nonzero_frames, elapsed}
       (reads the subscribed audio track of `from` until `frames` frames with sound arrived)
  {"op": "wait_disconnected", "who", "timeout"}    -> {disconnected, reason?, elapsed}
  {"op": "remove_participant", "url": "http://...", "token", "room", "identity", "timeout"}
       (RoomService.RemoveParticipant through livekit-api's LiveKitAPI with the given token)
                                                   -> {ok, error?}
  {"op": "sleep", "seconds"}                       -> {}
  {"op": "snapshot", "who"}                        -> {connected, remote: {identity: info}}
  {"op": "parallel", "steps": [STEP, ...]}         -> {results: [...]}
  {"op": "disconnect", "who", "timeout"}           -> {ok}

stdout: {"results": [RESULT, ...], "timed_out": bool, "events": {NAME: [EVENT, ...]}} where
every result carries "op" (and "id"), timed_out says the deadline cut the script short, and each
participant's events log what its Room emitted (participant_connected, track_published,
track_subscribed, data_received, disconnected, ...) with a time in seconds since the start.
Every participant still connected at the end is disconnected (bounded).

Exit codes: 0 the script ran (whatever the server allowed), 2 setup or script problem.
"""

import asyncio
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fail, read_stdin_json, write_stdout_json  # noqa: E402
from importlib.metadata import PackageNotFoundError, version  # noqa: E402

PINNED_LIVEKIT = "1.2.1"
PINNED_LIVEKIT_API = "1.2.2"

for package, pinned in (("livekit", PINNED_LIVEKIT), ("livekit-api", PINNED_LIVEKIT_API)):
    try:
        installed = version(package)
    except PackageNotFoundError:
        fail(f"{package} is not installed in this interpreter; run interop/setup.sh")
    if installed != pinned:
        fail(f"{package} {installed} is installed, {pinned} is pinned; run interop/setup.sh")

import aiohttp  # noqa: E402
from livekit import api, rtc  # noqa: E402

SOURCES = {
    "camera": rtc.TrackSource.SOURCE_CAMERA,
    "microphone": rtc.TrackSource.SOURCE_MICROPHONE,
    "screen_share": rtc.TrackSource.SOURCE_SCREENSHARE,
    "screen_share_audio": rtc.TrackSource.SOURCE_SCREENSHARE_AUDIO,
}
SOURCE_NAMES = {v: k for k, v in SOURCES.items()}
SAMPLE_RATE = 48000
FRAME_SAMPLES = 480  # 10 ms
VIDEO_SIZE = 64
MAX_TIMEOUT = 60.0

START = time.monotonic()


def now() -> float:
    return round(time.monotonic() - START, 3)


def source_name(value) -> str:
    return SOURCE_NAMES.get(value, f"unknown({value})")


def info_of(p) -> dict:
    return {
        "identity": p.identity,
        "name": p.name,
        "metadata": p.metadata,
        "attributes": dict(p.attributes),
        "kind": rtc.ParticipantKind.Name(p.kind),
        "sid": p.sid,
    }


def permission_of(p) -> dict:
    perm = p.permissions
    return {
        "can_publish": perm.can_publish,
        "can_subscribe": perm.can_subscribe,
        "can_publish_data": perm.can_publish_data,
        "can_publish_sources": [source_name(s) for s in perm.can_publish_sources],
        "hidden": perm.hidden,
    }


def timeout_of(step, default=10.0) -> float:
    return min(float(step.get("timeout", default)), MAX_TIMEOUT)


class Participant:
    def __init__(self, name: str, spec: dict):
        self.name = name
        self.token = spec["token"]
        self.auto_subscribe = bool(spec.get("auto_subscribe", True))
        self.room = rtc.Room()
        self.events: list = []
        self.changed = asyncio.Event()
        self.connected = False
        self.disconnect_reason = None
        self.feeders: list = []
        self.subscribed_tracks: dict = {}  # identity -> [(source, track)]
        self._wire()

    def _log(self, **event) -> None:
        event["t"] = now()
        self.events.append(event)
        self.changed.set()

    def _wire(self) -> None:
        room = self.room

        @room.on("participant_connected")
        def _(p):
            self._log(event="participant_connected", **info_of(p))

        @room.on("participant_disconnected")
        def _(p):
            self._log(event="participant_disconnected", identity=p.identity)

        @room.on("track_published")
        def _(pub, p):
            self._log(event="track_published", identity=p.identity, source=source_name(pub.source), sid=pub.sid)

        @room.on("track_subscribed")
        def _(track, pub, p):
            self.subscribed_tracks.setdefault(p.identity, []).append((source_name(pub.source), track))
            self._log(event="track_subscribed", identity=p.identity, source=source_name(pub.source), sid=pub.sid)

        @room.on("track_subscription_failed")
        def _(p, sid, error):
            self._log(event="track_subscription_failed", identity=p.identity, sid=sid, error=str(error))

        @room.on("data_received")
        def _(packet):
            sender = packet.participant.identity if packet.participant else None
            self._log(
                event="data_received",
                identity=sender,
                topic=packet.topic,
                payload=bytes(packet.data).decode("utf-8", "replace"),
            )

        @room.on("local_track_published")
        def _(pub, track):
            self._log(event="local_track_published", source=source_name(pub.source), sid=pub.sid)

        @room.on("disconnected")
        def _(reason):
            self.connected = False
            self.disconnect_reason = rtc.DisconnectReason.Name(reason)
            self._log(event="disconnected", reason=self.disconnect_reason)

    async def wait_until(self, predicate, timeout: float):
        """Returns predicate()'s first truthy value within timeout, else None."""
        deadline = time.monotonic() + timeout
        while True:
            self.changed.clear()
            value = predicate()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                await asyncio.wait_for(self.changed.wait(), timeout=min(left, 0.25))
            except asyncio.TimeoutError:
                pass


async def feed_audio(source: rtc.AudioSource) -> None:
    n = 0
    while True:
        samples = bytearray()
        for i in range(FRAME_SAMPLES):
            v = int(12000 * math.sin(2 * math.pi * 440 * (n + i) / SAMPLE_RATE))
            samples += v.to_bytes(2, "little", signed=True)
        n += FRAME_SAMPLES
        await source.capture_frame(rtc.AudioFrame(bytes(samples), SAMPLE_RATE, 1, FRAME_SAMPLES))


async def feed_video(source: rtc.VideoSource) -> None:
    n = 0
    while True:
        shade = (n * 8) % 256
        pixel = bytes([shade, 255 - shade, 128, 255])
        frame = rtc.VideoFrame(VIDEO_SIZE, VIDEO_SIZE, rtc.VideoBufferType.RGBA, pixel * (VIDEO_SIZE * VIDEO_SIZE))
        source.capture_frame(frame)
        n += 1
        await asyncio.sleep(1 / 15)


class Runner:
    def __init__(self, script: dict):
        self.url = script["url"]
        self.participants = {name: Participant(name, spec) for name, spec in script["participants"].items()}
        self.results: list = []

    def who(self, step) -> Participant:
        name = step.get("who")
        if name not in self.participants:
            fail(f"step {step!r}: unknown participant {name!r}")
        return self.participants[name]

    async def run_step(self, step: dict) -> dict:
        op = step.get("op")
        handler = getattr(self, "op_" + str(op), None)
        if handler is None:
            fail(f"unknown op {op!r}")
        started = time.monotonic()
        result = await handler(step)
        result.setdefault("elapsed", round(time.monotonic() - started, 3))
        result["op"] = op
        if "id" in step:
            result["id"] = step["id"]
        return result

    async def op_connect(self, step):
        p = self.who(step)
        options = rtc.RoomOptions(auto_subscribe=p.auto_subscribe, connect_timeout=timeout_of(step, 10))
        try:
            await asyncio.wait_for(p.room.connect(self.url, p.token, options), timeout=timeout_of(step, 20))
        except asyncio.TimeoutError:
            return {"ok": False, "error_type": "Timeout", "error": "connect did not finish in time"}
        except Exception as e:  # noqa: BLE001
            return {"ok": False, "error_type": type(e).__name__, "error": str(e)}
        p.connected = True
        lp = p.room.local_participant
        return {
            "ok": True,
            "room": p.room.name,
            "identity": lp.identity,
            "sid": lp.sid,
            "permission": permission_of(lp),
            "remote": sorted(p.room.remote_participants.keys()),
        }

    async def op_publish(self, step):
        p = self.who(step)
        source_value = SOURCES[step["source"]]
        kind = step.get("kind", "audio")
        name = step.get("name", f"{step['source']}-{kind}")
        if kind == "audio":
            source = rtc.AudioSource(SAMPLE_RATE, 1)
            track = rtc.LocalAudioTrack.create_audio_track(name, source)
            feeder = asyncio.ensure_future(feed_audio(source))
        else:
            source = rtc.VideoSource(VIDEO_SIZE, VIDEO_SIZE)
            track = rtc.LocalVideoTrack.create_video_track(name, source)
            feeder = asyncio.ensure_future(feed_video(source))
        p.feeders.append(feeder)
        options = rtc.TrackPublishOptions(source=source_value)
        started = time.monotonic()
        try:
            pub = await asyncio.wait_for(
                p.room.local_participant.publish_track(track, options), timeout=timeout_of(step, 30)
            )
        except asyncio.TimeoutError:
            feeder.cancel()
            return {
                "ok": False,
                "error_type": "Timeout",
                "error": "publish_track did not finish in time",
                "elapsed": round(time.monotonic() - started, 3),
            }
        except Exception as e:  # noqa: BLE001
            feeder.cancel()
            return {
                "ok": False,
                "error_type": type(e).__name__,
                "error": str(e),
                "elapsed": round(time.monotonic() - started, 3),
            }
        return {"ok": True, "sid": pub.sid, "elapsed": round(time.monotonic() - started, 3)}

    async def op_publish_data(self, step):
        p = self.who(step)
        try:
            await asyncio.wait_for(
                p.room.local_participant.publish_data(
                    step["payload"], reliable=True, topic=step.get("topic", "")
                ),
                timeout=timeout_of(step),
            )
        except Exception as e:  # noqa: BLE001
            return {"ok": False, "error_type": type(e).__name__, "error": str(e)}
        return {"ok": True}

    async def op_wait_participant(self, step):
        p = self.who(step)
        identity = step["identity"]
        found = await p.wait_until(lambda: p.room.remote_participants.get(identity), timeout_of(step))
        if not found:
            return {"seen": False}
        return {"seen": True, "info": info_of(found)}

    async def op_wait_gone(self, step):
        p = self.who(step)
        identity = step["identity"]
        gone = await p.wait_until(lambda: identity not in p.room.remote_participants, timeout_of(step))
        return {"gone": bool(gone)}

    async def op_wait_data(self, step):
        p = self.who(step)
        sender = step["from"]

        def packets():
            return [e for e in p.events if e["event"] == "data_received" and e["identity"] == sender]

        await p.wait_until(packets, timeout_of(step))
        got = packets()
        return {"received": bool(got), "packets": got}

    async def op_wait_subscribed(self, step):
        p = self.who(step)
        sender = step["from"]
        source = step.get("source")

        def match():
            for e in p.events:
                if (
                    e["event"] == "track_subscribed"
                    and e["identity"] == sender
                    and (source is None or e["source"] == source)
                ):
                    return e
            return None

        found = await p.wait_until(match, timeout_of(step))
        return {"subscribed": bool(found), "track_sid": found["sid"] if found else None}

    async def op_wait_audio(self, step):
        p = self.who(step)
        sender = step["from"]
        want = int(step.get("frames", 20))
        timeout = timeout_of(step)
        deadline = time.monotonic() + timeout
        track = await p.wait_until(
            lambda: next((t for s, t in p.subscribed_tracks.get(sender, []) if t.kind == rtc.TrackKind.KIND_AUDIO), None),
            timeout,
        )
        if track is None:
            return {"frames": 0, "nonzero_frames": 0, "error": "no subscribed audio track"}
        stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
        frames = 0
        nonzero = 0

        async def read():
            nonlocal frames, nonzero
            async for ev in stream:
                frames += 1
                data = ev.frame.data
                if any(data[i] != 0 for i in range(0, len(data), 7)):
                    nonzero += 1
                if nonzero >= want:
                    return

        try:
            await asyncio.wait_for(read(), timeout=max(0.1, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            pass
        finally:
            await stream.aclose()
        return {"frames": frames, "nonzero_frames": nonzero}

    async def op_wait_disconnected(self, step):
        p = self.who(step)
        found = await p.wait_until(lambda: p.disconnect_reason, timeout_of(step))
        return {"disconnected": bool(found), "reason": p.disconnect_reason}

    async def op_remove_participant(self, step):
        lk = api.LiveKitAPI(
            step["url"],
            token=step["token"],
            failover=False,
            timeout=aiohttp.ClientTimeout(total=timeout_of(step)),
        )
        try:
            await lk.room.remove_participant(
                api.RoomParticipantIdentity(room=step["room"], identity=step["identity"])
            )
        except Exception as e:  # noqa: BLE001
            return {
                "ok": False,
                "error_type": type(e).__name__,
                "error": str(e),
                "status": getattr(e, "status", None),
                "code": str(getattr(e, "code", "")) or None,
            }
        finally:
            await lk.aclose()
        return {"ok": True}

    async def op_sleep(self, step):
        await asyncio.sleep(min(float(step["seconds"]), MAX_TIMEOUT))
        return {}

    async def op_snapshot(self, step):
        p = self.who(step)
        remote = {}
        if p.connected:
            for identity, rp in p.room.remote_participants.items():
                info = info_of(rp)
                info["tracks"] = [
                    {"sid": pub.sid, "source": source_name(pub.source), "subscribed": pub.subscribed}
                    for pub in rp.track_publications.values()
                ]
                remote[identity] = info
        return {"connected": p.connected, "remote": remote}

    async def op_parallel(self, step):
        results = await asyncio.gather(*(self.run_step(s) for s in step["steps"]))
        return {"results": list(results)}

    async def op_disconnect(self, step):
        p = self.who(step)
        await self.disconnect(p, timeout_of(step))
        return {"ok": True}

    async def disconnect(self, p: Participant, timeout: float) -> None:
        for feeder in p.feeders:
            feeder.cancel()
        if p.room.isconnected():
            try:
                await asyncio.wait_for(p.room.disconnect(), timeout=timeout)
            except Exception as e:  # noqa: BLE001
                sys.stderr.write(f"participant.py: disconnecting {p.name}: {type(e).__name__}: {e}\n")
        p.connected = False

    async def run(self, steps) -> None:
        for step in steps:
            self.results.append(await self.run_step(step))

    async def close(self) -> None:
        await asyncio.gather(*(self.disconnect(p, 5) for p in self.participants.values()))


async def main_async(script) -> dict:
    runner = Runner(script)
    deadline = min(float(script.get("deadline", 90)), 300.0)
    timed_out = False
    try:
        await asyncio.wait_for(runner.run(script["steps"]), timeout=deadline)
    except asyncio.TimeoutError:
        timed_out = True
    await runner.close()
    return {
        "results": runner.results,
        "timed_out": timed_out,
        "events": {name: p.events for name, p in runner.participants.items()},
    }


def main():
    script = read_stdin_json()
    for key in ("url", "participants", "steps"):
        if key not in script:
            fail(f"the script has no {key!r}")
    out = asyncio.run(main_async(script))
    write_stdout_json(out)
    sys.stdout.flush()
    # The FFI library's threads can outlive asyncio.run; do not wait for them.
    os._exit(0)


main()
