"""Kafka security settings: client arguments per protocol, validation, the password hidden."""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import click
import faust
import pytest
from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed
from click.testing import CliRunner
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from slamon.adapters.kafka import KafkaAccessError, explain, start_client
from slamon.adapters.kafka_security import MASK, KafkaSecurity, KafkaSecurityError, Secret
from slamon.cli import main
from slamon.core.policy import SlaPolicy
from slamon.worker.settings import WorkerSettings

PASSWORD = "s3cret-Pa55"
SECURITY_FLAGS = {
    "--kafka-security-protocol", "--kafka-sasl-mechanism", "--kafka-sasl-username",
    "--kafka-sasl-password", "--kafka-sasl-password-file", "--kafka-ssl-cafile",
    "--kafka-ssl-certfile", "--kafka-ssl-keyfile",
}  # fmt: skip


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A self-signed certificate (it is its own CA), its key, an encrypted key, junk."""
    tmp = tmp_path_factory.mktemp("tls")
    cert, key, locked = tmp / "cert.pem", tmp / "key.pem", tmp / "locked.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=slamon unit test", "-keyout", str(key),
         "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-in", str(key), "-out", str(locked),
         "-passout", "pass:lock"],
        check=True, capture_output=True,
    )  # fmt: skip
    junk = tmp / "junk.pem"
    junk.write_text("not a certificate\n")
    return {"cert": cert, "key": key, "locked": locked, "junk": junk}


def sasl(protocol: str = "SASL_SSL", **kwargs: object) -> KafkaSecurity:
    fields: dict[str, object] = {
        "security_protocol": protocol, "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_username": "slamon", "sasl_password": Secret(PASSWORD), **kwargs,
    }  # fmt: skip
    return KafkaSecurity(**fields)  # type: ignore[arg-type]


# -- client arguments ------------------------------------------------------------------
def test_plaintext_is_the_default_and_adds_nothing() -> None:
    assert WorkerSettings().security == KafkaSecurity()
    assert KafkaSecurity().client_kwargs() == {"security_protocol": "PLAINTEXT"}
    assert KafkaSecurity().faust_credentials() is None


def test_ssl_gives_a_verifying_context_with_the_ca_and_the_client_certificate(
    tls: dict[str, Path],
) -> None:
    security = KafkaSecurity(
        "SSL", ssl_cafile=tls["cert"], ssl_certfile=tls["cert"], ssl_keyfile=tls["key"]
    )
    kwargs = security.client_kwargs()
    assert set(kwargs) == {"security_protocol", "ssl_context"}
    assert kwargs["security_protocol"] == "SSL"
    context = kwargs["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    subjects = [dict(rdn[0] for rdn in ca["subject"]) for ca in context.get_ca_certs()]  # type: ignore[misc]  # typeshed: str | tuple
    assert {"commonName": "slamon unit test"} in subjects


def test_ssl_without_a_ca_file_trusts_the_system_cas() -> None:
    kwargs = KafkaSecurity("SSL").client_kwargs()
    assert kwargs["security_protocol"] == "SSL"
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext)


def test_sasl_plaintext_sends_the_credentials_without_tls() -> None:
    assert sasl("SASL_PLAINTEXT").client_kwargs() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "slamon",
        "sasl_plain_password": PASSWORD,
    }


def test_sasl_ssl_has_both(tls: dict[str, Path]) -> None:
    kwargs = sasl(sasl_mechanism="PLAIN", ssl_cafile=tls["cert"]).client_kwargs()
    assert isinstance(kwargs.pop("ssl_context"), ssl.SSLContext)
    assert kwargs == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": "slamon",
        "sasl_plain_password": PASSWORD,
    }


@pytest.mark.parametrize("protocol", ["SSL", "SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_faust_gets_the_same_client_arguments(
    protocol: str, mechanism: str, tls: dict[str, Path]
) -> None:
    """What Faust's aiokafka driver makes of broker_credentials is what our clients get."""
    if protocol == "SSL":
        security = KafkaSecurity("SSL", mechanism, ssl_cafile=tls["cert"])
    else:
        cafile = tls["cert"] if protocol == "SASL_SSL" else None
        security = sasl(protocol, sasl_mechanism=mechanism, ssl_cafile=cafile)
    credentials = security.faust_credentials()
    assert isinstance(credentials, faust.SSLCredentials | faust.SASLCredentials)
    theirs = dict(credentials_to_aiokafka_auth(credentials))
    ours = security.client_kwargs()
    assert isinstance(theirs.pop("ssl_context", None), type(ours.pop("ssl_context", None)))
    assert theirs == ours
    assert PASSWORD not in repr(credentials)


# -- the password -------------------------------------------------------------------------
def test_the_password_is_hidden_in_every_repr() -> None:
    secret = Secret(PASSWORD)
    assert repr(secret) == str(secret) == f"{secret}" == MASK
    settings = WorkerSettings(security=sasl("SASL_PLAINTEXT"))
    for text in (repr(sasl("SASL_PLAINTEXT")), repr(settings), str(settings)):
        assert PASSWORD not in text
        assert f"sasl_password={MASK}" in text
    assert secret.reveal() == PASSWORD
    assert secret == Secret(PASSWORD) != Secret("other")


def test_the_password_file_is_read_and_stripped(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_text(f"  {PASSWORD}\n\n")
    assert Secret.from_file(path).reveal() == PASSWORD


@pytest.mark.parametrize(
    ("content", "message"), [(None, "does not exist"), (" \n", "is empty")]
)  # fmt: skip
def test_a_missing_or_empty_password_file_is_named(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "password"
    if content is not None:
        path.write_text(content)
    with pytest.raises(KafkaSecurityError, match=f"password file {path} {message}"):
        Secret.from_file(path)


# -- validation ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"security_protocol": "TLS"}, "unknown Kafka security protocol 'TLS' (use PLAINTEXT, "),
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI", "sasl_username": "u",
          "sasl_password": Secret("p")}, "unknown SASL mechanism 'GSSAPI'"),
        ({"security_protocol": "SASL_SSL"},
         "security protocol SASL_SSL needs a SASL username and a SASL password"),
        ({"security_protocol": "SASL_PLAINTEXT", "sasl_username": "u"},
         "security protocol SASL_PLAINTEXT needs a SASL password"),
        ({"security_protocol": "SASL_SSL", "sasl_password": Secret("p")},
         "security protocol SASL_SSL needs a SASL username"),
        ({"security_protocol": "SASL_SSL", "sasl_username": "u", "sasl_password": Secret("")},
         "needs a SASL password"),
        ({"sasl_username": "u"},
         "a SASL username or password is set but security protocol PLAINTEXT does not"),
        ({"security_protocol": "SASL_PLAINTEXT", "sasl_username": "u",
          "sasl_password": Secret("p"), "ssl_cafile": Path("/ca.pem")},
         "SSL CA file /ca.pem set but security protocol SASL_PLAINTEXT does not use TLS"),
        ({"security_protocol": "SSL", "ssl_keyfile": Path("/k.pem")},
         "an SSL key file needs its certificate file"),
        ({"security_protocol": "SSL", "ssl_cafile": Path("/nowhere/ca.pem")},
         "SSL CA file /nowhere/ca.pem does not exist"),
        ({"security_protocol": "SSL", "ssl_certfile": Path("/")},
         "SSL certificate file / is not a file"),
    ],
)  # fmt: skip
def test_settings_that_cannot_work_are_refused_with_the_reason(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(KafkaSecurityError) as raised:
        KafkaSecurity(**fields)  # type: ignore[arg-type]
    assert message in str(raised.value)


def test_a_tls_file_that_does_not_load_is_named(tls: dict[str, Path]) -> None:
    with pytest.raises(KafkaSecurityError, match=f"SSL CA file {tls['junk']}"):
        KafkaSecurity("SSL", ssl_cafile=tls["junk"]).client_kwargs()


def test_an_encrypted_key_is_refused_instead_of_prompting(tls: dict[str, Path]) -> None:
    security = KafkaSecurity("SSL", ssl_certfile=tls["cert"], ssl_keyfile=tls["locked"])
    with pytest.raises(KafkaSecurityError, match="encrypted"):
        security.ssl_context()


# -- why a connection failed ------------------------------------------------------------------
def test_reasons_are_told_in_words_a_user_can_act_on() -> None:
    security = sasl()
    refused = SaslAuthenticationFailed("Authentication failed: invalid credentials")
    assert explain(refused, security) == (
        "authentication failed (SASL_SSL, SCRAM-SHA-512 as 'slamon'): "
        "Authentication failed: invalid credentials"
    )
    untrusted = ssl.SSLCertVerificationError(1, "certificate verify failed")
    untrusted.verify_message = "self-signed certificate in certificate chain"
    assert "not trusted (self-signed certificate in certificate chain)" in explain(
        untrusted, security
    )
    assert "does the listener expect SASL_SSL?" in explain(ConnectionResetError(), security)


class FakeClient:
    """Fails to bootstrap the way aiokafka does: logs the reason, raises another error."""

    def __init__(self, reason: BaseException | None) -> None:
        self.reason, self.stopped = reason, False

    async def start(self) -> None:
        if self.reason is None:
            logging.getLogger("aiokafka").warning("Unable to request metadata: %s", OSError("x"))
            return
        logging.getLogger("aiokafka").error('Unable connect to "%s:%s": %s', "h", 1, self.reason)
        raise KafkaConnectionError("Unable to bootstrap from [('h', 1)]")

    async def stop(self) -> None:
        self.stopped = True


def run_start(client: FakeClient) -> Callable[[], None]:
    return lambda: asyncio.run(start_client(client, sasl(), client.stop))


def test_a_refused_start_raises_the_reason_and_holds_back_aiokafka_s_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = FakeClient(SaslAuthenticationFailed("invalid credentials"))
    with (
        caplog.at_level(logging.INFO),
        pytest.raises(KafkaAccessError, match=r"^authentication failed \(SASL_SSL"),
    ):
        run_start(client)()
    assert client.stopped
    assert not [r for r in caplog.records if r.name == "aiokafka"]


def test_a_successful_start_logs_aiokafka_s_records_as_usual(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        run_start(FakeClient(None))()
    assert [r.getMessage() for r in caplog.records] == ["Unable to request metadata: x"]


# -- the CLI ------------------------------------------------------------------------------
@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[WorkerSettings]:
    """The settings `slamon worker` hands to run_worker, instead of running it."""
    for name in [n for n in os.environ if n.startswith("SLAMON_")]:
        monkeypatch.delenv(name)
    calls: list[WorkerSettings] = []

    def run_worker(settings: WorkerSettings, _policy: SlaPolicy) -> None:
        calls.append(settings)

    monkeypatch.setattr("slamon.bootstrap.run_worker", run_worker)
    return calls


def test_the_worker_takes_its_security_from_slamon_variables(
    started: list[WorkerSettings], tmp_path: Path, tls: dict[str, Path]
) -> None:
    password = tmp_path / "password"
    password.write_text(PASSWORD + "\n")
    env = {
        "SLAMON_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "SLAMON_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "SLAMON_KAFKA_SASL_USERNAME": "slamon",
        "SLAMON_KAFKA_SASL_PASSWORD_FILE": str(password),
        "SLAMON_KAFKA_SSL_CAFILE": str(tls["cert"]), "SLAMON_KAFKA_SSL_CERTFILE": str(tls["cert"]),
        "SLAMON_KAFKA_SSL_KEYFILE": str(tls["key"]),
    }  # fmt: skip
    result = CliRunner().invoke(main, ["worker"], env=env)
    assert result.exit_code == 0, result.output
    assert started[0].security == KafkaSecurity(
        "SASL_SSL", "SCRAM-SHA-256", "slamon", Secret(PASSWORD), tls["cert"], tls["cert"],
        tls["key"],
    )  # fmt: skip


def test_the_password_option_reaches_the_settings(started: list[WorkerSettings]) -> None:
    args = ["worker", "--kafka-security-protocol", "SASL_PLAINTEXT", "--kafka-sasl-username",
            "u", "--kafka-sasl-password", PASSWORD]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert started[0].security == sasl("SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="u")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kafka-security-protocol", "SASL_SSL", "--kafka-sasl-username", "u"],
         "Error: Kafka security: security protocol SASL_SSL needs a SASL password"),
        (["--kafka-sasl-password", "p", "--kafka-sasl-password-file", __file__],
         "give --kafka-sasl-password or --kafka-sasl-password-file, not both"),
        (["--kafka-security-protocol", "SSL", "--kafka-ssl-cafile", "/nowhere/ca.pem"],
         "(env var: 'SLAMON_KAFKA_SSL_CAFILE'): File '/nowhere/ca.pem' does not exist"),
        (["--kafka-security-protocol", "SSL", "--kafka-ssl-cafile", __file__],
         f"Error: Kafka security: cannot load the TLS files (SSL CA file {__file__})"),
    ],
)  # fmt: skip
def test_bad_security_options_are_usage_errors(
    started: list[WorkerSettings], args: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["worker", *args], terminal_width=300)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert not started


@pytest.mark.parametrize("command", ["worker", "publish", "simulate", "tail"])
def test_every_kafka_command_has_the_security_options_and_their_variables(command: str) -> None:
    options = [p for p in main.commands[command].params if isinstance(p, click.Option)]
    security = {o.opts[0]: o for o in options if o.opts[0] in SECURITY_FLAGS}
    assert set(security) == SECURITY_FLAGS
    for flag, option in security.items():
        assert option.envvar == "SLAMON_" + flag.removeprefix("--").replace("-", "_").upper()
    assert not security["--kafka-sasl-password"].show_default


@pytest.mark.parametrize("command", ["worker", "publish", "simulate", "tail"])
def test_the_help_never_shows_the_password(command: str) -> None:
    result = CliRunner().invoke(
        main, [command, "--help"], env={"SLAMON_KAFKA_SASL_PASSWORD": PASSWORD}
    )
    assert result.exit_code == 0, result.output
    assert "--kafka-sasl-password" in result.stdout
    assert PASSWORD not in result.output
