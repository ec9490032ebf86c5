"""Options and helpers shared by several `slamon` commands.

Defaults come from :mod:`slamon.worker.settings`, the one place they are written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from slamon.adapters.kafka_security import (
    MECHANISMS,
    PROTOCOLS,
    KafkaSecurity,
    KafkaSecurityError,
    Secret,
)
from slamon.core.durations import format_duration, parse_duration
from slamon.core.policy import PolicyError, SlaPolicy
from slamon.core.timefmt import NS_PER_S
from slamon.worker.settings import Topics, WorkerSettings

DEFAULTS = WorkerSettings()
DEFAULT_TOPICS = Topics()
LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_INVALID_SHOWN = 20  # invalid lines listed on stderr; the count covers the rest


class CommandGroup(click.Group):
    """A group whose commands' --help name their SLAMON_* variables, and whose command
    list gives each command's first sentence whole (wrapped), never cut with "..."."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        for param in cmd.params:
            if isinstance(param, click.Option) and param.envvar:
                param.show_envvar = True
        super().add_command(cmd, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def load_policy(path: str | None) -> SlaPolicy:
    """The policy at ``path`` (None: the bundled one); a bad one is a clean CLI error."""
    from slamon.policies import load_policy_or_default  # noqa: PLC0415  (keeps --help fast)

    try:
        return load_policy_or_default(path)
    except (PolicyError, OSError) as exc:
        raise click.ClickException(f"bad policy: {exc}") from None


def report_invalid(source: str, invalid: list[tuple[int, str]], more_hint: str = "") -> None:
    """``file:line: invalid event: reason`` on stderr for the first MAX_INVALID_SHOWN lines."""
    for lineno, reason in invalid[:MAX_INVALID_SHOWN]:
        click.echo(f"{source}:{lineno}: invalid event: {reason}", err=True)
    hidden = len(invalid) - MAX_INVALID_SHOWN
    if hidden > 0:
        more = count_text(hidden, "more invalid line")
        click.echo(f"{source}: ... and {more}{more_hint}", err=True)


def count_text(count: int, what: str) -> str:
    """``1 invalid line``, ``3 invalid lines``."""
    return f"{count} {what}{'' if count == 1 else 's'}"


def source_name(stream: object) -> str:
    """What to call an input stream in messages: its file name, ``<stdin>`` for ``-``."""
    return str(getattr(stream, "name", "<stdin>"))


def duration_s(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    """Click callback: a duration such as ``90s`` or ``3d`` as seconds."""
    try:
        return parse_duration(value) / NS_PER_S
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def duration_text(seconds: float) -> str:
    """``seconds`` as a duration option's text, e.g. ``3d`` (the inverse of duration_s)."""
    return format_duration(round(seconds * NS_PER_S))


POLICY = click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="SLAMON_POLICY",
    help="SLA policy YAML (default: the bundled default policy).",
)
BROKER = click.option(
    "--broker",
    default=DEFAULTS.broker,
    show_default=True,
    envvar="SLAMON_BROKER",
    help="Kafka bootstrap server.",
)
PARTITIONS = click.option(
    "--partitions",
    type=click.IntRange(min=1),
    default=DEFAULTS.partitions,
    show_default=True,
    envvar="SLAMON_PARTITIONS",
    help="Partitions of the topics it creates (an existing input topic keeps its own).",
)
REPLICATION = click.option(
    "--replication-factor",
    "replication",
    type=click.IntRange(min=1),
    default=DEFAULTS.replication,
    show_default=True,
    envvar="SLAMON_REPLICATION_FACTOR",
    help="Replicas of each topic it creates (3 on a production cluster).",
)
EVENTS_TOPIC = click.option(
    "--events-topic",
    default=DEFAULT_TOPICS.events,
    show_default=True,
    envvar="SLAMON_EVENTS_TOPIC",
    help="Input topic of ticket events.",
)

# -- Kafka security: TLS and SASL for every command that talks to Kafka ------------------
SECURITY_DEFAULTS = DEFAULTS.security
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_SECURITY_OPTIONS = (
    click.option(
        "--kafka-security-protocol",
        type=click.Choice(PROTOCOLS),
        default=SECURITY_DEFAULTS.security_protocol,
        show_default=True,
        envvar="SLAMON_KAFKA_SECURITY_PROTOCOL",
        help="How clients connect to Kafka: TLS (SSL), SASL, both (SASL_SSL), or neither.",
    ),
    click.option(
        "--kafka-sasl-mechanism",
        type=click.Choice(MECHANISMS),
        default=SECURITY_DEFAULTS.sasl_mechanism,
        show_default=True,
        envvar="SLAMON_KAFKA_SASL_MECHANISM",
        help="SASL mechanism (SASL_PLAINTEXT, SASL_SSL).",
    ),
    click.option(
        "--kafka-sasl-username",
        default=SECURITY_DEFAULTS.sasl_username,
        envvar="SLAMON_KAFKA_SASL_USERNAME",
        help="SASL user name.",
    ),
    click.option(
        "--kafka-sasl-password",
        default=None,
        envvar="SLAMON_KAFKA_SASL_PASSWORD",
        help="SASL password (prefer --kafka-sasl-password-file: arguments are visible in ps).",
    ),
    click.option(
        "--kafka-sasl-password-file",
        type=_FILE,
        default=None,
        envvar="SLAMON_KAFKA_SASL_PASSWORD_FILE",
        help="File holding the SASL password (surrounding whitespace, the newline, stripped).",
    ),
    click.option(
        "--kafka-ssl-cafile",
        type=_FILE,
        default=SECURITY_DEFAULTS.ssl_cafile,
        envvar="SLAMON_KAFKA_SSL_CAFILE",
        help="CA certificate(s) (PEM) that signed the broker's (default: the system's CAs).",
    ),
    click.option(
        "--kafka-ssl-certfile",
        type=_FILE,
        default=SECURITY_DEFAULTS.ssl_certfile,
        envvar="SLAMON_KAFKA_SSL_CERTFILE",
        help="Client certificate (PEM) for brokers that require one (mutual TLS).",
    ),
    click.option(
        "--kafka-ssl-keyfile",
        type=_FILE,
        default=SECURITY_DEFAULTS.ssl_keyfile,
        envvar="SLAMON_KAFKA_SSL_KEYFILE",
        help="The client certificate's key (PEM, unencrypted; default: in the certificate file).",
    ),
)
_SECURITY_PARAMS = (
    "kafka_security_protocol", "kafka_sasl_mechanism", "kafka_sasl_username",
    "kafka_sasl_password", "kafka_sasl_password_file", "kafka_ssl_cafile",
    "kafka_ssl_certfile", "kafka_ssl_keyfile",
)  # fmt: skip

Command = TypeVar("Command", bound=Callable[..., Any])


def kafka_security(command: Command) -> Command:
    """The --kafka-* security options; the command gets them as one ``security`` argument.

    Used below ``@BROKER``: ``@kafka_security`` and a ``security: KafkaSecurity`` parameter
    is all a command that talks to Kafka adds.
    """

    @functools.wraps(command)
    def with_security(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in _SECURITY_PARAMS}
        return command(*args, security=security_from_options(**values), **kwargs)

    decorated: Callable[..., Any] = with_security
    for option in reversed(_SECURITY_OPTIONS):
        decorated = option(decorated)
    return cast("Command", decorated)


def security_from_options(
    *,
    kafka_security_protocol: str,
    kafka_sasl_mechanism: str,
    kafka_sasl_username: str | None,
    kafka_sasl_password: str | None,
    kafka_sasl_password_file: Path | None,
    kafka_ssl_cafile: Path | None,
    kafka_ssl_certfile: Path | None,
    kafka_ssl_keyfile: Path | None,
) -> KafkaSecurity:
    """KafkaSecurity from the --kafka-* options; settings that cannot work: a usage error.

    The TLS files are loaded here too, so a bad one stops the command before it connects.
    """
    if kafka_sasl_password is not None and kafka_sasl_password_file is not None:
        raise click.UsageError(
            "give --kafka-sasl-password or --kafka-sasl-password-file, not both "
            "(or SLAMON_KAFKA_SASL_PASSWORD / SLAMON_KAFKA_SASL_PASSWORD_FILE)"
        )
    try:
        password = None
        if kafka_sasl_password_file is not None:
            password = Secret.from_file(kafka_sasl_password_file)
        elif kafka_sasl_password is not None:
            password = Secret(kafka_sasl_password)
        security = KafkaSecurity(
            security_protocol=kafka_security_protocol,
            sasl_mechanism=kafka_sasl_mechanism,
            sasl_username=kafka_sasl_username,
            sasl_password=password,
            ssl_cafile=kafka_ssl_cafile,
            ssl_certfile=kafka_ssl_certfile,
            ssl_keyfile=kafka_ssl_keyfile,
        )
        security.ssl_context()
    except KafkaSecurityError as exc:
        raise click.UsageError(f"Kafka security: {exc}") from None
    return security
