"""Delivery of on-call alerts over HTTP: a bounded queue per URL, batches, bounded retries.

Event processing only appends to a queue (:meth:`Dispatcher.put`, never blocks, never
awaits). One task per URL takes batches from its queue and POSTs them:

- 2xx: delivered;
- 5xx, 429, a timeout or a connection error: retried with backoff (0.1 s doubling, capped),
  at most ``max_attempts`` times, then counted as failed (the periodic resend restores
  what is firing; resolved alerts are re-sent for 15 minutes);
- any other 4xx: not retried (the request itself is wrong), logged with the status, counted;
- a full queue drops its oldest transitions, counted (the resend restores the firing set).

Logs carry the sink's redacted URL (no credentials, no query) and counts, never ticket ids.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Protocol
from urllib.parse import urlsplit

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from slamon.core.oncall import ALERTNAMES, SEVERITIES, Transition

log = structlog.get_logger("slamon.oncall")

RETRY_FIRST_S = 0.1
RETRY_MAX_S = 5.0
MAX_ATTEMPTS = 8  # about 11 s of backoff at the default cap
BATCH = 500  # transitions per request
QUEUE = 20_000  # transitions waiting per URL; the oldest are dropped beyond
TIMEOUT_S = 5.0  # per request
SINK_KINDS = ("alertmanager", "webhook")
RESULTS = ("sent", "rejected", "failed")


class Retryable(Exception):
    """The receiver may take the batch later: 5xx, 429, timeout, connection error."""


class Refused(Exception):
    """The receiver refused the batch (4xx): sending it again would not help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status


class AlertSink(Protocol):
    """A receiver of alert batches (Alertmanager, a webhook; a list in tests)."""

    kind: str  # "alertmanager" or "webhook": the metrics' `sink` label
    name: str  # for logs: the URL without credentials or query
    changes_only: bool  # True: fire/update/resolve only, no periodic resends

    async def deliver(self, batch: Sequence[Transition]) -> None:
        """Send one batch; raise :class:`Retryable` or :class:`Refused` when it is not taken."""
        ...

    async def close(self) -> None: ...


def redact(url: str) -> str:
    """``scheme://host[:port]/path``: what a log may show of a URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class SinkStats:
    """Counts per sink kind (several URLs of a kind add up)."""

    def __init__(self) -> None:
        self.results = {(kind, result): 0 for kind in SINK_KINDS for result in RESULTS}
        self.retries = dict.fromkeys(SINK_KINDS, 0)
        self.dropped = dict.fromkeys(SINK_KINDS, 0)

    def count(self, kind: str, result: str, alerts: int) -> None:
        self.results[(kind, result)] = self.results.get((kind, result), 0) + alerts


class Dispatcher:
    """One URL's bounded queue and the loop that drains it."""

    def __init__(
        self,
        sink: AlertSink,
        stats: SinkStats,
        *,
        queue_size: int = QUEUE,
        batch: int = BATCH,
        max_attempts: int = MAX_ATTEMPTS,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        self.sink = sink
        self.stats = stats
        self.queue: deque[Transition] = deque(maxlen=queue_size)
        self.batch = batch
        self.max_attempts = max_attempts
        self.retry_max_s = retry_max_s
        self._ready = asyncio.Event()
        self._dropping = False  # logged once per overflow, again after the queue drained

    def put(self, transitions: Sequence[Transition]) -> None:
        """Queue without waiting; a full queue drops its oldest (counted)."""
        if self.sink.changes_only:
            transitions = [t for t in transitions if t.change != "resend"]
        if not transitions:
            return
        room = (self.queue.maxlen or 0) - len(self.queue)
        if len(transitions) > room:
            dropped = len(transitions) - room
            self.stats.dropped[self.sink.kind] += dropped
            if not self._dropping:
                self._dropping = True
                log.warning("alert queue full; oldest dropped", sink=self.sink.name,
                            dropped=dropped, queue=len(self.queue))  # fmt: skip
        self.queue.extend(transitions)
        self._ready.set()

    def __len__(self) -> int:
        return len(self.queue)

    async def run(self) -> None:
        """Deliver forever: wait for transitions, send them in batches."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            await self.drain()

    async def drain(self) -> None:
        """Send everything queued now (and what is queued meanwhile)."""
        while self.queue:
            count = min(self.batch, len(self.queue))
            batch = [self.queue.popleft() for _ in range(count)]
            await self._send(batch)
        self._dropping = False

    async def _send(self, batch: list[Transition]) -> None:
        kind = self.sink.kind
        delay = RETRY_FIRST_S
        for attempt in range(1, self.max_attempts + 1):
            refused: Refused | None = None
            error: Retryable | None = None
            try:
                await self.sink.deliver(batch)
            except Refused as exc:
                refused = exc
            except Retryable as exc:
                error = exc
            if refused is not None:
                self.stats.count(kind, "rejected", len(batch))
                log.error("alert batch refused; not retried", sink=self.sink.name,
                          status=refused.status, alerts=len(batch), error=str(refused))  # fmt: skip
                return
            if error is None:
                self.stats.count(kind, "sent", len(batch))
                return
            if attempt == self.max_attempts:
                self.stats.count(kind, "failed", len(batch))
                log.error("alert batch not delivered; giving up", sink=self.sink.name,
                          attempts=attempt, alerts=len(batch), error=str(error))  # fmt: skip
                return
            self.stats.retries[kind] += 1
            log.warning("alert batch not delivered; retrying", sink=self.sink.name,
                        attempt=attempt, delay_s=delay, error=str(error))  # fmt: skip
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_max_s)


class HttpSink:
    """POSTs a JSON body per batch with aiohttp; the subclass says what the body is."""

    kind = "webhook"
    changes_only = False

    def __init__(self, url: str, timeout_s: float = TIMEOUT_S) -> None:
        self.url = url
        self.name = redact(url)
        self.timeout_s = timeout_s
        self._session: object | None = None

    def request(self, batch: Sequence[Transition]) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one batch."""
        raise NotImplementedError

    def target(self) -> str:
        return self.url

    async def deliver(self, batch: Sequence[Transition]) -> None:
        import aiohttp  # noqa: PLC0415  (only a worker with sinks needs it)

        if self._session is None:
            self._session = aiohttp.ClientSession()
        session = self._session
        assert isinstance(session, aiohttp.ClientSession)
        body, headers = self.request(batch)
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            async with session.post(
                self.target(), data=body, headers=headers, timeout=timeout
            ) as response:
                if 200 <= response.status < 300:
                    return
                detail = (await response.content.read(300)).decode(errors="replace")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Retryable(f"{type(exc).__name__}: {exc}") from None
        if response.status >= 500 or response.status == 429:
            raise Retryable(f"HTTP {response.status}")
        raise Refused(response.status, " ".join(detail.split())[:200])

    async def close(self) -> None:
        import aiohttp  # noqa: PLC0415

        if isinstance(self._session, aiohttp.ClientSession):
            await self._session.close()
        self._session = None


class DeliveryCollector(Collector):
    """``slamon_oncall_*``: deliveries by sink kind and result, retries, drops, queue, active."""

    def __init__(
        self,
        stats: SinkStats,
        dispatchers: Sequence[Dispatcher],
        active: dict[tuple[str, str], int],
    ) -> None:
        self.stats = stats
        self.dispatchers = dispatchers
        self.active = active

    def collect(self) -> Iterator[Metric]:
        sent = CounterMetricFamily(
            "slamon_oncall_notifications",
            "Alert transitions delivered to on-call sinks, by sink kind and result (sent, "
            "rejected: 4xx, failed: retries exhausted); one per alert per URL.",
            labels=["sink", "result"],
        )
        for (kind, result), count in sorted(self.stats.results.items()):
            sent.add_metric([kind, result], count)
        yield sent
        retries = CounterMetricFamily(
            "slamon_oncall_retries", "Batches sent again after a 5xx, timeout or connection "
            "error.", labels=["sink"],
        )  # fmt: skip
        dropped = CounterMetricFamily(
            "slamon_oncall_dropped", "Alert transitions dropped from a full queue (oldest "
            "first).", labels=["sink"],
        )  # fmt: skip
        queued = GaugeMetricFamily("slamon_oncall_queued", "Alert transitions waiting to be "
                                   "delivered.", labels=["sink"])  # fmt: skip
        for kind in SINK_KINDS:
            retries.add_metric([kind], self.stats.retries[kind])
            dropped.add_metric([kind], self.stats.dropped[kind])
            queued.add_metric([kind], sum(len(d) for d in self.dispatchers if d.sink.kind == kind))
        yield retries
        yield dropped
        yield queued
        active = GaugeMetricFamily("slamon_oncall_active_alerts", "Alerts firing now (sent "
                                   "by this worker), by alertname and severity.",
                                   labels=["alertname", "severity"])  # fmt: skip
        keys = {(name, severity) for name in ALERTNAMES for severity in SEVERITIES}
        for alertname, severity in sorted(keys | set(self.active)):
            active.add_metric([alertname, severity], self.active.get((alertname, severity), 0))
        yield active
