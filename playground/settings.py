"""Settings for the playground, all from the environment, with defaults that run offline.

`PLAYGROUND_ENV=production` is the one switch for HTTPS-only cookies, HSTS, SSL redirect and
manifest static files; everything else has a working development default.
"""

import hmac
import ipaddress
import json
import os
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

PLAYGROUND_ENV = env.str("PLAYGROUND_ENV", default="development")
if PLAYGROUND_ENV not in ("development", "production"):
    raise ImproperlyConfigured("PLAYGROUND_ENV must be 'development' or 'production'.")
PRODUCTION = PLAYGROUND_ENV == "production"

# Off unless a developer asks (DEBUG=1 make run): on, Django keeps every query in memory.
DEBUG = env.bool("DEBUG", default=False)


def _development_secret_key() -> str:
    """A key made once per checkout and kept out of git, so sessions survive restarts."""
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when PLAYGROUND_ENV=production.")
    SECRET_KEY = _development_secret_key()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Django's own form templates, for the project's renderer (FORM_RENDERER) to find.
    "django.forms",
    "axes",
    "channels",
    "django_htmx",
    "csp",
    "playground.core",
    "playground.transcripts",
    "playground.presets",
    "playground.chat",
    "playground.cases",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so that static files carry their headers too.
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "playground.core.middleware.BrowserHardeningMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "playground.urls"
FORM_RENDERER = "playground.core.forms.FormRenderer"
ASGI_APPLICATION = "playground.asgi.application"
# Pages whose sync code runs at once in one process (playground/core/handler.py); the rest wait.
REQUEST_THREADS = env.int("PLAYGROUND_REQUEST_THREADS", default=4)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "playground.core.context_processors.theme",
            ],
        },
    },
]

# Database: a SQLite file unless DATABASE_URL says otherwise.
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Async consumers and threaded sync views write at once: WAL lets readers run beside a
    # writer, IMMEDIATE takes the write lock up front (no upgrade deadlock), and the busy
    # timeout makes a writer wait its turn instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory, so that a Daphne process started by the browser tests shares it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # A server that does not answer fails a connection in seconds, not after the OS's minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )

# Connections kept between database calls: otherwise each call of a socket or a run (every
# `database_sync_to_async`) opens and closes its own, most of the CPU a run's start costs
# (bench/relay.py). Off in development, where the tests cut connections to the database.
DATABASES["default"].setdefault(
    "CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=600 if PRODUCTION else 0)
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channel layer: in memory for one process, Redis when several processes serve the app.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Longer than channels_redis's blocking pop (5 s), which redis-py 8's own default
            # timeout equals: a watch or a control channel quiet for 5 s would otherwise fail
            # as if Redis had, and lose what came while it joined its group again.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 10}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins (django-axes): one counter per username and address, for every login form;
# an address from the client's own headers only when a trusted proxy wrote it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "playground.core.logins.client_ip"
AXES_LOCKOUT_CALLABLE = "playground.core.logins.locked_out"
AXES_VERBOSE = False  # its banner on every manage.py command; failures still log warnings
PLAYGROUND_TRUSTED_PROXIES = [  # addresses or networks; a bad one fails at start
    ipaddress.ip_network(proxy, strict=False)
    for proxy in env.list("PLAYGROUND_TRUSTED_PROXIES", default=[])
]
PLAYGROUND_CLIENT_IP_HEADER = env.str("PLAYGROUND_CLIENT_IP_HEADER", default="")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "playground"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Production serves what collectstatic gathered; elsewhere whitenoise reads the source folders.
STATIC_ROOT = BASE_DIR / "staticfiles" if PRODUCTION else None
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Tests run with DEBUG off and no collectstatic, so this follows the mode, not DEBUG.
WHITENOISE_USE_FINDERS = not PRODUCTION

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# No page of ours uses these; a script that got in could not either.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "bluetooth", "browsing-topics", "camera",
        "display-capture", "geolocation", "gyroscope", "hid", "idle-detection", "local-fonts",
        "magnetometer", "microphone", "midi", "payment", "publickey-credentials-get",
        "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
    )
}  # fmt: skip

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # httpx logs every request line at INFO, axes three lines per login; failures are warnings.
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# --- The upstream -------------------------------------------------------------------------

# The built-in simulator, offered and mounted at /simulator/v1 of this server: in development
# by default, in production only when asked for. Mounted, it answers only its key, which the
# app sends from this variable: made from SECRET_KEY (so every process agrees) unless given.
SIMULATOR_MOUNTED = env.bool("SIMULATOR_MOUNTED", default=not PRODUCTION)
SIMULATOR_BASE_URL = env.str(
    "SIMULATOR_BASE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}/simulator/v1"
)
SIMULATOR_ENABLED = env.bool("SIMULATOR_ENABLED", default=not PRODUCTION)
SIMULATOR_KEY_ENV = "SIMULATOR_API_KEY"
if not os.environ.get(SIMULATOR_KEY_ENV):
    os.environ[SIMULATOR_KEY_ENV] = hmac.new(
        SECRET_KEY.encode(), b"playground: the mounted simulator's API key", "sha256"
    ).hexdigest()

FIREWORKS_BASE_URL = env.str("FIREWORKS_BASE_URL", default="https://api.fireworks.ai/inference/v1")


def _endpoints() -> list[dict]:
    """Name, base URL, the env variable holding its key, flavour. Keys stay in the env."""
    endpoints = []
    if SIMULATOR_ENABLED:
        endpoints.append(
            {
                "name": "simulator",
                "label": "Simulator (offline, not a real model)",
                "base_url": SIMULATOR_BASE_URL,
                "key_env": SIMULATOR_KEY_ENV,
                "flavour": "fireworks",
                "simulated": True,
            }
        )
    if env.str("FIREWORKS_API_KEY", default=""):
        endpoints.append(
            {
                "name": "fireworks",
                "label": "Fireworks",
                "base_url": FIREWORKS_BASE_URL,
                "key_env": "FIREWORKS_API_KEY",
                "flavour": "fireworks",
            }
        )
    try:
        extra = json.loads(env.str("PLAYGROUND_ENDPOINTS", default="[]"))
    except ValueError as exc:
        raise ImproperlyConfigured(f"PLAYGROUND_ENDPOINTS is not valid JSON: {exc}") from None
    if not isinstance(extra, list):
        raise ImproperlyConfigured("PLAYGROUND_ENDPOINTS must be a JSON list of objects.")
    return endpoints + extra


PLAYGROUND_ENDPOINTS = _endpoints()
# What the model box holds on a fresh page.
PLAYGROUND_DEFAULT_MODEL = env.str(
    "PLAYGROUND_DEFAULT_MODEL", default="simulator/chat" if SIMULATOR_ENABLED else ""
)


def _prices() -> dict[str, dict[str, Decimal]]:
    """{"<model id>": {"input": 0.2, "output": 0.6}}: US dollars per million tokens."""
    try:
        table = json.loads(env.str("PLAYGROUND_PRICES", default="{}"), parse_float=Decimal)
    except ValueError as exc:
        raise ImproperlyConfigured(f"PLAYGROUND_PRICES is not valid JSON: {exc}") from None
    problem = 'PLAYGROUND_PRICES maps model ids to {"input": $, "output": $} per 1M tokens'
    if not isinstance(table, dict):
        raise ImproperlyConfigured(problem + ".")
    prices = {}
    for model, price in table.items():
        if not isinstance(price, dict) or set(price) != {"input", "output"}:
            raise ImproperlyConfigured(f"{problem}: {model!r} is not.")
        try:
            prices[model] = {side: Decimal(price[side]) for side in ("input", "output")}
        except (ArithmeticError, TypeError, ValueError):
            raise ImproperlyConfigured(
                f"{problem}: {model!r} has a price that is no number."
            ) from None
        if any(not amount.is_finite() or amount < 0 for amount in prices[model].values()):
            raise ImproperlyConfigured(f"{problem}: {model!r} has a price below 0.")
    return prices


# What a run costs is shown (and kept with its transcript) for the models priced here.
PLAYGROUND_PRICES = _prices()

# Limits on what one user may ask of the upstream at once.
PLAYGROUND_MAX_N = env.int("PLAYGROUND_MAX_N", default=8)
PLAYGROUND_MAX_CONCURRENT_RUNS = env.int("PLAYGROUND_MAX_CONCURRENT_RUNS", default=5)
# The cells of a Run all going at once (never more than the cap above minus one, so that the
# user's own Run still starts).
PLAYGROUND_BATCH_CONCURRENCY = env.int("PLAYGROUND_BATCH_CONCURRENCY", default=3)
# ... and over time, per user and endpoint, counted in the database so that every process
# shares them (0: no limit). Simulated endpoints are exempt. The token budget counts generated
# tokens: max_tokens x n is reserved when a run starts, and what it generated once it ends.
PLAYGROUND_RUNS_PER_MINUTE = env.int("PLAYGROUND_RUNS_PER_MINUTE", default=30)
PLAYGROUND_TOKENS_PER_DAY = env.int("PLAYGROUND_TOKENS_PER_DAY", default=1_000_000)
# What one request may be. max_tokens is capped per endpoint (an endpoint's "max_tokens" in
# PLAYGROUND_ENDPOINTS, else this), and a blank max_tokens counts as that cap.
PLAYGROUND_MAX_TOKENS = env.int("PLAYGROUND_MAX_TOKENS", default=8192)
PLAYGROUND_MAX_RUN_TOKENS = env.int("PLAYGROUND_MAX_RUN_TOKENS", default=65_536)  # max_tokens x n
PLAYGROUND_MAX_MESSAGES = env.int("PLAYGROUND_MAX_MESSAGES", default=200)
PLAYGROUND_MAX_MESSAGE_CHARS = env.int("PLAYGROUND_MAX_MESSAGE_CHARS", default=200_000)
PLAYGROUND_MAX_CONVERSATION_CHARS = env.int("PLAYGROUND_MAX_CONVERSATION_CHARS", default=400_000)
PLAYGROUND_MAX_TOOLS_CHARS = env.int("PLAYGROUND_MAX_TOOLS_CHARS", default=100_000)
# How often a streaming run sends a frame at most (deltas in between are coalesced).
PLAYGROUND_RELAY_TICK = env.float("PLAYGROUND_RELAY_TICK", default=0.02)
# A streaming run saves its text and a heartbeat this often; a running row whose heartbeat is
# older than the stale limit was left by a server that went away (see mark_interrupted).
PLAYGROUND_CHECKPOINT_SECONDS = env.float("PLAYGROUND_CHECKPOINT_SECONDS", default=5.0)
PLAYGROUND_STALE_RUN_SECONDS = env.float("PLAYGROUND_STALE_RUN_SECONDS", default=40.0)
# How often every process sweeps the stale rows (a crashed process's runs are interrupted within
# stale + sweep seconds), and whether `python -m playground.launch` starts the sweep and the
# drain on SIGTERM at all.
PLAYGROUND_SWEEP_SECONDS = env.float("PLAYGROUND_SWEEP_SECONDS", default=10.0)
PLAYGROUND_BACKGROUND_TASKS = env.bool("PLAYGROUND_BACKGROUND_TASKS", default=True)
# Prometheus metrics of this process, on a port of its own (0: none), so that each process is
# scraped directly rather than through the proxy; bound to loopback unless told otherwise.
PLAYGROUND_METRICS_PORT = env.int("PLAYGROUND_METRICS_PORT", default=0)
PLAYGROUND_METRICS_ADDRESS = env.str("PLAYGROUND_METRICS_ADDRESS", default="127.0.0.1")
# One process refuses runs past this; the upstream connection pool is sized to match.
PLAYGROUND_MAX_RUNS_PER_PROCESS = env.int("PLAYGROUND_MAX_RUNS_PER_PROCESS", default=200)

UPSTREAM_CONNECT_TIMEOUT = env.float("UPSTREAM_CONNECT_TIMEOUT", default=10.0)
UPSTREAM_READ_TIMEOUT = env.float("UPSTREAM_READ_TIMEOUT", default=60.0)
UPSTREAM_TOTAL_TIMEOUT = env.float("UPSTREAM_TOTAL_TIMEOUT", default=600.0)
# How the upstream is read: "aiohttp" (its C parser, under the same httpx API) or "httpx",
# which alone follows HTTP(S)_PROXY from the environment (httpx reads it only for its own).
UPSTREAM_TRANSPORT = env.str("UPSTREAM_TRANSPORT", default="aiohttp")
if UPSTREAM_TRANSPORT not in ("aiohttp", "httpx"):
    raise ImproperlyConfigured("UPSTREAM_TRANSPORT must be 'aiohttp' or 'httpx'.")
# A run whose every watching socket has closed is stopped after this many seconds (0: at once).
PLAYGROUND_ORPHAN_GRACE = env.float("PLAYGROUND_ORPHAN_GRACE", default=20.0)
# Every frame the run socket sends is at most this many bytes (Daphne and browsers handle
# frames up to 1 MiB; long text is cut into several frames).
PLAYGROUND_FRAME_BYTES = env.int("PLAYGROUND_FRAME_BYTES", default=256 * 1024)
# The page acknowledges frames; a run holds its text back (coalescing it) while a socket has
# more than this many unacknowledged, and lets go of a socket that acknowledges nothing for
# the timeout (seconds): a client that stops reading must not grow the server's memory.
PLAYGROUND_ACK_WINDOW = env.int("PLAYGROUND_ACK_WINDOW", default=8)
PLAYGROUND_ACK_TIMEOUT = env.float("PLAYGROUND_ACK_TIMEOUT", default=30.0)
# The largest message the page may send (the form, as JSON). Daphne is started with a limit
# of 4 MiB (WEBSOCKET_MAX_MESSAGE in the launchers), above this one, so that a message in
# between gets a clear answer rather than a closed socket.
PLAYGROUND_MAX_MESSAGE_BYTES = env.int("PLAYGROUND_MAX_MESSAGE_BYTES", default=1024 * 1024)
# The longest wait for a finished answer's Markdown or schema check, off the event loop.
PLAYGROUND_RENDER_TIMEOUT = env.float("PLAYGROUND_RENDER_TIMEOUT", default=5.0)
# A run's writes (its row, checkpoints, its finish) wait at most this long on a lock or a
# statement (on SQLite: for the write lock), so that a stuck write fails rather than hangs.
PLAYGROUND_DB_WRITE_TIMEOUT = env.float("PLAYGROUND_DB_WRITE_TIMEOUT", default=5.0)
# A run's final write that the database refused is retried this long, its output kept meanwhile.
PLAYGROUND_FINISH_RETRY_SECONDS = env.float("PLAYGROUND_FINISH_RETRY_SECONDS", default=120.0)
# On SIGTERM, the runs end (interrupted, with what arrived) and the sockets close within this
# many seconds: under Docker's 10 s stop timeout.
PLAYGROUND_SHUTDOWN_GRACE = env.float("PLAYGROUND_SHUTDOWN_GRACE", default=8.0)
