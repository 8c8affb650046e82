"""Starting a run: what it needs to know, worked out once, then the transcript row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser

from playground.presets.permissions import find_preset_for_user
from playground.runform import BaseMessageFormSet, RunForm, bind_columns, column_label, form_state
from playground.runform.values import VARIABLES_PREFIX
from playground.transcripts.models import Transcript
from playground.transcripts.selectors import find_transcript_for_user
from playground.transcripts.services import (
    RateLimitReached,
    RateLimits,
    RunCapReached,
    SignedOut,
    transcript_group_start,
    transcript_start,
)
from playground.upstream import Endpoint, build_body, json_schema_of


class RunRefused(Exception):
    """A valid request that may not run now; the message says why, for the page. `soon`: it
    may run once a run of the user's ends, or within `retry_in` seconds (a batch's cell then
    waits and tries again, where a run of the page's is refused)."""

    def __init__(self, message: str, *, soon: bool = False, retry_in: float | None = None):
        super().__init__(message)
        self.soon = soon or retry_in is not None
        self.retry_in = retry_in


class ProcessFull(Exception):
    """This process takes no more runs: it runs as many as it may, or it is shutting down."""


class BadRow(Exception):
    """A batch's test case whose values the form refuses; the message says which and why."""


@dataclass(frozen=True)
class RunSpec:
    """Everything a run needs, from validated forms only; computed once, before it starts."""

    endpoint: Endpoint
    body: dict[str, Any]
    n: int
    # What answers are checked against: {} in plain JSON mode, None outside JSON mode.
    schema: dict[str, Any] | None
    form_state: dict[str, Any]
    most_tokens: int  # max_tokens x n: what the run reserves of its user's daily tokens
    preset_slug: str = ""
    continued_from: str = ""
    forked_from: str = ""  # the run whose conversation this one edits or regenerates
    fork_turn: int | None = None  # from which of its messages (counted from 1)
    column: int | None = None  # its column in a compare (from 0); None: a run of its own
    label: str = ""  # the column's name on the page
    slot: int | None = None  # a blind compare's place it is shown in (0 = A), shuffled
    slots: int = 0  # how many answers a blind compare shows (0: not blind)

    @property
    def place(self) -> Place:
        if self.slot is not None:
            return Place(prefix=f"b{self.slot}-", blind_slots=self.slots)
        return Place(prefix=column_prefix(self.column), column=self.column)

    @property
    def prefix(self) -> str:
        return self.place.prefix


@dataclass(frozen=True)
class Place:
    """Where a run's boxes are on the page. A compare's columns each have their own ids
    (`k1-c0-text`); a blind compare's answers are in shuffled, unnamed places (`b2-c0-text`),
    so that no frame tells which column, model or endpoint an answer comes from; a run of its
    own keeps the plain ids (`c0-text`)."""

    prefix: str = ""
    column: int | None = None  # the column whose own Stop it drives (never when blind)
    blind_slots: int = 0  # a blind compare's number of answers; 0: not blind

    @property
    def compare(self) -> bool:
        return bool(self.prefix)

    @property
    def blind(self) -> bool:
        return self.blind_slots > 0


def column_prefix(column: int | None) -> str:
    return "" if column is None else f"k{column}-"


def build_request(form: RunForm, formset: BaseMessageFormSet) -> tuple[Endpoint, dict[str, Any]]:
    """The endpoint and the exact body, from validated forms only."""
    endpoint: Endpoint = form.cleaned_data["endpoint"]
    params = form.parameters(formset.messages())
    return endpoint, build_body(endpoint.flavour, params, form.cleaned_data["extra"])


def run_spec(
    form: RunForm,
    formset: BaseMessageFormSet,
    *,
    preset_slug: str = "",
    continued_from: str = "",
    forked_from: str = "",
    fork_turn: int | None = None,
    column: int | None = None,
    label: str = "",
    slot: int | None = None,
    slots: int = 0,
) -> RunSpec:
    endpoint, body = build_request(form, formset)
    return RunSpec(
        endpoint=endpoint,
        body=body,
        n=body.get("n") or 1,
        schema=json_schema_of(body),
        form_state=form_state(form, formset),
        most_tokens=form.most_tokens(),
        preset_slug=preset_slug,
        continued_from=continued_from,
        forked_from=forked_from,
        fork_turn=fork_turn,
        column=column,
        label=label,
        slot=slot,
        slots=slots,
    )


def row_data(data: dict[str, Any], columns: list[str], values: list[str]) -> dict[str, Any]:
    """The run frame's fields with a test case's values in the variables' boxes."""
    return {**data, **{f"{VARIABLES_PREFIX}-{n}": v for n, v in zip(columns, values, strict=True)}}


def batch_row_specs(
    data: dict[str, Any], columns: list[str], rows: list[list[str]], row: int
) -> list[RunSpec]:
    """One test case's runs, a run per column, validated by the same forms as the page's."""
    forms, formset = bind_columns(row_data(data, columns, rows[row]))
    valid = formset.is_valid()
    for form in forms:
        valid &= form.is_valid()
    if not valid:
        raise BadRow(f"Test case {row + 1}: {_first_error(forms, formset)}")
    preset = str(data.get("preset") or "")
    return [
        run_spec(form, formset, preset_slug=preset, label=column_label(data, column))
        for column, form in enumerate(forms)
    ]


def _first_error(forms: list[RunForm], formset: BaseMessageFormSet) -> str:
    every: list[Any] = [formset.variables.errors, *(f.errors for f in forms), *formset.errors]
    for errors in every:
        for name, messages in errors.items():
            return messages[0] if name == "__all__" else f"{name}: {messages[0]}"
    non_form = formset.non_form_errors()
    return str(non_form[0]) if non_form else "the form does not validate."


MAX_TURN = 10_000


def fork_turn(value: object) -> int | None:
    """The message a fork starts from, as the page's hidden field says it (1 or more); any
    other value links nothing, as a tampered id does."""
    text = str(value or "")
    if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_TURN:
        return int(text)
    return None


def run_open(
    *, spec: RunSpec, user: AbstractBaseUser, session_key: str, run_id: uuid.UUID
) -> Transcript:
    """The run's transcript (status running), unless the user is signed out since the socket
    opened (logged out, deactivated: the session is read again here, in the same transaction),
    already has their limit going, or has started as much on the endpoint as they may for now."""
    try:
        return transcript_start(
            user=user,
            session_key=session_key or "",  # None would skip the check
            cap=settings.PLAYGROUND_MAX_CONCURRENT_RUNS,
            **_start(spec, user, run_id),
        )
    except SignedOut as refused:
        raise RunRefused(str(refused)) from None
    except RunCapReached as refused:
        raise RunRefused(str(refused), soon=True) from None
    except RateLimitReached as refused:
        raise RunRefused(str(refused), retry_in=refused.retry_in) from None


def run_open_group(
    *,
    specs: list[RunSpec],
    user: AbstractBaseUser,
    session_key: str,
    run_ids: list[uuid.UUID],
    group: uuid.UUID,
    group_key: str,
) -> dict[uuid.UUID, Transcript]:
    """The transcripts of a compare's columns, by run id, taken together (one transaction):
    each column counts as a run against the user's limits, and a compare that does not fit
    is refused whole."""
    starts = [
        {**_start(spec, user, run_id, group=group), "group_key": group_key}
        for spec, run_id in zip(specs, run_ids, strict=True)
    ]
    try:
        rows = transcript_group_start(
            user=user,
            starts=starts,
            cap=settings.PLAYGROUND_MAX_CONCURRENT_RUNS,
            session_key=session_key or "",  # None would skip the check
        )
    except (SignedOut, RunCapReached, RateLimitReached) as refused:
        raise RunRefused(str(refused)) from None
    return dict(zip(run_ids, rows, strict=True))


def _start(
    spec: RunSpec, user: AbstractBaseUser, run_id: uuid.UUID, group: uuid.UUID | None = None
) -> dict[str, Any]:
    """transcript_start's arguments for one run (the user and the cap apart)."""
    # A tampered or hidden id: the run goes on, unlinked.
    slug, earlier_id, source_id = spec.preset_slug, spec.continued_from, spec.forked_from
    return {
        "uuid": run_id,
        "preset": find_preset_for_user(user, slug) if slug else None,
        "continued_from": find_transcript_for_user(user, earlier_id) if earlier_id else None,
        "forked_from": find_transcript_for_user(user, source_id) if source_id else None,
        "fork_turn": spec.fork_turn,
        "endpoint": spec.endpoint.name,
        "model": spec.body["model"],
        "request_body": spec.body,
        "form_state": spec.form_state,
        "rates": rate_limits(spec.endpoint),
        "reserve_tokens": spec.most_tokens,
        "group": group,
        "column": spec.column,
        "column_label": spec.label,
        "blind_slot": spec.slot,
    }


def rate_limits(endpoint: Endpoint) -> RateLimits | None:
    """The limits that protect a paid key; a simulated endpoint costs nothing."""
    if endpoint.simulated:
        return None
    return RateLimits(
        runs_per_minute=settings.PLAYGROUND_RUNS_PER_MINUTE,
        tokens_per_day=settings.PLAYGROUND_TOKENS_PER_DAY,
    )
