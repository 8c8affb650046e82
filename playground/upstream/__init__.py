"""Client for OpenAI-compatible chat-completion APIs (Fireworks first). No Django in here."""

from .body import FIREWORKS_ONLY, build_body, json_schema_of
from .client import UpstreamConfig, close_client, configure, get_client, get_config
from .endpoints import Endpoint, Flavour
from .events import (
    ContentDelta,
    ErrorEvent,
    ErrorKind,
    Event,
    Finish,
    Logprobs,
    Note,
    ReasoningDelta,
    ResponseStarted,
    RoleDelta,
    TokenLogprob,
    ToolCallDelta,
    Usage,
)
from .models import ModelInfo, UpstreamUnavailable, list_models
from .stream import stream_chat
from .text import clean_text

__all__ = [
    "FIREWORKS_ONLY",
    "ContentDelta",
    "Endpoint",
    "ErrorEvent",
    "ErrorKind",
    "Event",
    "Finish",
    "Flavour",
    "Logprobs",
    "ModelInfo",
    "Note",
    "ReasoningDelta",
    "ResponseStarted",
    "RoleDelta",
    "TokenLogprob",
    "ToolCallDelta",
    "UpstreamConfig",
    "UpstreamUnavailable",
    "Usage",
    "build_body",
    "clean_text",
    "close_client",
    "configure",
    "get_client",
    "get_config",
    "json_schema_of",
    "list_models",
    "stream_chat",
]
