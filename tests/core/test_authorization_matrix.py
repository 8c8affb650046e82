"""The authorization matrix: who may do what, through every way into the app.

Rows: every HTTP route (walked from the URL resolver), every URL of each registered
ModelAdmin and each of its actions (walked from `admin.site`), and the ASGI routes outside
the URLconf (the run socket, the mounted simulator). Columns: the kinds of caller. A route
that takes an object is run once per visibility of it. The guards fail when a route, an admin
or an action has no row, so a new one cannot be forgotten.

What a caller may do with another's object is one rule per model (RULE); each row says what
its route answers when the rule allows and when it refuses. A private object of someone else
is a 404, never a 403. A refused POST must change nothing, so each one is checked for that.
Every request is rolled back, so one set of rows and one browser per caller serve a pass.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from types import SimpleNamespace
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, Group, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from playground.cases.models import Batch, BatchCell, DataSet, DataSetVersion
from playground.cases.services import batch_create, data_set_save
from playground.cases.table import Table
from playground.presets.models import Preset
from playground.transcripts.models import Transcript

from ..factories import make_preset, make_transcript
from ..helpers import FINAL, HELLO, Socket, ack_for, body_of, form_data, session_cookie

P, T, D = Preset.Visibility, Transcript.Visibility, DataSet.Visibility
PRESET, TRANSCRIPT, DATA_SET, BATCH = "preset", "transcript", "data_set", "batch"
NOTHING: frozenset = frozenset()

# --- The rule: for another's row, the visibilities each caller may open, see listed, change

RULE = {
    PRESET: {
        "anonymous": ({P.LINK}, NOTHING, NOTHING),
        "inactive": ({P.LINK}, NOTHING, NOTHING),  # Django signs a deactivated account out
        "owner": (set(P), set(P), set(P)),  # their own
        "member": ({P.TEAM, P.LINK}, {P.TEAM}, NOTHING),
        "staff": (set(P), {P.TEAM}, set(P)),
        "clerk": (set(P), {P.TEAM}, set(P)),  # staff without the admin's model permissions
    },
    TRANSCRIPT: {
        "anonymous": (NOTHING, NOTHING, NOTHING),
        "inactive": (NOTHING, NOTHING, NOTHING),
        "owner": (set(T), set(T), set(T)),
        "member": ({T.TEAM}, {T.TEAM}, NOTHING),
        "staff": (set(T), {T.TEAM}, set(T)),
        "clerk": (set(T), {T.TEAM}, set(T)),
    },
    DATA_SET: {
        "anonymous": (NOTHING, NOTHING, NOTHING),
        "inactive": (NOTHING, NOTHING, NOTHING),
        "owner": (set(D), set(D), set(D)),
        "member": ({D.TEAM}, {D.TEAM}, NOTHING),
        "staff": (set(D), {D.TEAM}, set(D)),
        "clerk": (set(D), {D.TEAM}, set(D)),
    },
}
RULE[BATCH] = RULE[DATA_SET]  # a batch has a data set's visibilities, and its rule
MODELS = {PRESET: Preset, TRANSCRIPT: Transcript, DATA_SET: DataSet, BATCH: Batch}
PEOPLE = list(RULE[PRESET])
SIGNED_OUT = {"anonymous", "inactive"}
SIGNED_IN = [who for who in PEOPLE if who not in SIGNED_OUT]
# One more column: a staff member's browser made to POST by another site (no CSRF token).
CALLERS = [*PEOPLE, "forger"]


class May(NamedTuple):
    """What the rule lets a caller do with a pass's object (anything, in a pass without one)."""

    open: bool = True
    listed: bool = True
    change: bool = True


def may(kind: str, who: str, visibility: str) -> May:
    return May(*(visibility in allowed for allowed in RULE[kind][who]))


# --- What a route answers: a status; "login" or "admin-login" for a redirect to a sign-in
# page; "→ <url name>" for another redirect; None where the cell does not apply.

Outcome = int | str | None
Expect = Callable[[str, May], Outcome]
REFUSED = {403, 404, 405, "login", "admin-login", "→ admin:index"}


def anyone(ok: Outcome = 200) -> Expect:
    return lambda who, may: ok


def members(ok: Outcome = 200) -> Expect:
    return lambda who, may: "login" if who in SIGNED_OUT else ok


def if_visible(ok: Outcome = 200) -> Expect:
    """For members the rule lets open the object; to the rest of them it does not exist."""
    return lambda who, may: "login" if who in SIGNED_OUT else ok if may.open else 404


def if_changeable(ok: Outcome = 200) -> Expect:
    return lambda who, may: "login" if who in SIGNED_OUT else ok if may.change else 404


def listing(own_only: bool = False) -> Expect:
    """A members' list shows the object as the rule says (My runs: one's own runs only)."""

    def expect(who: str, may: May) -> Outcome:
        if who in SIGNED_OUT:
            return "login"
        return "200 listed" if may.listed and (who == "owner" or not own_only) else "200 unlisted"

    return expect


def opened_if_visible(who: str, may: May) -> Outcome:
    """A table action answers 200 always (htmx swaps no 4xx); it says what it did."""
    if who in SIGNED_OUT:
        return "login"
    return "200 listed" if may.open else "200 unlisted"


def share_link(who: str, may: May) -> Outcome:
    """Visitors get a link preset's read-only page; members are sent on to the playground."""
    if who in SIGNED_OUT:
        return 200 if may.open else "login"
    return "→ playground" if may.open else 404


def staff_only(ok: Outcome = 200, clerk: Outcome = 403, others: Outcome = "admin-login") -> Expect:
    """The admin: `ok` for staff, `clerk` for staff without model permissions."""
    return lambda who, may: ok if who == "staff" else clerk if who == "clerk" else others


def admin_listing(who: str, may: May) -> Outcome:
    """A changelist shows staff what the rule lets them open."""
    if who == "staff":
        return "200 listed" if may.open else "200 unlisted"
    return staff_only()(who, may)


@dataclass(frozen=True)
class Row:
    """A way in: the method, the URL (formatted with the pass's objects as `o`), what it
    answers, the form a POST sends; the object it takes or lists (a pass per visibility),
    and, for a list, the text that shows that object on it."""

    method: str
    url: str
    expect: Expect
    data: dict[str, str] = field(default_factory=dict)
    kind: str = ""
    lists: str = ""
    variant: str = ""  # tells rows of one route and method apart (a query, an admin action)


def get(url: str, expect: Expect, kind: str = "", **more: Any) -> Row:
    return Row("GET", url, expect, kind=kind, **more)


def post(url: str, expect: Expect, data: dict | None = None, kind: str = "", **more) -> Row:
    return Row("POST", url, expect, data or {}, kind=kind, **more)


WRONG_PASSWORD = {"username": "{o.me}", "password": "wrong"}  # one failure per account and page
NEW_PRESET = {"preset-name": "New", "preset-visibility": "team"}
# A POST's values are formatted with the pass's objects: all text, no braces.
PAGE = {**{key: str(value) for key, value in form_data().items()}, "cases-table": ""}
TABLE_ACTIONS = "variables show add remove paste import save run-all estimate".split()
BATCH_URL = "/cases/batches/{o.batch_uuid}/"
RENAME = {"preset-name": "Renamed", "preset-visibility": "team"}

# fmt: off
ROWS = [
    # The playground and what it loads.
    get("/", members()),
    get("/?preset={o.slug}", if_visible(), PRESET, variant="a preset"),
    get("/?transcript={o.uuid}", if_visible(), TRANSCRIPT, variant="a transcript"),
    get("/?group={o.compare}", if_visible(), TRANSCRIPT, variant="a compare"),
    get("/models/?endpoint=simulator", members()),
    get("/endpoints/", members()),
    # Presets.
    get("/presets/", listing(), PRESET, lists="/?preset={o.slug}"),
    post("/presets/new/", members(), NEW_PRESET),
    get("/presets/new/", members(405)),
    get("/p/{o.slug}/", share_link, PRESET),
    post("/presets/{o.slug}/save/", if_changeable(), {"model": "changed"}, PRESET),
    get("/presets/{o.slug}/save/", members(405), PRESET),
    post("/presets/{o.slug}/fork/", if_visible("→ playground"), kind=PRESET),
    get("/presets/{o.slug}/fork/", members(405), PRESET),
    get("/presets/{o.slug}/edit/", if_changeable(), PRESET),
    post("/presets/{o.slug}/edit/", if_changeable("→ presets:edit"), RENAME, PRESET),
    get("/presets/{o.slug}/delete/", if_changeable(), PRESET),
    post("/presets/{o.slug}/delete/", if_changeable("→ presets:list"), kind=PRESET),
    # Variables and test cases.
    get("/", listing(), DATA_SET, lists="{o.data_set_slug}", variant="data sets to open"),
    *(post(f"/cases/{action}/", members(), PAGE) for action in TABLE_ACTIONS),
    *(get(f"/cases/{action}/", members(405)) for action in [*TABLE_ACTIONS, "open"]),
    post("/cases/open/", opened_if_visible, {**PAGE, "data_set": "{o.data_set_slug}"}, DATA_SET,
         lists="Opened {o.data_set_name}"),
    # Batches: a grade or a check by a member who may see but not change the batch is
    # refused in the answer (a 200: htmx swaps no 4xx).
    get("/cases/batches/", listing(), BATCH, lists="{o.batch_uuid}"),
    get(BATCH_URL, if_visible(), BATCH),
    get(BATCH_URL + "export.csv", if_visible(), BATCH),
    get(BATCH_URL + "export.jsonl", if_visible(), BATCH),
    post(BATCH_URL + "cells/0/0/grade/", if_visible(), {"rating": "1"}, BATCH),
    get(BATCH_URL + "cells/0/0/grade/", members(405), BATCH),
    post(BATCH_URL + "checks/0/add/", if_visible(), {"check-0-kind": "schema"}, BATCH),
    get(BATCH_URL + "checks/0/add/", members(405), BATCH),
    post(BATCH_URL + "checks/0/remove/", if_visible(), {"index": "0"}, BATCH),
    get(BATCH_URL + "checks/0/remove/", members(405), BATCH),
    # Transcripts.
    get("/transcripts/", listing(own_only=True), TRANSCRIPT, lists="{o.uuid}"),
    get("/transcripts/{o.uuid}/", if_visible(), TRANSCRIPT),
    get("/transcripts/compare/{o.compare}/", if_visible(), TRANSCRIPT),
    # Not a blind compare: the vote is refused on the page (blind ones: test_blind_pages.py).
    post("/transcripts/compare/{o.compare}/vote/", if_visible(), {"pick": "0"}, TRANSCRIPT),
    get("/transcripts/compare/{o.compare}/vote/", members(405), TRANSCRIPT),
    get("/transcripts/votes/", staff_only(200, 200)),
    post("/transcripts/{o.uuid}/visibility/", if_changeable("→ transcripts:detail"),
         {"visibility": "{o.other_visibility}"}, TRANSCRIPT),
    get("/transcripts/{o.uuid}/visibility/", members(405), TRANSCRIPT),
    # Accounts.
    get("/accounts/login/", anyone()),
    post("/accounts/login/", anyone(), WRONG_PASSWORD),
    post("/accounts/logout/", anyone("login")),
    get("/accounts/logout/", anyone(405)),
    get("/accounts/password/", members()),
    post("/accounts/password/", members(), {"old_password": "wrong"}),
    get("/accounts/password/done/", members()),
    post("/accounts/theme/", members("→ playground"), {"theme": "dark"}),
    get("/accounts/theme/", members(405)),
    # What a proxy asks.
    get("/healthz", anyone()),
    get("/readyz", anyone()),
    # The admin's own pages.
    get("/admin/", staff_only(clerk=200)),
    get("/admin/login/", staff_only("→ admin:index", "→ admin:index", 200)),
    post("/admin/login/", anyone(), WRONG_PASSWORD),
    post("/admin/logout/", staff_only("login", "login", "→ admin:index")),
    get("/admin/logout/", staff_only(405, 405, "→ admin:index")),
    get("/admin/password_change/", staff_only(clerk=200)),
    post("/admin/password_change/", staff_only(clerk=200), {"old_password": "wrong"}),
    get("/admin/password_change/done/", staff_only(clerk=200)),
    get("/admin/jsi18n/", staff_only(clerk=200)),
    # Owners by name: users, whom only staff allowed to view users may look up.
    get("/admin/autocomplete/?app_label=presets&model_name=preset&field_name=owner",
        staff_only()),
    get("/admin/nothing-here/", staff_only(404, 404)),
    get("/admin/r/{o.preset_type}/{o.preset_pk}/",
        staff_only("→ preset-link", "→ preset-link"), PRESET),
    get("/admin/r/{o.transcript_type}/{o.transcript_pk}/",
        staff_only("→ transcripts:detail", "→ transcripts:detail"), TRANSCRIPT),
]
# fmt: on


# --- The admin: every URL of each registered ModelAdmin, and each action --------------------


@dataclass(frozen=True)
class AdminSpec:
    """What the matrix must be told of a registered ModelAdmin: the object of its passes, the
    name in `o` of that object's pk, what its add page answers staff, what each of its
    actions answers staff (through the changelist's POST), and rows of its own URLs."""

    kind: str
    pk: str
    actions: dict[str, Outcome]
    add: Outcome = 200
    extra: tuple[Row, ...] = ()
    # Nothing on the change page is editable: an empty POST saves it as it is.
    read_only: bool = False


DELETE_ASKS = {"delete_selected": 200}  # the confirmation page; confirmed in a row of its own
TRANSCRIPT_ACTIONS = {
    **DELETE_ASKS,
    "approve": "→ admin:transcripts_transcript_changelist",
    "flag": "→ admin:transcripts_transcript_changelist",
    "export_jsonl": 200,
    "export_csv": 200,
}
USER_PASSWORD = "/admin/auth/user/{o.user_pk}/password/"
ADMINS = {
    "presets.preset": AdminSpec(PRESET, "preset_pk", DELETE_ASKS),
    "cases.dataset": AdminSpec(DATA_SET, "data_set_pk", DELETE_ASKS),
    # Batches come from Run all, never from the add page.
    "cases.batch": AdminSpec(BATCH, "batch_pk", DELETE_ASKS, 403),
    # Transcripts come from runs, never from the add page.
    "transcripts.transcript": AdminSpec(TRANSCRIPT, "transcript_pk", TRANSCRIPT_ACTIONS, 403),
    "auth.user": AdminSpec(
        "",
        "user_pk",
        DELETE_ASKS,
        extra=(get(USER_PASSWORD, staff_only()), post(USER_PASSWORD, staff_only())),
    ),
    "auth.group": AdminSpec("", "group_pk", DELETE_ASKS),
    # django-axes' records of sign-ins: staff read them, and unlock a user by deleting an
    # attempt; they are written by sign-ins only, never on the add page.
    "axes.accessattempt": AdminSpec("", "attempt_pk", DELETE_ASKS, 403, read_only=True),
    "axes.accesslog": AdminSpec("", "log_pk", DELETE_ASKS, 403, read_only=True),
    "axes.accessfailurelog": AdminSpec("", "failure_pk", DELETE_ASKS, 403, read_only=True),
}


def registered_admins() -> Iterator[tuple[str, admin.ModelAdmin]]:
    for model, model_admin in admin.site._registry.items():
        yield model._meta.label_lower, model_admin


def action_names(model_admin: admin.ModelAdmin) -> set[str]:
    """Every action the admin offers a superuser."""
    request = RequestFactory().get("/admin/")
    request.user = User(is_active=True, is_staff=True, is_superuser=True)
    return set(model_admin.get_actions(request))


def admin_rows(label: str, spec: AdminSpec) -> list[Row]:
    app, model = label.split(".")
    name, kind = f"admin:{app}_{model}", spec.kind
    base = f"/admin/{app}/{model}/"
    one = f"{base}{{o.{spec.pk}}}/"
    selected = {"_selected_action": f"{{o.{spec.pk}}}", "index": "0"}
    changelist = f"→ {name}_changelist"
    # fmt: off
    return [
        get(base, admin_listing, kind, lists=f"{one}change/") if kind else get(base, staff_only()),
        get(f"{base}add/", staff_only(spec.add)),
        post(f"{base}add/", staff_only(spec.add)),  # empty: the form again, with errors
        get(f"{one}change/", staff_only(), kind),
        # Empty: the form again with its errors, or saved as is when nothing is editable.
        post(f"{one}change/", staff_only(changelist if spec.read_only else 200), kind=kind),
        get(f"{one}history/", staff_only(), kind),
        get(f"{one}delete/", staff_only(), kind),
        post(f"{one}delete/", staff_only(changelist), {"post": "yes"}, kind),
        # The bare object URL redirects to the change page before checking any permission.
        get(one, staff_only(f"→ {name}_change", f"→ {name}_change"), kind),
        post(base, staff_only(changelist), {"action": "delete_selected", "post": "yes",
             **selected}, kind, variant="delete_selected, confirmed"),
        *(post(base, staff_only(ok), {"action": action, **selected}, kind, variant=action)
          for action, ok in spec.actions.items()),
        *spec.extra,
    ]
    # fmt: on


def all_rows() -> list[Row]:
    apps = sorted({model._meta.app_label for model in admin.site._registry})
    rows = [*ROWS, *(get(f"/admin/{app}/", staff_only(clerk=404)) for app in apps)]
    for label, _ in registered_admins():
        if label in ADMINS:  # an admin without a spec has no rows: the guards say so
            rows += admin_rows(label, ADMINS[label])
    return rows


# --- The guards ------------------------------------------------------------------------------


def routes(patterns: list | None = None, prefix: str = "") -> Iterator[str]:
    """Every route of the URLconf, spelt as the resolver's matches spell it (no "^")."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern).removeprefix("^")
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, route)
        else:
            assert isinstance(pattern, URLPattern)
            yield route


ANY_IDS = SimpleNamespace(
    slug="abc",
    uuid="00000000-0000-4000-8000-000000000000",
    compare="00000000-0000-4000-8000-000000000000",
    **dict.fromkeys(
        [
            "preset_pk",
            "transcript_pk",
            "user_pk",
            "group_pk",
            "attempt_pk",
            "log_pk",
            "failure_pk",
            "data_set_pk",
            "batch_pk",
        ],
        1,
    ),
    batch_uuid="00000000-0000-4000-8000-000000000000",
    data_set_slug="abc",
    **dict.fromkeys(["preset_type", "transcript_type"], 1),
)


def route_of(row: Row) -> str:
    return resolve(urlsplit(row.url.format(o=ANY_IDS)).path).route


def test_every_route_has_a_row():
    assert set(routes()) - {route_of(row) for row in all_rows()} == set()


def test_every_registered_admin_and_each_of_its_actions_has_rows():
    registered = dict(registered_admins())
    assert set(registered) == set(ADMINS)
    for label, model_admin in registered.items():
        assert action_names(model_admin) == set(ADMINS[label].actions), label


# --- HTTP: a pass per visibility of each object, and one for the routes that take none -----


@pytest.fixture
def people(alice, bob, staff, django_user_model) -> dict[str, User | None]:
    create = django_user_model.objects.create_user
    return {
        "anonymous": None,
        "inactive": create("carol", password="carol-42-x"),  # deactivated once signed in
        "owner": alice,
        "member": bob,
        "staff": staff,
        "clerk": create("clerk", password="clerk-42-x", is_staff=True),
    }


@pytest.fixture
def browsers(people) -> dict[str, Client]:
    """A browser per caller, signed in; "inactive" is deactivated after signing in, so its
    session cookie is still a valid one."""
    browsers = {"forger": Client(enforce_csrf_checks=True, raise_request_exception=False)}
    browsers["forger"].force_login(people["staff"])
    for who, user in people.items():
        browsers[who] = Client(raise_request_exception=False)
        if user is not None:
            browsers[who].force_login(user)
    people["inactive"].is_active = False
    people["inactive"].save(update_fields=["is_active"])
    return browsers


def objects(people, kind: str, visibility: str) -> SimpleNamespace:
    """Everything a pass's rows name, all the owner's; the pass's object has `visibility`."""
    owner = people["owner"]
    preset = make_preset(owner, visibility if kind == PRESET else P.TEAM)
    # The first column of a compare: its pages are the transcript's and the compare's.
    transcript = make_transcript(
        owner,
        visibility=visibility if kind == TRANSCRIPT else T.TEAM,
        group=uuid.uuid4(),
        column=0,
    )
    types = ContentType.objects.get_for_models(Preset, Transcript)
    version = data_set_save(
        owner=owner,
        name="Cities",
        table=Table(["city", "expected"], [["Oslo", "rain"]]),
        visibility=visibility if kind == DATA_SET else D.TEAM,
    )
    # Over a data set of its own: a version a batch ran over cannot be deleted on its own.
    ran = data_set_save(owner=owner, name="Batched", table=Table(["expected"], [["a"]]))
    batch = batch_create(
        owner=owner, version=ran, template={}, form_data={}, column_labels=["a"], concurrency=1
    )
    Batch.objects.filter(pk=batch.pk).update(visibility=visibility if kind == BATCH else D.TEAM)
    return SimpleNamespace(
        batch=Batch.objects.get(pk=batch.pk),
        batch_pk=batch.pk,
        batch_uuid=batch.uuid,
        data_set=version.data_set,
        data_set_pk=version.data_set.pk,
        data_set_slug=version.data_set.slug,
        data_set_name=version.data_set.name,
        preset=preset,
        transcript=transcript,
        slug=preset.slug,
        preset_pk=preset.pk,
        preset_type=types[Preset].pk,
        uuid=transcript.uuid,
        compare=transcript.group,
        transcript_pk=transcript.pk,
        transcript_type=types[Transcript].pk,
        other_visibility=T.TEAM if transcript.visibility == T.PRIVATE else T.PRIVATE,
        user_pk=owner.pk,
        group_pk=Group.objects.create(name="reviewers").pk,
        **sign_in_records(),
    )


def sign_in_records() -> dict[str, int]:
    """One row of each of django-axes' records, as a failed and a good sign-in leave them."""
    where = {"username": "owner", "ip_address": "127.0.0.1", "user_agent": "test"}
    return {
        "attempt_pk": AccessAttempt.objects.create(
            **where, get_data="", post_data="", failures_since_start=1
        ).pk,
        "log_pk": AccessLog.objects.create(**where).pk,
        "failure_pk": AccessFailureLog.objects.create(**where).pk,
    }


def snapshot() -> list[list[dict]]:
    models = (Preset, Transcript, User, Group, DataSet, DataSetVersion, Batch, BatchCell)
    return [list(m.objects.order_by("pk").values()) for m in models]


def outcome(response) -> Outcome:
    if response.status_code != 302:
        return response.status_code
    try:
        name = resolve(urlsplit(response.url).path).view_name
    except Resolver404:
        return f"→ {response.url}"
    return {"login": "login", "admin:login": "admin-login"}.get(name, f"→ {name}")


def cell(browser: Client, row: Row, o: SimpleNamespace) -> Outcome:
    """One request, rolled back with all it changed; the browser keeps its cookies."""
    url = row.url.format(o=o)
    data = {key: value.format(o=o) for key, value in row.data.items()}
    cookies = SimpleCookie()
    cookies.update(browser.cookies)
    with transaction.atomic():
        before = snapshot() if row.method == "POST" else None
        response = browser.get(url) if row.method == "GET" else browser.post(url, data)
        body = body_of(response)
        result = outcome(response)
        if result == 200 and row.lists:
            result = "200 listed" if row.lists.format(o=o).encode() in body else "200 unlisted"
        if before is not None and result in REFUSED and snapshot() != before:
            result = f"{result}, but it changed something"
        transaction.set_rollback(True)
    browser.cookies = cookies
    return result


def expected(row: Row, who: str, allowed: May) -> Outcome:
    if who == "forger":
        return 403 if row.method == "POST" else None  # the CSRF check comes first
    return row.expect(who, allowed)


def rule_disagreements(people, kind: str, row, visibility: str) -> list[str]:
    """The querysets every view, the socket and the admin derive from say what RULE says."""
    wrong = []
    rows = MODELS[kind].objects
    for who in PEOPLE:
        user = people[who] or AnonymousUser()
        rule = may(kind, who, visibility)
        found = May(*(allowed(user).contains(row) for allowed in
                      (rows.visible_to, rows.listed_for, rows.changeable_by)))  # fmt: skip
        if found != rule:
            wrong.append(f"{kind} querysets for {who}: {found}; the rule: {rule}")
    return wrong


PASSES = (
    [("", "")]
    + [(PRESET, v) for v in P]
    + [(TRANSCRIPT, v) for v in T]
    + [(DATA_SET, v) for v in D]
    + [(BATCH, v) for v in D]
)


@pytest.mark.django_db
@pytest.mark.usefixtures("sim_endpoints_setting")
@pytest.mark.parametrize(("kind", "visibility"), PASSES, ids=[f"{k}-{v}" for k, v in PASSES])
def test_every_route_answers_each_caller_as_the_rule_says(people, browsers, kind, visibility):
    o = objects(people, kind, visibility)
    wrong = rule_disagreements(people, kind, getattr(o, kind), visibility) if kind else []
    rows = [row for row in all_rows() if row.kind == kind]
    for who in CALLERS:
        # Only the forger's POSTs are cells; it is the staff member's own browser.
        as_who = "staff" if who == "forger" else who
        allowed = may(kind, as_who, visibility) if kind else May()
        o.me = people[as_who].username if people[as_who] else "nobody"
        for row in rows:
            want = expected(row, who, allowed)
            got = cell(browsers[who], row, o) if want is not None else None
            if got != want:
                variant = f" ({row.variant})" if row.variant else ""
                where = f"{row.method} {route_of(row)}{variant}"
                wrong.append(f"{where} as {who}: expected {want}, got {got}")
    report(wrong)


def report(wrong: list[str]) -> None:
    """Every cell that differs, not only the first."""
    if wrong:
        pytest.fail("\n".join(wrong), pytrace=False)


# --- Outside the URLconf: the run socket and the mounted simulator ---------------------------

HOST = b"127.0.0.1:8000"
SAME_ORIGIN = b"http://127.0.0.1:8000"
# Each differs from the page's origin in one part; a page there must not drive the socket.
FOREIGN_ORIGINS = {
    "other host": b"http://evil.example:8000",
    "other port": b"http://127.0.0.1:8001",
    "other scheme": b"https://127.0.0.1:8000",
    "opaque origin (a sandboxed frame, a file)": b"null",
}


def asgi_routes() -> set[str]:
    """The websocket routes, and the HTTP mounts in front of Django."""
    from playground.asgi import application
    from playground.routing import websocket_urlpatterns

    found = {str(pattern.pattern) for pattern in websocket_urlpatterns}
    app = application.application_mapping["http"]
    while hasattr(app, "prefix"):  # a Mount: its prefix goes to its app, the rest on
        found.add(f"{app.prefix}/")
        app = app.default
    return found


def test_every_asgi_route_outside_the_urlconf_has_a_row():
    assert asgi_routes() == {"ws/run/", "/simulator/"}


class BrowserSocket(Socket):
    """The run socket as Daphne hands a browser's to the app: Host, Origin, the session
    cookie."""

    def __init__(self, cookie: str | None, origin: bytes = SAME_ORIGIN):
        super().__init__(origin=origin)
        self.cookie = cookie

    async def connect(self):
        from playground.asgi import application

        headers = [(b"host", HOST), (b"origin", self.origin)]
        if self.cookie:
            headers.append((b"cookie", f"sessionid={self.cookie}".encode()))
        self.communicator = WebsocketCommunicator(application, "/ws/run/", headers=headers)
        self.communicator.scope.update(
            scheme="ws", server=("127.0.0.1", 8000), client=("127.0.0.1", 40000)
        )
        return await self.communicator.connect(timeout=5)

    async def attempt(self, data: dict) -> str:
        """Start a run: "ran" once it has ended, "refused" on a notice or a closed socket."""
        await self.send(data)
        while True:
            message = await self.communicator.receive_output(timeout=10)
            if message["type"] == "websocket.close":
                return "refused"
            if ack := ack_for(message["text"]):  # as the page does, or runs wait on it
                await self.send(ack)
            if FINAL.search(message["text"]):
                return "ran"
            if 'role="alert"' in message["text"]:
                return "refused"

    async def attach(self, run: str) -> str:
        """Ask how a run stands, as a page that reconnects does: "shown", or "unknown" when
        the answer does not tell it apart from no run at all."""
        await self.send({"action": "attach", "run": run})
        while True:
            text = (await self.communicator.receive_output(timeout=10))["text"]
            if "cannot be found" in text:
                return "unknown"
            if FINAL.search(text) or "still running on the server" in text:
                return "shown"


async def connects(cookie: str | None, origin: bytes = SAME_ORIGIN) -> str:
    socket = BrowserSocket(cookie, origin)
    connected, _ = await socket.connect()
    if connected:
        await socket.close()
    return "accepted" if connected else "refused"


@database_sync_to_async
def cookies_of(people) -> dict[str, str | None]:
    return {who: session_cookie(user) if user else None for who, user in people.items()}


@database_sync_to_async
def socket_objects(owner) -> list[tuple[str, Preset, Transcript | None]]:
    """A preset of each visibility, with a run of the same visibility where there is one."""
    return [
        (
            v,
            make_preset(owner, v, name=v),
            make_transcript(owner, visibility=v) if v in T.values else None,
        )
        for v in P
    ]


@database_sync_to_async
def links_of_last_run(user, preset: Preset, earlier: Transcript | None) -> str:
    run = Transcript.objects.filter(user=user).latest("pk")
    links = [("preset", run.preset_id, preset.pk)]
    if earlier is not None:
        links.append(("transcript", run.continued_from_id, earlier.pk))
    return ", ".join(
        f"{name} {'linked' if got == want else 'unlinked'}" for name, got, want in links
    )


async def runs_of(who: str, user, cookie: str, objects: list) -> dict[tuple[str, str], str]:
    """A run per visibility naming the preset it came from and the run it continues."""
    socket = BrowserSocket(cookie)
    assert (await socket.connect())[0], who
    got = {}
    for visibility, preset, earlier in objects:
        data = {**form_data(max_tokens=1), "preset": preset.slug}
        if earlier is not None:
            data["continued_from"] = str(earlier.uuid)
            got[(who, f"attach to a {visibility} run")] = await socket.attach(str(earlier.uuid))
        ran = await socket.attempt(data)
        if ran == "ran":
            ran += ", " + await links_of_last_run(user, preset, earlier)
        got[(who, f"run from {visibility} objects")] = ran
    await socket.close()
    return got


def expected_run(who: str, visibility: str, earlier: Transcript | None) -> str:
    """A run always runs; it is linked only to what the caller may open."""
    links = {"preset": may(PRESET, who, visibility).open}
    if earlier is not None:
        links["transcript"] = may(TRANSCRIPT, who, visibility).open
    return "ran, " + ", ".join(f"{k} {'linked' if v else 'unlinked'}" for k, v in links.items())


@database_sync_to_async
def sign_out_elsewhere(cookie: str) -> None:
    Session.objects.filter(session_key=cookie).delete()


@database_sync_to_async
def deactivate(user) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


async def ended_sessions(people, cookies) -> dict[tuple[str, str], str]:
    """Runs started on sockets whose session ended after they opened."""
    owner_cookie = await database_sync_to_async(session_cookie)(people["owner"])
    sockets = {
        ("inactive", "run, deactivated since connecting"): BrowserSocket(cookies["inactive"]),
        ("owner", "run, signed out elsewhere since connecting"): BrowserSocket(owner_cookie),
    }
    for socket in sockets.values():
        assert (await socket.connect())[0]
    await deactivate(people["inactive"])
    await sign_out_elsewhere(owner_cookie)
    got = {key: await socket.attempt(form_data(max_tokens=1)) for key, socket in sockets.items()}
    for socket in sockets.values():
        await socket.close()
    return got


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry")
async def test_the_run_socket_admits_each_caller_as_the_rule_says(settings, people):
    settings.PLAYGROUND_ORPHAN_GRACE = 0  # a run left by a closed socket stops at once
    cookies = await cookies_of(people)
    objects = await socket_objects(people["owner"])
    ended = await ended_sessions(people, cookies)  # which deactivates "inactive"
    got = {**ended}
    got |= {(who, "connect"): await connects(cookies[who]) for who in PEOPLE}
    for runs in await asyncio.gather(
        *(runs_of(who, people[who], cookies[who], objects) for who in SIGNED_IN)
    ):
        got |= runs
    foreign = {
        ("owner", f"connect from {name}"): origin for name, origin in FOREIGN_ORIGINS.items()
    }
    for key, origin in foreign.items():
        got[key] = await connects(cookies["owner"], origin)

    want = dict.fromkeys([*ended, *foreign], "refused")
    want |= {(who, "connect"): "refused" if who in SIGNED_OUT else "accepted" for who in PEOPLE}
    for who in SIGNED_IN:
        for visibility, _, earlier in objects:
            want[(who, f"run from {visibility} objects")] = expected_run(who, visibility, earlier)
            if earlier is not None:
                shown = may(TRANSCRIPT, who, visibility).open
                want[(who, f"attach to a {visibility} run")] = "shown" if shown else "unknown"
    report(
        [f"{key}: expected {want[key]}, got {got[key]}" for key in want if got[key] != want[key]]
    )


async def mounted(method: str, path: str, cookie: str | None) -> int:
    from playground.asgi import application

    headers = [(b"host", HOST), (b"content-type", b"application/json")]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    body = json.dumps({"model": "simulator/chat-fast", "max_tokens": 1, "messages": HELLO})
    communicator = HttpCommunicator(
        application, method, path, body.encode() if method == "POST" else b"", headers
    )
    return (await communicator.get_response(timeout=10))["status"]


@pytest.mark.django_db(transaction=True)
async def test_the_mounted_simulator_serves_no_browser(people):
    """The app calls its simulator server to server, with a key of its own; a browser has no
    key, signed in or not, so it cannot make this server generate text for it."""
    cookies = await cookies_of(people)
    await deactivate(people["inactive"])
    wrong = []
    for who in PEOPLE:
        for method, path in [("GET", "/simulator/v1/models"),
                             ("POST", "/simulator/v1/chat/completions")]:  # fmt: skip
            status = await mounted(method, path, cookies[who])
            if status != 401:
                wrong.append(f"{method} {path} as {who}: expected 401, got {status}")
    report(wrong)
