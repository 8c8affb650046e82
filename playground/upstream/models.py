"""The models an endpoint offers (GET {base}/models), cached for a short while."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from .client import get_config, new_client
from .endpoints import Endpoint
from .errors import http_error, transport_error
from .events import ErrorEvent, ErrorKind
from .text import Redactor, finished_error, scrubbed


@dataclass(frozen=True)
class ModelInfo:
    id: str
    owned_by: str = ""
    simulated: bool = False


class UpstreamUnavailable(Exception):
    """The endpoint could not be asked; `error` says why in the same terms as a run's error."""

    def __init__(self, error: ErrorEvent):
        super().__init__(f"{error.title}: {error.message}")
        self.error = error


_cache: dict[tuple[str, str], tuple[float, list[ModelInfo]]] = {}


async def list_models(endpoint: Endpoint) -> list[ModelInfo]:
    cache_key = (endpoint.name, endpoint.base_url)
    cached = _cache.get(cache_key)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    models = await _fetch(endpoint)
    _cache[cache_key] = (time.monotonic() + get_config().models_cache_seconds, models)
    return models


def clear_cache() -> None:
    _cache.clear()


async def _fetch(endpoint: Endpoint) -> list[ModelInfo]:
    key = endpoint.api_key()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    redactor = Redactor(key) if key else None
    try:
        async with new_client() as client:
            response = await client.get(endpoint.url("models"), headers=headers)
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(
            finished_error(transport_error(exc, endpoint), redactor)
        ) from None
    if not response.is_success:
        raise UpstreamUnavailable(finished_error(http_error(response), redactor))
    try:
        entries = response.json()["data"]
        models = [
            ModelInfo(
                id=scrubbed(str(entry["id"]), redactor),
                owned_by=scrubbed(str(entry.get("owned_by") or ""), redactor),
                simulated=bool(entry.get("simulated")),
            )
            for entry in entries
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UpstreamUnavailable(
            ErrorEvent(ErrorKind.PROTOCOL, "The model list is not in the expected shape.")
        ) from None
    return sorted(models, key=lambda model: model.id)
