"""What the simulated model says: a tiny sampler over a fixed vocabulary.

Words are ranked per position from the prompt; temperature, top_p and top_k reshape the
rank distribution exactly as they would a real model's, so their effect is visible, and a
seed makes the whole reply repeat.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

WORDS = tuple(
    "model token stream answer signal latency prompt context window sample layer vector "
    "weight gradient batch cache queue socket frame server client request response system "
    "message tool function schema value field record table index query result output input "
    "reason method detail pattern example network channel buffer event state process thread "
    "memory storage policy review team project draft version release feature option setting "
    "quick careful simple clear steady bright quiet rapid gentle robust precise modest "
    "always often rarely gladly calmly plainly mostly nearly fairly truly "
    "runs builds sends reads writes keeps moves turns holds finds makes takes shows "
    "the a this every each some any their our its with from into over under through".split()
)

RANK_DECAY = 0.55  # how fast a word's weight falls with its rank


@dataclass(frozen=True)
class Sampling:
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None


def seeded_rng(seed: int | None, stream: str) -> random.Random:
    """The same draws for the same seed and stream; fresh ones without a seed."""
    return random.Random(f"{seed}/{stream}") if seed is not None else random.Random()


class WordSampler:
    """Draws words; the same prompt, sampling and seed give the same words."""

    def __init__(self, prompt: str, sampling: Sampling, stream: int):
        self._offset = zlib.crc32(prompt.encode())
        self.rng = seeded_rng(sampling.seed, str(stream))
        self._cumulative = _cumulative_weights(sampling)
        self._position = 0

    def word(self) -> str:
        self._position += 1
        total = self._cumulative[-1]
        rank = bisect.bisect_left(self._cumulative, self.rng.random() * total)
        rank = min(rank, len(self._cumulative) - 1)
        return WORDS[(self._offset + self._position * 7 + rank) % len(WORDS)]


def _cumulative_weights(sampling: Sampling) -> list[float]:
    temperature = 1.0 if sampling.temperature is None else sampling.temperature
    if temperature <= 0:
        return [1.0]  # greedy: always the top-ranked word
    weights = [RANK_DECAY ** (rank / temperature) for rank in range(len(WORDS))]
    if sampling.top_k:
        weights = weights[: sampling.top_k]
    if sampling.top_p is not None and sampling.top_p < 1:
        total, kept, running = sum(weights), [], 0.0
        for weight in weights:
            kept.append(weight)
            running += weight
            if running >= sampling.top_p * total:
                break
        weights = kept
    return list(itertools.accumulate(weights))


def prose_tokens(sampler: WordSampler, count: int, opening: str = "") -> Iterator[str]:
    """`count` tokens of sentences (a leading space per word, as BPE tokens look)."""
    produced = 0
    for token in opening.split(" "):
        if produced >= count:
            return
        if token:
            yield (" " if produced else "") + token
            produced += 1
    sentence_left, sentences = 0, 0
    while produced < count:
        if sentence_left == 0:
            sentence_left = sampler.rng.randint(5, 12)
            word = sampler.word().capitalize()
            prefix = "\n\n" if sentences and sentences % 3 == 0 else " "
            sentences += 1
        else:
            word, prefix = sampler.word(), " "
        sentence_left -= 1
        if sentence_left == 0:
            word += "."
        yield (prefix if produced else "") + word
        produced += 1


# The most values one example answer holds: past it an array gets one item, whatever its
# minItems says, so that a schema of nested arrays cannot ask for an answer without end.
MAX_EXAMPLE_VALUES = 2_000


def example_value(schema: Any, sampler: WordSampler) -> Any:
    """A value that satisfies a (simple) JSON schema: required keys, types, enums."""
    return _Example(sampler).value(schema, 0)


class _Example:
    def __init__(self, sampler: WordSampler):
        self.sampler = sampler
        self.left = MAX_EXAMPLE_VALUES

    def value(self, schema: Any, depth: int) -> Any:
        self.left -= 1
        sampler = self.sampler
        if not isinstance(schema, dict) or depth > 6:
            return sampler.word()
        if schema.get("enum"):
            return schema["enum"][0]
        if "const" in schema:
            return schema["const"]
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object" or (kind is None and "properties" in schema):
            properties = schema.get("properties") or {}
            keys = list(dict.fromkeys([*schema.get("required", ()), *properties]))
            return {key: self.value(properties.get(key, {}), depth + 1) for key in keys}
        if kind == "array":
            count = min(max(1, _number(schema.get("minItems"), 1)), max(1, self.left))
            return [self.value(schema.get("items", {}), depth + 1) for _ in range(int(count))]
        if kind == "integer":
            return max(int(_number(schema.get("minimum"), 0)), sampler.rng.randint(1, 100))
        if kind == "number":
            return round(max(_number(schema.get("minimum"), 0), sampler.rng.uniform(0, 100)), 2)
        if kind == "boolean":
            return sampler.rng.random() < 0.5
        if kind == "null":
            return None
        return " ".join(sampler.word() for _ in range(2))


def _number(value: Any, default: float) -> float:
    """A schema's bound as a number; a schema that says nonsense gets the default."""
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e15:
        return value
    return default


def json_tokens(value: Any) -> Iterator[str]:
    """A JSON document cut into token-sized pieces."""
    text = json.dumps(value)
    for start in range(0, len(text), 4):
        yield text[start : start + 4]


def argument_fragments(arguments: dict[str, Any]) -> Iterator[str]:
    text = json.dumps(arguments)
    for start in range(0, len(text), 8):
        yield text[start : start + 8]


# What a model "nearly said" instead, for top_logprobs.
ALTERNATIVES = (
    " the", " a", ",", ".", " and", " of", " to", " is", " in", " it", " that",
    " for", " on", " with", " as", " was", " at", " by", " be", " this", " or",
)  # fmt: skip


def token_logprob(token: str, rng: random.Random, top: int) -> dict[str, Any]:
    """A plausible log probability for `token`, in the API's shape: mostly near 0 (the model
    was sure), sometimes well below, and `top` most likely tokens in order, itself first."""
    logprob = -rng.expovariate(3.0)
    others = rng.sample([word for word in ALTERNATIVES if word != token], max(top - 1, 0))
    below = [(word, logprob - rng.expovariate(0.6) - 0.05) for word in others]
    ranked = [(token, logprob), *sorted(below, key=lambda pair: -pair[1])][:top]
    return {
        **_logprob_entry(token, logprob),
        "top_logprobs": [_logprob_entry(word, value) for word, value in ranked],
    }


def _logprob_entry(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": round(logprob, 6), "bytes": list(token.encode())}
