"""What a run cost, from the price table in settings (PLAYGROUND_PRICES, per million tokens).

Prices change: a transcript keeps the cost computed when its run ended."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

PER = Decimal(1_000_000)
MICRODOLLAR = Decimal("0.000001")  # the cost is kept to a millionth of a dollar


def run_cost(model: str, usage: dict[str, int] | None) -> Decimal | None:
    """None when the model has no price or the upstream reported no usage: a cost is never
    guessed."""
    price = settings.PLAYGROUND_PRICES.get(model)
    if price is None or not usage:
        return None
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    cost = (prompt * price["input"] + completion * price["output"]) / PER
    return cost.quantize(MICRODOLLAR)
