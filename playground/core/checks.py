"""System checks: a misconfigured endpoint list fails loudly at start-up, not at first run."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, register

from playground.upstream import Flavour

from .endpoints import REQUIRED_KEYS


@register()
def check_run_timings(app_configs, **kwargs):
    """A live run beats every CHECKPOINT seconds; STALE must leave room for a few misses,
    or cleanup would mark live runs interrupted."""
    checkpoint = settings.PLAYGROUND_CHECKPOINT_SECONDS
    if 3 * checkpoint > settings.PLAYGROUND_STALE_RUN_SECONDS:
        return [
            Error(
                f"PLAYGROUND_STALE_RUN_SECONDS must be at least 3 x"
                f" PLAYGROUND_CHECKPOINT_SECONDS ({3 * checkpoint:g}).",
                id="core.E007",
            )
        ]
    return []


@register()
def check_endpoints(app_configs, **kwargs):
    errors = []
    names = set()
    for position, entry in enumerate(settings.PLAYGROUND_ENDPOINTS):
        where = f"PLAYGROUND_ENDPOINTS[{position}]"
        if not isinstance(entry, dict):
            errors.append(Error(f"{where} must be an object.", id="core.E001"))
            continue
        missing = [key for key in REQUIRED_KEYS if not entry.get(key)]
        if missing:
            errors.append(Error(f"{where} lacks {', '.join(missing)}.", id="core.E002"))
            continue
        if urlsplit(entry["base_url"]).scheme not in ("http", "https"):
            errors.append(Error(f"{where}.base_url must be http(s).", id="core.E003"))
        if entry.get("flavour", "fireworks") not in set(Flavour):
            errors.append(
                Error(f"{where}.flavour must be 'fireworks' or 'openai'.", id="core.E004")
            )
        cap = entry.get("max_tokens")
        if cap is not None and (type(cap) is not int or cap < 1):
            errors.append(
                Error(f"{where}.max_tokens must be a whole number of 1 or more.", id="core.E008")
            )
        if entry["name"] in names:
            errors.append(Error(f"{where}: the name {entry['name']!r} is taken.", id="core.E005"))
        names.add(entry["name"])
    if not names:
        errors.append(Error("No upstream endpoint is configured.", id="core.E006"))
    return errors
