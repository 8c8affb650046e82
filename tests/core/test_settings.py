"""Settings come from the environment; production is one explicit switch and checks clean."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks

ROOT = Path(__file__).resolve().parents[2]


def run(code_or_args, **env) -> subprocess.CompletedProcess:
    """A fresh interpreter with only the given variables on top of a clean environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PLAYGROUND"))}
    base.pop("SECRET_KEY", None)
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
    "import django; django.setup(); from django.conf import settings as s; import json;"
    "print(json.dumps({'endpoints': s.PLAYGROUND_ENDPOINTS, 'secure': s.SESSION_COOKIE_SECURE,"
    " 'layer': s.CHANNEL_LAYERS['default']['BACKEND'], 'db': s.DATABASES['default']['ENGINE'],"
    " 'storage': s.STORAGES['staticfiles']['BACKEND']}))"
)


def show(**env) -> dict:
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


def test_production_is_https_only_with_manifest_static_files():
    shown = show(**PRODUCTION)
    assert shown["secure"] is True
    assert shown["storage"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_services_and_endpoints_come_from_the_environment():
    extra = [{"name": "vllm", "base_url": "http://127.0.0.1:8001/v1", "flavour": "openai"}]
    shown = show(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        REDIS_URL="redis://127.0.0.1:6379/0",
        FIREWORKS_API_KEY="fw-secret",
        PLAYGROUND_ENDPOINTS=json.dumps(extra),
        SIMULATOR_ENABLED="false",
    )
    assert shown["db"] == "django.db.backends.postgresql"
    assert shown["layer"] == "channels_redis.core.RedisChannelLayer"
    names = [(e["name"], e["base_url"], e.get("key_env")) for e in shown["endpoints"]]
    assert names == [
        ("fireworks", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
        ("vllm", "http://127.0.0.1:8001/v1", None),
    ]
    assert "fw-secret" not in json.dumps(shown), "settings hold the variable name, not the key"


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
