"""The live board: windowed tables of first-response times feed the board gauges."""

from __future__ import annotations

import time

import orjson

from slamon.core.timefmt import NS_PER_S, format_rfc3339
from tests.integration.harness import Deployment, wait_until


def test_first_responses_reach_the_board_windows_even_when_traffic_stops(
    deployment: Deployment,
) -> None:
    """12 responses (30 s each, P1): the 1-minute and 1-hour windows count all of them."""
    worker = deployment.worker().start()
    if time.time() % 60 > 30:  # the 1m window is tumbling: keep its checks inside one minute
        time.sleep(60 - time.time() % 60)
    now = time.time_ns()
    lines = []
    for i in range(12):
        ticket = f"board-{i}"
        lines.append(orjson.dumps({
            "specversion": "1.0", "id": f"{ticket}-c", "source": "/t", "type": "ticket.created",
            "subject": ticket, "time": format_rfc3339(now - 40 * NS_PER_S),
            "data": {"priority": "P1"},
        }))  # fmt: skip
        lines.append(orjson.dumps({
            "specversion": "1.0", "id": f"{ticket}-r", "source": "/t",
            "type": "ticket.responded", "subject": ticket,
            "time": format_rfc3339(now - 10 * NS_PER_S),
        }))  # fmt: skip
    deployment.publish(lines)  # then nothing: buffered samples must still be written

    def counted(window: str) -> float:
        return worker.metric("slamon_board_clocks", window=window, priority="P1",
                             sla="first_response")  # fmt: skip

    wait_until(lambda: counted("1m") == 12 and counted("1h") == 12, 20, "12 samples per window")
    total = worker.metric("slamon_board_elapsed_seconds", window="1m", priority="P1",
                          sla="first_response")  # fmt: skip
    assert total == 12 * 30.0  # created 40 s ago, responded 10 s ago: 30 s each
    median = worker.metric("slamon_board_quantile_seconds", window="1m", priority="P1",
                           sla="first_response", q="0.5")  # fmt: skip
    assert abs(median - 30.0) <= 0.3  # the sketch's 1% relative error
