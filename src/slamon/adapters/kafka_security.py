"""How slamon's Kafka clients authenticate and encrypt: TLS and SASL settings.

One :class:`KafkaSecurity` value holds them; :meth:`KafkaSecurity.client_kwargs` turns
it into aiokafka client arguments (every client in :mod:`slamon.adapters.kafka`) and
:meth:`KafkaSecurity.faust_credentials` into the Faust app's ``broker_credentials``.

Light on purpose: aiokafka and Faust are imported only when a client is made, so the
CLI can build these settings for ``--help`` without them.
"""

from __future__ import annotations

import hmac
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT

PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL = "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"
PROTOCOLS = (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)
TLS_PROTOCOLS = frozenset({SSL, SASL_SSL})
SASL_PROTOCOLS = frozenset({SASL_PLAINTEXT, SASL_SSL})
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
MASK = "**********"


class KafkaSecurityError(ValueError):
    """Security settings that cannot work (the message says which and why)."""


class Secret:
    """A password: its repr and str are a mask, so it never reaches a log or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    @classmethod
    def from_file(cls, path: Path) -> Secret:
        """The text of ``path``, surrounding whitespace (the newline) stripped."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise KafkaSecurityError(f"password file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KafkaSecurityError(f"cannot read password file {path}: {exc}") from None
        value = text.strip()
        if not value:
            raise KafkaSecurityError(f"password file {path} is empty")
        return cls(value)

    def reveal(self) -> str:
        """The password itself: for the client that sends it, nothing else."""
        return self._value

    def __repr__(self) -> str:
        return MASK

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class KafkaSecurity:
    """TLS and SASL settings of every Kafka client; the default is a PLAINTEXT listener.

    Checked when built: SASL_* needs a username and a password, TLS files must exist and
    only go with SSL / SASL_SSL, SASL credentials only with SASL_*.
    """

    security_protocol: str = PLAINTEXT
    sasl_mechanism: str = "PLAIN"
    sasl_username: str | None = None
    sasl_password: Secret | None = None
    ssl_cafile: Path | None = None  # None: the system's CAs
    ssl_certfile: Path | None = None  # a client certificate (mutual TLS), PEM
    ssl_keyfile: Path | None = None  # its key, PEM, unencrypted (None: in the certificate file)

    def __post_init__(self) -> None:
        protocol = self.security_protocol
        if protocol not in PROTOCOLS:
            raise KafkaSecurityError(
                f"unknown Kafka security protocol {protocol!r} (use {', '.join(PROTOCOLS)})"
            )
        if self.sasl_mechanism not in MECHANISMS:
            raise KafkaSecurityError(
                f"unknown SASL mechanism {self.sasl_mechanism!r} (use {', '.join(MECHANISMS)})"
            )
        if self.uses_sasl:
            password = self.sasl_password.reveal() if self.sasl_password else ""
            missing = [what for what, value in (("a SASL username", self.sasl_username),
                                                ("a SASL password", password))
                       if not value]  # fmt: skip
            if missing:
                raise KafkaSecurityError(
                    f"security protocol {protocol} needs {' and '.join(missing)}"
                )
        elif self.sasl_username or self.sasl_password:
            raise KafkaSecurityError(
                f"a SASL username or password is set but security protocol {protocol} does "
                f"not authenticate with SASL (SASL_PLAINTEXT or SASL_SSL does)"
            )
        files = self._tls_files()
        if files and not self.uses_tls:
            raise KafkaSecurityError(
                f"{', '.join(f'{what} {path}' for what, path in files)} set but security "
                f"protocol {protocol} does not use TLS (SSL or SASL_SSL does)"
            )
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            raise KafkaSecurityError("an SSL key file needs its certificate file")
        for what, path in files:
            if not path.is_file():
                problem = "is not a file" if path.exists() else "does not exist"
                raise KafkaSecurityError(f"{what} {path} {problem}")

    def _tls_files(self) -> list[tuple[str, Path]]:
        named = (("SSL CA file", self.ssl_cafile), ("SSL certificate file", self.ssl_certfile),
                 ("SSL key file", self.ssl_keyfile))  # fmt: skip
        return [(what, path) for what, path in named if path is not None]

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in TLS_PROTOCOLS

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol in SASL_PROTOCOLS

    def describe(self) -> str:
        """E.g. ``SASL_SSL, SCRAM-SHA-512 as 'slamon'`` (never the password)."""
        if not self.uses_sasl:
            return self.security_protocol
        return f"{self.security_protocol}, {self.sasl_mechanism} as {self.sasl_username!r}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of SSL and SASL_SSL (None otherwise): CA, client certificate."""
        if not self.uses_tls:
            return None
        from aiokafka.helpers import create_ssl_context  # noqa: PLC0415  (slow import)

        try:
            context: ssl.SSLContext = create_ssl_context(
                cafile=self.ssl_cafile,
                certfile=self.ssl_certfile,
                keyfile=self.ssl_keyfile,
                password=_no_key_password,  # never OpenSSL's interactive prompt
            )
        except (ssl.SSLError, OSError, KafkaSecurityError) as exc:
            files = ", ".join(f"{what} {path}" for what, path in self._tls_files())
            raise KafkaSecurityError(
                f"cannot load the TLS files ({files or 'system CAs'}): {exc}"
            ) from None
        return context

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (admin, producer, consumer)."""
        kwargs: dict[str, Any] = {"security_protocol": self.security_protocol}
        context = self.ssl_context()
        if context is not None:
            kwargs["ssl_context"] = context
        if self.uses_sasl:
            assert self.sasl_password is not None  # checked in __post_init__
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password.reveal()
        return kwargs

    def faust_credentials(self) -> CredentialsT | None:
        """The Faust app's ``broker_credentials`` (None: PLAINTEXT).

        faust-streaming 0.15 passes SASLCredentials' mechanism to aiokafka as it is, so
        PLAIN and both SCRAM mechanisms work; with a TLS context it is SASL_SSL.
        """
        if self.security_protocol == PLAINTEXT:
            return None
        import faust  # noqa: PLC0415  (slow import)

        context = self.ssl_context()
        if not self.uses_sasl:
            return faust.SSLCredentials(context)
        assert self.sasl_password is not None  # checked in __post_init__
        return faust.SASLCredentials(
            username=self.sasl_username,
            password=self.sasl_password.reveal(),
            ssl_context=context,
            mechanism=self.sasl_mechanism,
        )


def _no_key_password() -> str:
    raise KafkaSecurityError("the SSL key file is encrypted: give an unencrypted key")
