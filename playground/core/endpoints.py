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
