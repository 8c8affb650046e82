"""Where requests go: an endpoint is a base URL, the env variable holding its key, and a flavour."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum


class Flavour(StrEnum):
    FIREWORKS = "fireworks"
    OPENAI = "openai"


@dataclass(frozen=True)
class Endpoint:
    name: str
    base_url: str
    key_env: str = ""
    flavour: Flavour = Flavour.FIREWORKS
    label: str = ""
    simulated: bool = False

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    def api_key(self) -> str | None:
        """Read at send time, so the key is never held by an object that could be logged."""
        if not self.key_env:
            return None
        return os.environ.get(self.key_env) or None
