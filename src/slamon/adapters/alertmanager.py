"""Alertmanager v2: ``POST /api/v2/alerts`` with a JSON array of alerts per batch.

Alertmanager is stateless about its senders: an alert is its label set, kept until its
``endsAt``. Firing alerts go out with ``endsAt`` = now + 4 x the resend interval and are
re-sent every interval; a resolved one with ``endsAt`` = the instant it stopped mattering.
Every configured URL gets every alert (Alertmanager replicas gossip notifications among
themselves, not alerts: no load balancer in front of them).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import orjson

from slamon.adapters.delivery import TIMEOUT_S, HttpSink
from slamon.core.oncall import Firing, Transition
from slamon.core.timefmt import format_rfc3339

API_PATH = "/api/v2/alerts"
ENCODED_CACHE = 100_000  # alerts whose fixed part stays encoded (resends cost little)


def generator_url(board_url: str, alert: Firing) -> str:
    """The on-call board, filtered to the alert's priority, SLA, service and region."""
    separator = "&" if "?" in board_url else "?"
    query = {"var-priority": alert.priority, "var-sla": alert.sla,
             "var-service": alert.service, "var-region": alert.region}  # fmt: skip
    return f"{board_url}{separator}{urlencode(query)}"


def alert_body(transition: Transition, board_url: str) -> dict[str, Any]:
    """One alert of the v2 API (``postableAlert``)."""
    alert = transition.alert
    return {
        "labels": alert.label_map(),
        "annotations": alert.annotations(),
        "startsAt": format_rfc3339(alert.starts_at),
        "endsAt": format_rfc3339(transition.ends_at),
        "generatorURL": generator_url(board_url, alert),
    }


@lru_cache(maxsize=ENCODED_CACHE)
def _fixed_part(alert: Firing, board_url: str) -> bytes:
    """The JSON object of an alert without ``endsAt`` and its closing brace: the same for
    every resend of the same facts, so encoded once."""
    body = {
        "labels": alert.label_map(),
        "annotations": alert.annotations(),
        "startsAt": format_rfc3339(alert.starts_at),
        "generatorURL": generator_url(board_url, alert),
    }
    return orjson.dumps(body)[:-1]


def encode_batch(batch: Sequence[Transition], board_url: str) -> bytes:
    """The request body: a JSON array of :func:`alert_body` objects."""
    parts = [
        b'%s,"endsAt":"%s"}' % (_fixed_part(t.alert, board_url), format_rfc3339(t.ends_at).encode())
        for t in batch
    ]
    return b"[" + b",".join(parts) + b"]"


class AlertmanagerSink(HttpSink):
    """One Alertmanager; ``url`` is its base (``http://am:9093``) or the full API path."""

    kind = "alertmanager"
    changes_only = False

    def __init__(self, url: str, board_url: str, timeout_s: float = TIMEOUT_S) -> None:
        base = url.rstrip("/")
        if not base.endswith(API_PATH):
            base += API_PATH
        super().__init__(base, timeout_s)
        self.board_url = board_url

    def request(self, batch: Sequence[Transition]) -> tuple[bytes, dict[str, str]]:
        return encode_batch(batch, self.board_url), {"Content-Type": "application/json"}
