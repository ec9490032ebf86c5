"""`slamon worker`'s on-call options become OncallSettings (run_worker replaced: no Kafka)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import slamon.bootstrap
from slamon.cli.worker import worker_command
from slamon.worker.settings import OncallSettings, WorkerSettings


def run(args: list[str], monkeypatch: pytest.MonkeyPatch,
        env: dict[str, str] | None = None) -> tuple[Result, list[OncallSettings]]:  # fmt: skip
    seen: list[OncallSettings] = []

    def fake_run_worker(settings: WorkerSettings, _policy: object) -> None:
        seen.append(settings.oncall)

    monkeypatch.setattr(slamon.bootstrap, "run_worker", fake_run_worker)
    for name in ("SLAMON_ALERTMANAGER_URLS", "SLAMON_WEBHOOK_URLS", "SLAMON_WEBHOOK_SECRET",
                 "SLAMON_WEBHOOK_SECRET_FILE", "SLAMON_ALERT_RESEND"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return CliRunner().invoke(worker_command, args, env=env), seen


def test_defaults_send_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """No URL: no sink; resend 60 s; the on-call board as generatorURL."""
    result, [oncall] = run([], monkeypatch)
    assert result.exit_code == 0, result.output
    assert oncall == OncallSettings()
    assert (oncall.alertmanager_urls, oncall.webhook_urls, oncall.resend_s) == ((), (), 60.0)


def test_repeated_flags_and_comma_separated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """--alertmanager repeats; SLAMON_ALERTMANAGER_URLS / SLAMON_WEBHOOK_URLS are lists
    separated by commas (spaces around them ignored)."""
    result, [oncall] = run(["--alertmanager", "http://a:9093", "--alertmanager", "http://b:9093",
                            "--alert-resend", "2s", "--board-url", "http://g/d/x"],
                           monkeypatch)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert oncall.alertmanager_urls == ("http://a:9093", "http://b:9093")
    assert (oncall.resend_s, oncall.board_url) == (2.0, "http://g/d/x")
    env = {"SLAMON_ALERTMANAGER_URLS": "http://a:9093, http://b:9093",
           "SLAMON_WEBHOOK_URLS": "https://hook/x"}  # fmt: skip
    result, [oncall] = run([], monkeypatch, env)
    assert oncall.alertmanager_urls == ("http://a:9093", "http://b:9093")
    assert oncall.webhook_urls == ("https://hook/x",)


def test_secret_from_env_or_file_never_both(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:  # fmt: skip
    """The webhook secret comes from SLAMON_WEBHOOK_SECRET or a file (stripped), not both,
    and is kept out of the settings' repr."""
    result, [oncall] = run(["--webhook", "http://h/x"], monkeypatch,
                           {"SLAMON_WEBHOOK_SECRET": "s1"})  # fmt: skip
    assert oncall.webhook_secret == "s1"
    assert "s1" not in repr(oncall)
    secret = tmp_path / "secret"
    secret.write_text("  s2\n")
    result, [oncall] = run(["--webhook", "http://h/x", "--webhook-secret-file", str(secret)],
                           monkeypatch)  # fmt: skip
    assert oncall.webhook_secret == "s2"
    result, seen = run(["--webhook-secret-file", str(secret)], monkeypatch,
                       {"SLAMON_WEBHOOK_SECRET": "s1"})  # fmt: skip
    assert result.exit_code == 2
    assert "not both" in result.output
    assert seen == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--alertmanager", "alertmanager:9093"], "not an http:// or https:// URL"),
        (["--webhook", "ftp://h/x"], "not an http:// or https:// URL"),
        (["--alert-resend", "0s"], "a duration must be positive"),
    ],
)
def test_bad_values_are_usage_errors(args: list[str], message: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A URL without a scheme, another scheme, a zero resend: exit 2 with the reason."""
    result, seen = run(args, monkeypatch)
    assert result.exit_code == 2
    assert message in result.output
    assert seen == []
