"""Every list and detail view agrees with each model's one access rule.

One table per model says, for each kind of user, which visibilities they may open, see
listed and change. The querysets are checked against it, and every view's answer is derived
from the same three facts: a view that drifted from the rule fails here.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from playground.presets.models import Preset
from playground.presets.services import preset_create
from playground.transcripts.models import Transcript

from ..helpers import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_endpoints_setting")]
P, T = Preset.Visibility, Transcript.Visibility
NOTHING: frozenset = frozenset()

# who: (visibilities they may open, see in lists, change), for another's row except "owner".
PRESET_RULE = {
    "anonymous": ({P.LINK}, NOTHING, NOTHING),
    "inactive": ({P.LINK}, NOTHING, NOTHING),  # a deactivated member: nobody
    "owner": (set(P), set(P), set(P)),
    "member": ({P.TEAM, P.LINK}, {P.TEAM}, NOTHING),
    "staff": (set(P), {P.TEAM}, set(P)),
    "clerk": (set(P), {P.TEAM}, set(P)),  # staff without the admin's model permissions
}
TRANSCRIPT_RULE = {
    "anonymous": (NOTHING, NOTHING, NOTHING),
    "inactive": (NOTHING, NOTHING, NOTHING),
    "owner": (set(T), set(T), set(T)),
    "member": ({T.TEAM}, {T.TEAM}, NOTHING),
    "staff": (set(T), {T.TEAM}, set(T)),
    "clerk": (set(T), {T.TEAM}, set(T)),
}
SIGNED_OUT = {"anonymous", "inactive"}  # Django signs an inactive account's session out
ADMIN = {"staff": 200, "clerk": 403}  # the rest are sent to the admin's sign-in


@pytest.fixture
def people(alice, bob, staff, django_user_model):
    create = django_user_model.objects.create_user
    return {
        "anonymous": None,
        "inactive": create("carol", password="carol-42-x", is_active=False),
        "owner": alice,
        "member": bob,
        "staff": staff,
        "clerk": create("clerk", password="clerk-42-x", is_staff=True),
    }


def outcome(response) -> int | str:
    """The status, "login" for a redirect to a sign-in page, or where else it redirects."""
    if response.status_code != 302:
        return response.status_code
    return "login" if "/login/" in response.url else response.url


def page(who: str, allowed: bool) -> int | str:
    """What a members' page answers: a sign-in for visitors, a 404 for a member not allowed."""
    if who in SIGNED_OUT:
        return "login"
    return 200 if allowed else 404


def share_link(who: str, allowed: bool, playground: str) -> int | str:
    """A visitor gets the read-only page or a sign-in; a member is sent on to the playground."""
    if who in SIGNED_OUT:
        return 200 if allowed else "login"
    return playground if allowed else 404


def admin_page(who: str) -> int | str:
    return ADMIN.get(who, "login")


def admin_rows(response) -> list:
    return list(response.context["cl"].result_list) if response.status_code == 200 else []


@pytest.mark.parametrize("visibility", list(P))
@pytest.mark.parametrize("who", list(PRESET_RULE))
def test_every_preset_view_agrees_with_the_rule(people, who, visibility):
    user = people[who] or AnonymousUser()
    preset = preset_create(
        owner=people["owner"], name="Shared", visibility=visibility, form_state={}
    )
    may_open, listed, may_change = (visibility in rule for rule in PRESET_RULE[who])
    assert Preset.objects.visible_to(user).contains(preset) == may_open
    assert Preset.objects.listed_for(user).contains(preset) == listed
    assert Preset.objects.changeable_by(user).contains(preset) == may_change

    client = client_for(people[who])
    playground = f"/?preset={preset.slug}"
    edit = reverse("presets:edit", args=[preset.slug])
    assert {
        "share link": outcome(client.get(preset.get_absolute_url())),
        "playground": outcome(client.get(playground)),
        "edit": outcome(client.get(edit)),
        "delete": outcome(client.get(reverse("presets:delete", args=[preset.slug]))),
        "admin change": outcome(
            client.get(reverse("admin:presets_preset_change", args=[preset.pk]))
        ),
    } == {
        "share link": share_link(who, may_open, playground),
        "playground": page(who, may_open),
        "edit": page(who, may_change),
        "delete": page(who, may_change),
        "admin change": admin_page(who),
    }
    if who not in SIGNED_OUT and may_open:
        opened = client.get(playground).content.decode()
        assert (f'hx-post="/presets/{preset.slug}/save/"' in opened) == may_change

    listing = client.get(reverse("presets:list"))
    assert outcome(listing) == page(who, True)
    shown = listing.content.decode() if listing.status_code == 200 else ""
    assert (playground in shown) == listed
    assert (f'href="{edit}"' in shown) == (listed and may_change)
    admin_list = client.get(reverse("admin:presets_preset_changelist"))
    assert outcome(admin_list) == admin_page(who)
    assert (preset in admin_rows(admin_list)) == (admin_list.status_code == 200 and may_open)


@pytest.mark.parametrize("visibility", list(T))
@pytest.mark.parametrize("who", list(TRANSCRIPT_RULE))
def test_every_transcript_view_agrees_with_the_rule(people, who, visibility):
    user = people[who] or AnonymousUser()
    transcript = run(people["owner"], visibility)
    may_open, listed, may_change = (visibility in rule for rule in TRANSCRIPT_RULE[who])
    assert Transcript.objects.visible_to(user).contains(transcript) == may_open
    assert Transcript.objects.listed_for(user).contains(transcript) == listed
    assert Transcript.objects.changeable_by(user).contains(transcript) == may_change

    client = client_for(people[who])
    detail = transcript.get_absolute_url()
    sharing = reverse("transcripts:visibility", args=[transcript.uuid])
    assert {
        "detail": outcome(client.get(detail)),
        "playground": outcome(client.get(reverse("playground"), {"transcript": transcript.uuid})),
        "admin change": outcome(
            client.get(reverse("admin:transcripts_transcript_change", args=[transcript.pk]))
        ),
    } == {
        "detail": page(who, may_open),
        "playground": page(who, may_open),
        "admin change": admin_page(who),
    }
    if who not in SIGNED_OUT and may_open:
        assert (f'action="{sharing}"' in client.get(detail).content.decode()) == may_change

    my_runs = client.get(reverse("transcripts:list"))
    assert outcome(my_runs) == page(who, True)
    shown = my_runs.content.decode() if my_runs.status_code == 200 else ""
    # My runs lists the runs one may see listed that are one's own.
    assert (detail in shown) == (listed and who == "owner")
    admin_list = client.get(reverse("admin:transcripts_transcript_changelist"))
    assert outcome(admin_list) == admin_page(who)
    assert (transcript in admin_rows(admin_list)) == (admin_list.status_code == 200 and may_open)

    other = T.TEAM if visibility == T.PRIVATE else T.PRIVATE
    changed = page(who, may_change)
    assert outcome(client.post(sharing, {"visibility": other})) == (
        detail if changed == 200 else changed
    )
    transcript.refresh_from_db()
    assert (transcript.visibility == other) == may_change


def test_the_thread_and_a_presets_runs_show_what_the_rule_allows(people):
    alice, bob, staff = people["owner"], people["member"], people["staff"]
    preset = preset_create(owner=alice, name="Shared", visibility=P.TEAM, form_state={})
    first = run(alice, T.PRIVATE, preset=preset)
    second = run(bob, T.TEAM, preset=preset, continued_from=first)
    third = run(bob, T.PRIVATE, preset=preset, continued_from=second)

    def thread(user):
        context = client_for(user).get(second.get_absolute_url()).context
        return list(context["earlier"]), list(context["later"])

    assert thread(alice) == ([first], [])
    assert thread(bob) == ([], [third])
    assert thread(staff) == ([first], [third])

    def runs_of_preset(user):
        response = client_for(user).get(reverse("presets:edit", args=[preset.slug]))
        return sorted(t.pk for t in response.context["runs"])

    assert runs_of_preset(alice) == [first.pk, second.pk]
    assert runs_of_preset(staff) == [second.pk]


def run(user, visibility, **fields) -> Transcript:
    return Transcript.objects.create(
        user=user,
        visibility=visibility,
        endpoint="simulator",
        model="simulator/chat",
        request_body={"model": "simulator/chat", "messages": [{"role": "user", "content": "Hi"}]},
        form_state={},
        **fields,
    )
