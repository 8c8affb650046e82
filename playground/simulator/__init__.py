"""An offline OpenAI/Fireworks-compatible chat-completions server. No Django in here."""

from .app import RequestRecord, SimulatedDisconnect, Simulator
from .request import MODELS

__all__ = ["MODELS", "RequestRecord", "SimulatedDisconnect", "Simulator"]
