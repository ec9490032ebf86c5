"""A bare Faust agent: decode (orjson + CloudEvents validation) and count, nothing else.

Run by worker_bench.py with BARE_TOPIC, BARE_COUNT, BARE_OUT, BARE_BROKER, BARE_DIR set;
writes {"seconds": first-to-last record} to BARE_OUT and exits when it has seen BARE_COUNT.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid

import faust
import orjson

from slamon.adapters.cloudevents import decode_record
from slamon.core.events import InvalidEvent

TOPIC = os.environ["BARE_TOPIC"]
COUNT = int(os.environ["BARE_COUNT"])

app = faust.App(
    os.environ.get("BARE_APP_ID") or f"bare-{uuid.uuid4().hex[:8]}",
    broker=os.environ["BARE_BROKER"],
    store="memory://",
    datadir=os.environ["BARE_DIR"],
    web_enabled=False,
    consumer_auto_offset_reset="earliest",
    autodiscover=False,
)
source = app.topic(TOPIC, key_serializer="raw", value_serializer="raw")
state = {"seen": 0, "first": 0.0}


@app.agent(source, concurrency=1)
async def count(stream: faust.StreamT[bytes]) -> None:
    async for event in stream.events():
        if not state["seen"]:
            state["first"] = time.perf_counter()
        message = event.message
        with contextlib.suppress(InvalidEvent):
            decode_record(message.key, message.value, message.headers or [], message.offset)
        state["seen"] += 1
        if state["seen"] >= COUNT:
            seconds = time.perf_counter() - state["first"]
            with open(os.environ["BARE_OUT"], "wb") as out:
                out.write(orjson.dumps({"seconds": seconds, "count": state["seen"]}))
            os._exit(0)


if __name__ == "__main__":
    faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()
