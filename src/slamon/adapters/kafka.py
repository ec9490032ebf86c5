"""Plain aiokafka helpers: connect (with the reason when it fails), publish JSONL, read.

Topic creation and verification: :mod:`slamon.adapters.kafka_topics`.

The worker itself runs on Faust; these serve the CLI (``publish``, ``simulate``,
``tail``), the worker's start-up, the tests and the benchmarks. Every client takes a
``security`` (TLS, SASL; default PLAINTEXT) and is started by :func:`start_client`,
which turns "unable to bootstrap" into the reason: authentication, TLS, protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    AuthenticationFailedError,
    AuthenticationMethodNotSupported,
    IllegalSaslStateError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)

from slamon.adapters.kafka_security import KafkaSecurity

PLAINTEXT = KafkaSecurity()
# A refused TLS connection closes over a few loop turns after aiokafka drops it; an
# asyncio.run() that ends first leaves its transport unclosed (a ResourceWarning).
CLOSE_GRACE_S = 0.05
ADDRESS_HINT = "(the address is --broker or SLAMON_BROKER)"
AUTH_ERRORS = (AuthenticationFailedError, AuthenticationMethodNotSupported,
               IllegalSaslStateError, SaslAuthenticationFailed,
               UnsupportedSaslMechanismError)  # fmt: skip


def bootstrap(broker: str) -> str:
    """``kafka://host:port`` (Faust style) or ``host:port`` to ``host:port``."""
    return broker.split(";", maxsplit=1)[0].removeprefix("kafka://")


async def refresh_metadata(consumer: AIOKafkaConsumer) -> None:
    """Fetch cluster metadata now (a topic created a moment ago is not known yet).

    aiokafka's private API (no public call does it); tests/adapters/test_private_api.py
    fails if an upgrade moves it.
    """
    await consumer._client.force_metadata_update()


class KafkaAccessError(KafkaError):  # type: ignore[misc]  # aiokafka is untyped
    """No connection to Kafka could be made; the message says why (it is one line)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "cannot connect to Kafka"


class _Client(Protocol):
    async def start(self) -> None: ...


class _BootstrapReasons(logging.Filter):
    """Holds back aiokafka's records that carry an exception while a client starts.

    aiokafka logs why each bootstrap server failed (bad password, untrusted certificate)
    and then raises only "unable to bootstrap": the reasons are in those records.
    """

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if any(isinstance(arg, BaseException) for arg in _args(record)):
            self.records.append(record)
            return False
        return True

    def reasons(self) -> list[BaseException]:
        return [a for r in self.records for a in _args(r) if isinstance(a, BaseException)]


def _args(record: logging.LogRecord) -> tuple[object, ...]:
    return record.args if isinstance(record.args, tuple) else ()


async def start_client(
    client: _Client, security: KafkaSecurity, stop: Callable[[], Awaitable[None]]
) -> None:
    """``client.start()``; if no bootstrap server lets it in, :class:`KafkaAccessError`.

    On failure the client is stopped, and aiokafka's log records of the attempts give
    way to the one error; on success they are logged as usual.
    """
    logger = logging.getLogger("aiokafka")  # aiokafka.client logs as "aiokafka"
    held = _BootstrapReasons()
    logger.addFilter(held)
    try:
        await client.start()
    except KafkaConnectionError as exc:
        with contextlib.suppress(Exception):
            await stop()
        await asyncio.sleep(CLOSE_GRACE_S)
        reasons = [explain(reason, security) for reason in held.reasons()]
        message = "; ".join(dict.fromkeys(reasons)) or str(exc)
        raise KafkaAccessError(message) from exc
    finally:
        logger.removeFilter(held)
    for record in held.records:
        logger.handle(record)


def explain(reason: BaseException, security: KafkaSecurity) -> str:
    """Why a connection attempt failed, in words a user can act on (one line)."""
    if isinstance(reason, SaslAuthenticationFailed | AuthenticationFailedError):
        said = reason.args[0] if reason.args else reason
        return f"authentication failed ({security.describe()}): {said}"
    if isinstance(reason, UnsupportedSaslMechanismError):
        said = reason.args[0] if reason.args and isinstance(reason.args[0], str) else ""
        return (
            f"authentication impossible: the listener does not accept SASL mechanism "
            f"{security.sasl_mechanism}{f' ({said})' if said else ''}"
        )
    if isinstance(reason, AUTH_ERRORS):
        return f"authentication impossible ({security.describe()}): {reason}"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return (
            f"TLS: the broker's certificate is not trusted ({reason.verify_message}): "
            f"give the CA that signed it (--kafka-ssl-cafile)"
        )
    if isinstance(reason, ssl.SSLError):
        return (
            f"TLS handshake failed ({reason.reason or reason}): does the listener expect "
            f"{security.security_protocol}?"
        )
    if isinstance(reason, ConnectionRefusedError):
        return f"connection refused: is a broker running there? {ADDRESS_HINT}"
    if isinstance(reason, socket.gaierror):
        return f"unknown host: {reason.strerror or reason} {ADDRESS_HINT}"
    if isinstance(reason, TimeoutError):
        return f"no answer in time: is that a Kafka listener? {ADDRESS_HINT}"
    closed = isinstance(reason, ConnectionResetError) or (
        isinstance(reason, KafkaConnectionError) and "closed" in str(reason)
    )
    if closed:
        return (
            f"the broker closed the connection during the handshake: does the listener "
            f"expect {security.security_protocol}?"
        )
    return str(reason) or type(reason).__name__


@contextlib.asynccontextmanager
async def admin_client(broker: str, security: KafkaSecurity) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(broker), **security.client_kwargs())
    await start_client(admin, security, admin.close)
    try:
        yield admin
    finally:
        await admin.close()


def key_of(line: bytes) -> bytes | None:
    """The record key for a JSONL line: its ``subject`` (ticket id), if it has one."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    subject = obj.get("subject") if isinstance(obj, dict) else None
    return subject.encode() if isinstance(subject, str) else None


def producer(broker: str, *, security: KafkaSecurity = PLAINTEXT) -> AIOKafkaProducer:
    """A producer, not started (``async with``; :func:`producing` explains failures)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap(broker), linger_ms=5, max_batch_size=256 * 1024,
        acks="all", **security.client_kwargs(),
    )  # fmt: skip


@contextlib.asynccontextmanager
async def producing(
    broker: str, *, security: KafkaSecurity = PLAINTEXT
) -> AsyncIterator[AIOKafkaProducer]:
    """A started producer, stopped (pending records sent) at the end of the block."""
    prod = producer(broker, security=security)
    await start_client(prod, security, prod.stop)
    try:
        yield prod
    finally:
        await prod.stop()


async def publish_lines(
    broker: str,
    topic: str,
    lines: Iterable[bytes],
    rate: float = 0.0,
    *,
    security: KafkaSecurity = PLAINTEXT,
) -> int:
    """Publish every non-blank line as-is, keyed by ticket id; ``rate`` events/s (0: max)."""
    sent = 0
    start = time.monotonic()
    async with producing(broker, security=security) as prod:
        pending = []
        for raw in lines:
            line = raw.strip()
            if not line:
                continue
            pending.append(await prod.send(topic, value=line, key=key_of(line)))
            sent += 1
            if rate > 0:
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    return sent


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int | None = None  # the record's (producer's) time


async def read_topic(
    broker: str, topic: str, idle_s: float = 1.0, *, security: KafkaSecurity = PLAINTEXT
) -> list[Message]:
    """Every record of ``topic`` from the beginning to its current end."""
    records = follow(broker, topic, stop_at_end=True, idle_s=idle_s, security=security)
    return [m async for m in records]


async def follow(
    broker: str,
    topic: str,
    *,
    stop_at_end: bool = False,
    idle_s: float = 1.0,
    from_beginning: bool = True,
    since_ms: int | None = None,
    security: KafkaSecurity = PLAINTEXT,
) -> AsyncIterator[Message]:
    """Records of ``topic`` (no consumer group); optionally stop at the end offsets.
    ``since_ms``: from each partition's first record of that time or later."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap(broker),
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
        **security.client_kwargs(),
    )
    await start_client(consumer, security, consumer.stop)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await refresh_metadata(consumer)
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        if since_ms is not None:
            found = await consumer.offsets_for_times(dict.fromkeys(tps, since_ms))
            for tp in tps:
                consumer.seek(tp, found[tp].offset if found[tp] is not None else ends[tp])
        elif from_beginning:
            await consumer.seek_to_beginning(*tps)
        while True:
            if stop_at_end:
                positions = [await consumer.position(tp) for tp in tps]
                if all(pos >= ends[tp] for pos, tp in zip(positions, tps, strict=True)):
                    return
            batch = await consumer.getmany(*tps, timeout_ms=int(idle_s * 1000))
            for tp, records in batch.items():
                for r in records:
                    yield Message(tp.topic, tp.partition, r.offset, r.key, r.value,
                                  tuple(r.headers or ()), r.timestamp)  # fmt: skip
    finally:
        await consumer.stop()
