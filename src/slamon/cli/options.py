"""Options and helpers shared by several `slamon` commands.

Defaults come from :mod:`slamon.worker.settings`, the one place they are written.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
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
from slamon.core.aggregates import DIMENSIONS
from slamon.core.durations import format_duration, parse_duration
from slamon.core.policy import PolicyError, SlaPolicy
from slamon.core.timefmt import NS_PER_S, parse_rfc3339
from slamon.worker.settings import Topics, WorkerSettings

DEFAULTS = WorkerSettings()
DEFAULT_TOPICS = Topics()
LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_INVALID_SHOWN = 20  # invalid lines listed on stderr; the count covers the rest
TIME_EXAMPLE = "2026-11-02T08:00:00Z"
TIME_FORMAT = f"RFC 3339 with an offset, e.g. {TIME_EXAMPLE}"

Command = TypeVar("Command", bound=Callable[..., Any])


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


def write_files(out_dir: Path, files: Mapping[str, str], what: str) -> None:
    """Each file's text into ``out_dir`` (created if missing), then their names on stderr."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out_dir / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(
            f"cannot write the {what} to {out_dir}: {exc.strerror}"
        ) from None
    click.echo(f"wrote {', '.join(str(out_dir / name) for name in files)}", err=True)


def duration_s(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    """Click callback: a duration such as ``90s`` or ``3d`` as seconds."""
    try:
        return parse_duration(value) / NS_PER_S
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def duration_text(seconds: float) -> str:
    """``seconds`` as a duration option's text, e.g. ``3d`` (the inverse of duration_s)."""
    return format_duration(round(seconds * NS_PER_S))


def checked_time(value: str) -> int:
    """An RFC 3339 time as ns; a bad one is a usage error with an example."""
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc} (for example {TIME_EXAMPLE})") from None


def _parse_until(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    return None if value is None else checked_time(value)


# -- option declarations -------------------------------------------------------------------
def env_var(flag: str) -> str:
    """An option's environment variable: ``--web-port`` reads SLAMON_WEB_PORT."""
    return "SLAMON_" + flag.lstrip("-").replace("-", "_").upper()


def setting(flag: str, *names: str, **attrs: Any) -> Callable[[Command], Command]:
    """An option that also reads its SLAMON_* variable, its default (if any) shown."""
    attrs.setdefault("envvar", env_var(flag))
    attrs.setdefault("show_default", attrs.get("default") is not None)
    return click.option(flag, *names, **attrs)


def duration_option(
    flag: str, *names: str, default: str, **attrs: Any
) -> Callable[[Command], Command]:
    """An option whose value is a duration (``90s``, ``3d``), given to the command as seconds."""
    return click.option(
        flag, *names, default=default, show_default=True, callback=duration_s, **attrs
    )


def duration_setting(flag: str, default_s: float, help_text: str) -> Callable[[Command], Command]:
    """A duration option that also reads its SLAMON_* variable."""
    default = duration_text(default_s)
    return duration_option(flag, default=default, envvar=env_var(flag), help=help_text)


def topic_option(topic: str, help_text: str) -> Callable[[Command], Command]:
    """``--<topic>-topic`` (``dead_letter``: --dead-letter-topic), its default the worker's."""
    return setting(
        f"--{topic.replace('_', '-')}-topic", default=getattr(DEFAULT_TOPICS, topic), help=help_text
    )


def until_option(without: str) -> Callable[[Command], Command]:
    """--until TIME, the evaluation time (``without``: what it is when not given)."""
    help_text = f"Evaluation time, {TIME_FORMAT} (default: {without})."
    return click.option("--until", metavar="TIME", callback=_parse_until, help=help_text)


def out_dir_option(default: str, envvar: str, what: str) -> Callable[[Command], Command]:
    """--out DIR, where a command writes its files (see write_files)."""
    help_text = f"Directory to write the {what} to (created if missing; files in it replaced)."
    directory = click.Path(file_okay=False, path_type=Path)
    return setting("--out", "out_dir", type=directory, default=default, envvar=envvar,
                   help=help_text)  # fmt: skip


def collected(argument: str, build: Callable[..., Any]) -> Callable[[Command], Command]:
    """The options named as ``build``'s parameters reach the command as one ``argument``,
    ``build(**their values)``. Goes below those options' decorators."""
    names = tuple(inspect.signature(build).parameters)

    def decorate(command: Command) -> Command:
        @functools.wraps(command)
        def with_argument(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in names}
            return command(*args, **{argument: build(**values)}, **kwargs)

        return cast("Command", with_argument)

    return decorate


EVENTS_FILE = click.argument("events", type=click.File("rb"))
POLICY = setting(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False),
    help="SLA policy YAML (default: the bundled default policy).",
)
BROKER = setting("--broker", default=DEFAULTS.broker, help="Kafka bootstrap server.")
PARTITIONS = setting(
    "--partitions",
    type=click.IntRange(min=1),
    default=DEFAULTS.partitions,
    help="Partitions of the topics it creates (an existing input topic keeps its own).",
)
REPLICATION = setting(
    "--replication-factor",
    "replication",
    type=click.IntRange(min=1),
    default=DEFAULTS.replication,
    help="Replicas of each topic it creates (3 on a production cluster).",
)
EVENTS_TOPIC = topic_option("events", "Input topic of ticket events.")
BY = click.option(
    "--by",
    type=click.Choice(DIMENSIONS),
    multiple=True,
    help="Break the report down by a ticket attribute (repeatable); missing: (none).",
)

# -- Kafka security: TLS and SASL for every command that talks to Kafka ------------------
SECURITY_DEFAULTS = DEFAULTS.security
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_SECURITY_OPTIONS = (
    setting(
        "--kafka-security-protocol",
        type=click.Choice(PROTOCOLS),
        default=SECURITY_DEFAULTS.security_protocol,
        help="How clients connect to Kafka: TLS (SSL), SASL, both (SASL_SSL), or neither.",
    ),
    setting(
        "--kafka-sasl-mechanism",
        type=click.Choice(MECHANISMS),
        default=SECURITY_DEFAULTS.sasl_mechanism,
        help="SASL mechanism (SASL_PLAINTEXT, SASL_SSL).",
    ),
    setting(
        "--kafka-sasl-username", default=SECURITY_DEFAULTS.sasl_username, help="SASL user name."
    ),
    setting(
        "--kafka-sasl-password",
        help="SASL password (prefer --kafka-sasl-password-file: arguments are visible in ps).",
    ),
    setting(
        "--kafka-sasl-password-file",
        type=_FILE,
        help="File holding the SASL password (surrounding whitespace, the newline, stripped).",
    ),
    setting(
        "--kafka-ssl-cafile",
        type=_FILE,
        default=SECURITY_DEFAULTS.ssl_cafile,
        help="CA certificate(s) (PEM) that signed the broker's (default: the system's CAs).",
    ),
    setting(
        "--kafka-ssl-certfile",
        type=_FILE,
        default=SECURITY_DEFAULTS.ssl_certfile,
        help="Client certificate (PEM) for brokers that require one (mutual TLS).",
    ),
    setting(
        "--kafka-ssl-keyfile",
        type=_FILE,
        default=SECURITY_DEFAULTS.ssl_keyfile,
        help="The client certificate's key (PEM, unencrypted; default: in the certificate file).",
    ),
)


def kafka_security(command: Command) -> Command:
    """The --kafka-* security options; the command gets them as one ``security`` argument.

    Used below ``@BROKER``: ``@kafka_security`` and a ``security: KafkaSecurity`` parameter
    is all a command that talks to Kafka adds.
    """
    decorated = collected("security", security_from_options)(command)
    for option in reversed(_SECURITY_OPTIONS):
        decorated = option(decorated)
    return decorated


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
