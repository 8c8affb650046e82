"""The endpoints this deployment offers, from settings only: a request never names a URL."""

from django.conf import settings

from playground.upstream import Endpoint, Flavour

REQUIRED_KEYS = ("name", "base_url")


def endpoint_from_setting(entry: dict) -> Endpoint:
    return Endpoint(
        name=entry["name"],
        base_url=entry["base_url"],
        key_env=entry.get("key_env", ""),
        flavour=Flavour(entry.get("flavour", Flavour.FIREWORKS)),
        label=entry.get("label") or entry["name"],
        simulated=bool(entry.get("simulated", False)),
    )


def all_endpoints() -> list[Endpoint]:
    return [endpoint_from_setting(entry) for entry in settings.PLAYGROUND_ENDPOINTS]


def get_endpoint(name: str) -> Endpoint | None:
    return next((e for e in all_endpoints() if e.name == name), None)


def max_tokens_cap(endpoint: Endpoint) -> int:
    """The most max_tokens a run may ask of this endpoint (its "max_tokens" in the settings,
    else PLAYGROUND_MAX_TOKENS); a run that leaves max_tokens blank is counted at this."""
    entry = next((e for e in settings.PLAYGROUND_ENDPOINTS if e["name"] == endpoint.name), {})
    return int(entry.get("max_tokens") or settings.PLAYGROUND_MAX_TOKENS)
