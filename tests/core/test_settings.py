"""Settings come from the environment; production is one explicit switch and checks clean."""

import hmac
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks

ROOT = Path(__file__).resolve().parents[2]
# Settings read from the variables each test gives, in an interpreter of its own, and the
# system checks: the same whatever database and channel layer the suite runs on.
pytestmark = pytest.mark.sqlite_only


def run(code_or_args, **env) -> subprocess.CompletedProcess:
    """A fresh interpreter with only the given variables on top of a clean environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PLAYGROUND"))}
    base.pop("SECRET_KEY", None)
    base.pop("DEBUG", None)
    args = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "playground.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


PRODUCTION = {
    "PLAYGROUND_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "playground.example.com",
    # Production offers no simulator unless asked, so it needs an endpoint of its own.
    "PLAYGROUND_ENDPOINTS": json.dumps([{"name": "vllm", "base_url": "https://llm.example/v1"}]),
}


def test_production_passes_the_deploy_check_without_a_warning():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = run(["manage.py", "check"], **{**PRODUCTION, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when PLAYGROUND_ENV=production." in result.stderr


def test_an_unknown_environment_name_fails_loudly():
    result = run(["manage.py", "check"], PLAYGROUND_ENV="prod")
    assert "PLAYGROUND_ENV must be 'development' or 'production'." in result.stderr


SHOW = (
    "import django, os; django.setup(); from django.conf import settings as s; import json;"
    "print(json.dumps({'endpoints': s.PLAYGROUND_ENDPOINTS, 'secure': s.SESSION_COOKIE_SECURE,"
    " 'layer': s.CHANNEL_LAYERS['default']['BACKEND'], 'db': s.DATABASES['default']['ENGINE'],"
    " 'storage': s.STORAGES['staticfiles']['BACKEND'], 'mounted': s.SIMULATOR_MOUNTED,"
    " 'debug': s.DEBUG,"
    " 'simulator_key': os.environ['SIMULATOR_API_KEY']}))"
)


def show(**env) -> dict:
    env.setdefault("SIMULATOR_API_KEY", "")  # not the one this process made for itself
    result = run(SHOW, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_development_defaults_run_offline_on_sqlite_memory_layer_and_the_simulator():
    shown = show(DATABASE_URL="", REDIS_URL="", FIREWORKS_API_KEY="")
    assert [e["name"] for e in shown["endpoints"]] == ["simulator"]
    assert shown["endpoints"][0]["base_url"] == "http://127.0.0.1:8000/simulator/v1"
    assert shown["db"] == "django.db.backends.sqlite3"
    assert shown["layer"] == "channels.layers.InMemoryChannelLayer"
    assert shown["secure"] is False
    assert shown["storage"] == "django.contrib.staticfiles.storage.StaticFilesStorage"
    assert shown["debug"] is False, "only when a developer asks for it"


@pytest.fixture(scope="module")
def production() -> dict:
    """Production's settings, read once: a fresh interpreter costs a second or more."""
    return show(**PRODUCTION)


def test_production_is_https_only_with_manifest_static_files(production):
    assert production["secure"] is True
    assert production["storage"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_production_neither_offers_nor_mounts_the_simulator_unless_asked(production):
    assert [e["name"] for e in production["endpoints"]] == ["vllm"]
    assert production["mounted"] is False


def test_the_simulator_when_asked_for_gets_a_key_made_from_the_secret_key_unless_given():
    secret = secrets.token_urlsafe(50)
    asked = {"SIMULATOR_ENABLED": "true", "SIMULATOR_MOUNTED": "true"}
    shown = show(**{**PRODUCTION, "SECRET_KEY": secret, **asked})
    assert [e["name"] for e in shown["endpoints"]] == ["simulator", "vllm"]
    assert shown["mounted"] is True
    # The same in every process that shares the SECRET_KEY, and unguessable without it.
    purpose = b"playground: the mounted simulator's API key"
    assert shown["simulator_key"] == hmac.new(secret.encode(), purpose, "sha256").hexdigest()
    simulator = shown["endpoints"][0]
    assert simulator["key_env"] == "SIMULATOR_API_KEY", "the app sends it, by the variable's name"
    assert shown["simulator_key"] not in json.dumps(shown["endpoints"])
    assert show(SIMULATOR_API_KEY="given")["simulator_key"] == "given"


@pytest.mark.parametrize(
    ("endpoints", "message"),
    [
        ([{"name": "a"}], "PLAYGROUND_ENDPOINTS[0] lacks base_url."),
        ([{"name": "a", "base_url": "ftp://x"}], "PLAYGROUND_ENDPOINTS[0].base_url must be"),
        ([{"name": "a", "base_url": "http://x", "flavour": "x"}], "flavour must be"),
        ([{"name": "a", "base_url": "http://x"}] * 2, "the name 'a' is taken."),
        (
            [{"name": "a", "base_url": "http://x", "max_tokens": "lots"}],
            "PLAYGROUND_ENDPOINTS[0].max_tokens must be a whole number of 1 or more.",
        ),
        ([], "No upstream endpoint is configured."),
    ],
)
def test_a_bad_endpoint_list_fails_the_system_checks(settings, endpoints, message):
    settings.PLAYGROUND_ENDPOINTS = endpoints
    errors = [e.msg for e in run_checks()]
    assert any(m.startswith(message) or message in m for m in errors), errors


def test_a_price_table_is_read_exactly_and_a_bad_one_fails_loudly():
    show = "import django; django.setup(); from django.conf import settings as s;"
    show += " print(s.PLAYGROUND_PRICES)"
    good = run(show, PLAYGROUND_PRICES='{"m": {"input": 0.15, "output": 2}}')
    assert good.stdout.strip() == "{'m': {'input': Decimal('0.15'), 'output': Decimal('2')}}"
    bad = run(show, PLAYGROUND_PRICES='{"m": {"input": "cheap", "output": 2}}')
    assert bad.returncode != 0
    assert "'m' has a price that is no number." in bad.stderr
