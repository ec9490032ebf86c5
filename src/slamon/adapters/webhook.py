"""A signed webhook: each batch of alert changes as a CloudEvents JSON batch.

The body is ``application/cloudevents-batch+json``: a JSON array of CloudEvents, one
per change (``slamon.oncall.firing`` or ``slamon.oncall.resolved``), ``subject`` = the
ticket id, ``data`` = the alert as Alertmanager gets it plus ``change`` (fire, update,
resolve). The ``id`` is deterministic (the alert's label set, status and instants), so a
receiver drops a redelivery (after a retry or a worker restart) by id. Only changes are
sent, not the periodic resends.

With a secret, ``X-Slamon-Signature: sha256=<hex>`` is HMAC-SHA256 of the exact body
bytes with the secret (UTF-8): :func:`verify` is how a receiver checks it
(docs/oncall.md has the same in a few lines of Python and shell).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

import orjson

from slamon.adapters.alertmanager import alert_body
from slamon.adapters.delivery import TIMEOUT_S, HttpSink
from slamon.core.oncall import Transition
from slamon.core.timefmt import format_rfc3339

SIGNATURE_HEADER = "X-Slamon-Signature"
CONTENT_TYPE = "application/cloudevents-batch+json"
SOURCE = "/slamon/oncall"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the HMAC-SHA256 hex digest."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` (constant-time comparison)."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def change_id(transition: Transition) -> str:
    """Same change of the same alert, same id: BLAKE2b-128 of the labels, the status and
    the instants (startsAt, the deadline while firing, endsAt once resolved). A fire sent
    again after a restart keeps its id; an update (a new deadline) gets another."""
    alert = transition.alert
    when = transition.ends_at if transition.resolved else alert.deadline
    parts = (*alert.labels, transition.status, str(alert.starts_at), str(when))
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def change_event(transition: Transition, board_url: str, now: int) -> dict[str, Any]:
    data = alert_body(transition, board_url)
    data["status"] = transition.status
    data["change"] = transition.change
    return {
        "specversion": "1.0",
        "id": change_id(transition),
        "source": SOURCE,
        "type": f"slamon.oncall.{transition.status}",
        "subject": transition.alert.ticket_id,
        "time": format_rfc3339(now),
        "datacontenttype": "application/json",
        "data": data,
    }


class WebhookSink(HttpSink):
    """POSTs the changes of a batch to ``url``, signed when a secret is set."""

    kind = "webhook"
    changes_only = True

    def __init__(
        self, url: str, board_url: str, secret: str | None, clock: Any,
        timeout_s: float = TIMEOUT_S,
    ) -> None:  # fmt: skip
        super().__init__(url, timeout_s)
        self.board_url = board_url
        self._secret = secret
        self._clock = clock

    def request(self, batch: Sequence[Transition]) -> tuple[bytes, dict[str, str]]:
        now = self._clock()
        body = orjson.dumps([change_event(t, self.board_url, now) for t in batch])
        headers = {"Content-Type": CONTENT_TYPE}
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, body)
        return body, headers
