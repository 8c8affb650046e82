"""What a batch would spend, said before it starts: its cells x max_tokens x n against the
tokens the user has left for 24 hours on each endpoint, and the runs-per-minute limit. A batch
that could not fit today's budget is refused up front, rather than failing halfway. The page
says the same live, as its form is edited (`cases/page.py`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.template.defaultfilters import pluralize
from django.utils import timezone

from playground.runform import RunForm
from playground.transcripts.selectors import tokens_charged_since

from .services import rate_limits


@dataclass(frozen=True, slots=True)
class ColumnCost:
    """A column's part of a batch: each of its cells may generate max_tokens x n."""

    cells: int
    max_tokens: int
    n: int

    @classmethod
    def of(cls, form: RunForm, rows: int) -> ColumnCost:
        return cls(rows, *form.token_terms())

    @property
    def tokens(self) -> int:
        return self.cells * self.max_tokens * self.n

    def __str__(self) -> str:
        return (
            f"{self.cells:,} cell{pluralize(self.cells)} × up to {self.max_tokens:,} tokens"
            f" × n={self.n}"
            f" = up to {self.tokens:,} tokens"
        )


@dataclass(frozen=True, slots=True)
class EndpointShare:
    """A batch's part on one endpoint (the columns that use it)."""

    name: str
    cells: int
    tokens: int  # at most: each cell's max_tokens x n
    tokens_left: int | None  # of the user's daily budget; None: no budget here
    runs_per_minute: int  # 0: no limit

    @property
    def limited(self) -> bool:
        return self.tokens_left is not None or bool(self.runs_per_minute)

    @property
    def too_much(self) -> bool:
        return self.tokens_left is not None and self.tokens > self.tokens_left

    def __str__(self) -> str:
        cells = f"{self.cells:,} cell{pluralize(self.cells)}"
        said = f"{cells} on {self.name}, up to {self.tokens:,} tokens"
        if self.tokens_left is not None:
            said += f" of the {self.tokens_left:,} you have left for 24 hours"
        if self.runs_per_minute:
            minutes = math.ceil(self.cells / self.runs_per_minute)
            said += f"; at {self.runs_per_minute} runs a minute, {minutes} min at least"
        return said


def batch_shares(user: AbstractBaseUser, forms: list[RunForm], rows: int) -> list[EndpointShare]:
    """Each endpoint's part of a batch of `rows` test cases through `forms` (its columns)."""
    shares = []
    for name in dict.fromkeys(form.cleaned_data["endpoint"].name for form in forms):
        columns = [form for form in forms if form.cleaned_data["endpoint"].name == name]
        rates = rate_limits(columns[0].cleaned_data["endpoint"])
        left = None
        if rates is not None and rates.tokens_per_day:
            since = timezone.now() - timedelta(days=1)
            used = tokens_charged_since(user=user, endpoint=name, since=since)
            left = max(0, rates.tokens_per_day - used)
        shares.append(
            EndpointShare(
                name=name,
                cells=rows * len(columns),
                tokens=sum(ColumnCost.of(form, rows).tokens for form in columns),
                tokens_left=left,
                runs_per_minute=rates.runs_per_minute if rates is not None else 0,
            )
        )
    return shares


def budget_problem(shares: list[EndpointShare]) -> str | None:
    """Why the batch would run out of tokens halfway, if it would."""
    for share in shares:
        if share.too_much:
            return (
                f"This batch would stop halfway: {share}. Lower max_tokens or n, use fewer"
                " test cases or columns, or run it later."
            )
    return None
