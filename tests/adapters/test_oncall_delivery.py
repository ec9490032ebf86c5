"""On-call delivery adapters: the bounded queue and retries, the Alertmanager and webhook
bodies, signatures, and HTTP status handling against a real local aiohttp server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import pytest
import pytest_asyncio
from aiohttp import web
from prometheus_client import CollectorRegistry

from slamon.adapters.alertmanager import (
    AlertmanagerSink,
    alert_body,
    encode_batch,
    generator_url,
)
from slamon.adapters.delivery import (
    DeliveryCollector,
    Dispatcher,
    HttpSink,
    Refused,
    Retryable,
    SinkStats,
    redact,
)
from slamon.adapters.webhook import (
    CONTENT_TYPE,
    SIGNATURE_HEADER,
    WebhookSink,
    change_id,
    sign,
    verify,
)
from slamon.core.oncall import FIRE, RESEND, RESOLVE, SLA_BREACHED, UPDATE, Firing, Transition
from slamon.core.timefmt import NS_PER_S
from slamon.testing import instant as ns

ALERT = Firing(SLA_BREACHED, "T-1", "first_response", "P1", "onsite", "eu", "page",
               ns(10), ns(10), 600 * NS_PER_S, "24x7")  # fmt: skip
FIRED = Transition(FIRE, ALERT, ns(14))
RESOLVED = Transition(RESOLVE, ALERT, ns(12), resolved=True)
BOARD = "http://grafana:3000/d/slamon-oncall"


class Scripted:
    """A sink that answers from a script of outcomes (None: accepted)."""

    name = "scripted"

    def __init__(self, script: list[Exception | None], kind: str = "alertmanager",
                 changes_only: bool = False) -> None:  # fmt: skip
        self.script, self.kind, self.changes_only = script, kind, changes_only
        self.calls: list[list[Transition]] = []

    async def deliver(self, batch: Sequence[Transition]) -> None:
        self.calls.append(list(batch))
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome

    async def close(self) -> None:
        return None


def dispatcher(sink: Scripted, **options: Any) -> tuple[Dispatcher, SinkStats]:
    stats = SinkStats()
    options.setdefault("retry_max_s", 0.01)
    return Dispatcher(sink, stats, **options), stats


@pytest.mark.asyncio
async def test_retryable_failures_are_retried_then_delivered() -> None:
    """Two 5xx-like failures, then accepted: three attempts, two retries, the batch sent once."""
    sink = Scripted([Retryable("HTTP 503"), Retryable("timeout"), None])
    queue, stats = dispatcher(sink)
    queue.put([FIRED])
    await queue.drain()
    assert len(sink.calls) == 3
    assert stats.retries["alertmanager"] == 2
    assert stats.results[("alertmanager", "sent")] == 1


@pytest.mark.asyncio
async def test_refused_batch_is_not_retried() -> None:
    """A 4xx: one attempt, counted rejected, the next batch goes on."""
    sink = Scripted([Refused(400, "bad alert"), None])
    queue, stats = dispatcher(sink, batch=1)
    queue.put([FIRED, RESOLVED])
    await queue.drain()
    assert len(sink.calls) == 2
    assert stats.results[("alertmanager", "rejected")] == 1
    assert stats.results[("alertmanager", "sent")] == 1
    assert stats.retries["alertmanager"] == 0


@pytest.mark.asyncio
async def test_retries_are_bounded() -> None:
    """A receiver down for good: ``max_attempts`` tries, then the batch counts as failed."""
    sink = Scripted([Retryable("connection refused")] * 10)
    queue, stats = dispatcher(sink, max_attempts=4)
    queue.put([FIRED, RESOLVED])
    await queue.drain()
    assert len(sink.calls) == 4
    assert stats.results[("alertmanager", "failed")] == 2  # counted per alert
    assert len(queue) == 0


@pytest.mark.asyncio
async def test_full_queue_drops_the_oldest_and_counts() -> None:
    """A queue of 3 given 5 transitions keeps the newest 3 and counts 2 dropped."""
    sink = Scripted([])
    queue, stats = dispatcher(sink, queue_size=3)
    transitions = [Transition(FIRE, ALERT._replace(ticket_id=f"T{i}"), 0) for i in range(5)]
    queue.put(transitions)
    assert stats.dropped["alertmanager"] == 2
    await queue.drain()
    assert [t.alert.ticket_id for t in sink.calls[0]] == ["T2", "T3", "T4"]


@pytest.mark.asyncio
async def test_batches_and_changes_only() -> None:
    """1,200 transitions go out as 500 + 500 + 200; a changes-only sink never gets resends."""
    sink = Scripted([])
    queue, _ = dispatcher(sink)
    queue.put([FIRED] * 1200)
    await queue.drain()
    assert [len(call) for call in sink.calls] == [500, 500, 200]
    hook = Scripted([], kind="webhook", changes_only=True)
    hook_queue, _ = dispatcher(hook)
    hook_queue.put([FIRED, Transition(RESEND, ALERT, ns(15)), RESOLVED])
    await hook_queue.drain()
    assert [t.change for t in hook.calls[0]] == [FIRE, RESOLVE]


def test_alertmanager_body() -> None:
    """A v2 postable alert: labels, annotations, startsAt, endsAt, generatorURL."""
    body = alert_body(FIRED, BOARD)
    assert body["labels"] == {
        "alertname": "SlaBreached", "ticket_id": "T-1", "sla": "first_response",
        "priority": "P1", "service": "onsite", "region": "eu", "severity": "page",
    }  # fmt: skip
    assert body["startsAt"] == "2026-11-23T08:10:00.000Z"
    assert body["endsAt"] == "2026-11-23T08:14:00.000Z"
    assert body["generatorURL"] == (
        f"{BOARD}?var-priority=P1&var-sla=first_response&var-service=onsite&var-region=eu"
    )
    assert set(body["annotations"]) == {"summary", "deadline", "target", "calendar"}
    assert generator_url(f"{BOARD}?orgId=1", ALERT).startswith(f"{BOARD}?orgId=1&var-priority")


def test_alertmanager_request_is_the_array_of_alert_bodies() -> None:
    """The cached encoding (fixed part once, endsAt per send) is exactly the JSON array of
    the alert bodies, for a firing alert and a resolved one, sent twice."""
    sink = AlertmanagerSink("http://am:9093", BOARD)
    for _ in range(2):
        body, headers = sink.request([FIRED, RESOLVED])
        assert orjson.loads(body) == [alert_body(FIRED, BOARD), alert_body(RESOLVED, BOARD)]
        assert headers == {"Content-Type": "application/json"}
    assert encode_batch([], BOARD) == b"[]"


def test_alertmanager_url_gets_the_api_path_once() -> None:
    """A base URL gets /api/v2/alerts appended; a URL that has it already is kept."""
    assert AlertmanagerSink("http://am:9093/", BOARD).url == "http://am:9093/api/v2/alerts"
    assert AlertmanagerSink("http://am:9093/api/v2/alerts", BOARD).url.count("/api/v2") == 1


def test_webhook_body_is_a_signed_cloudevents_batch() -> None:
    """Changes as CloudEvents (type by status, subject = ticket), signed over the exact body."""
    sink = WebhookSink("http://hook/in", BOARD, "s3cret", clock=lambda: ns(13))
    body, headers = sink.request([FIRED, RESOLVED])
    assert headers["Content-Type"] == CONTENT_TYPE
    assert verify("s3cret", body, headers[SIGNATURE_HEADER])
    assert not verify("other", body, headers[SIGNATURE_HEADER])
    assert not verify("s3cret", body + b" ", headers[SIGNATURE_HEADER])
    assert not verify("s3cret", body, None)
    events = orjson.loads(body)
    assert [e["type"] for e in events] == ["slamon.oncall.firing", "slamon.oncall.resolved"]
    assert {e["subject"] for e in events} == {"T-1"}
    assert events[1]["data"]["status"] == "resolved"
    assert events[1]["data"]["endsAt"] == "2026-11-23T08:12:00.000Z"
    assert events[0]["id"] == change_id(FIRED) != change_id(RESOLVED)
    paused = Transition(UPDATE, ALERT._replace(deadline=None), ns(14))
    assert change_id(paused) != change_id(FIRED)  # an update is another change
    assert change_id(FIRED._replace(ends_at=ns(20))) == change_id(FIRED)  # a resend is not
    unsigned_body, unsigned = WebhookSink("http://hook/in", BOARD, None, lambda: 0).request([FIRED])
    assert SIGNATURE_HEADER not in unsigned
    assert orjson.loads(unsigned_body)[0]["id"] == events[0]["id"]  # stable across sends


def test_signature_is_hmac_sha256_hex() -> None:
    """The header value is 'sha256=' + HMAC-SHA256(secret, body) in hex (RFC 4231 case 2)."""
    assert sign("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_logs_show_urls_without_credentials_or_query() -> None:
    """redact() keeps scheme, host, port and path only."""
    url = "https://user:pw@hook.example:8443/in?token=abc"
    assert redact(url) == "https://hook.example:8443/in"


# -- HTTP status handling, against a real server ----------------------------------------------
@pytest_asyncio.fixture
async def server() -> AsyncIterator[tuple[str, list[bytes], dict[str, int]]]:
    """A local server: /ok 200, /down 503, /bad 400, /slow sleeps past the timeout."""
    bodies: list[bytes] = []
    control = {"status": 200}

    async def handle(request: web.Request) -> web.Response:
        bodies.append(await request.read())
        if request.path == "/slow":
            await asyncio.sleep(2)
        status = {"/down": 503, "/bad": 400, "/busy": 429}.get(request.path, control["status"])
        return web.Response(status=status, text="nope" if status >= 400 else "")

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", bodies, control
    finally:
        await runner.cleanup()


class Plain(HttpSink):
    def request(self, batch: Sequence[Transition]) -> tuple[bytes, dict[str, str]]:
        return b"[]", {"Content-Type": "application/json"}


@pytest.mark.asyncio
async def test_http_statuses(server: tuple[str, list[bytes], dict[str, int]]) -> None:
    """2xx delivered; 5xx, 429 and timeouts retryable; other 4xx refused with the status;
    a closed port is a retryable connection error."""
    base, bodies, _ = server
    sinks = [Plain(f"{base}/{path}", timeout_s=0.5) for path in ("ok", "down", "busy", "bad",
                                                                  "slow")]  # fmt: skip
    try:
        await sinks[0].deliver([FIRED])
        for sink in sinks[1:3] + sinks[4:]:
            with pytest.raises(Retryable):
                await sink.deliver([FIRED])
        with pytest.raises(Refused) as refused:
            await sinks[3].deliver([FIRED])
        assert refused.value.status == 400
        closed = Plain("http://127.0.0.1:9/x", timeout_s=0.5)
        with pytest.raises(Retryable):
            await closed.deliver([FIRED])
        await closed.close()
    finally:
        for sink in sinks:
            await sink.close()
    assert bodies[0] == b"[]"


def test_collector_exposes_bounded_labels() -> None:
    """slamon_oncall_* families with sink / result / alertname / severity labels only."""
    stats = SinkStats()
    stats.count("webhook", "sent", 3)
    registry = CollectorRegistry()
    sink = Scripted([], kind="webhook")
    queue = Dispatcher(sink, stats)
    queue.put([FIRED])
    registry.register(DeliveryCollector(stats, [queue], {(SLA_BREACHED, "page"): 2}))
    value = registry.get_sample_value
    assert value("slamon_oncall_notifications_total", {"sink": "webhook", "result": "sent"}) == 3
    assert value("slamon_oncall_queued", {"sink": "webhook"}) == 1
    page = {"alertname": SLA_BREACHED, "severity": "page"}
    assert value("slamon_oncall_active_alerts", page) == 2
    assert value("slamon_oncall_dropped_total", {"sink": "alertmanager"}) == 0
