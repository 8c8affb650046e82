"""Every page outside the admin, in Chromium at a phone's width (390 px), in light and dark:
no horizontal scroll, and no serious or critical violation that axe-core finds.

axe-core comes from the npm registry (tests/package.json; `make test` runs `npm ci`). The CSP
refuses injected script tags, so it goes in as an init script, which runs in every page of
the context before the page's own.
"""

from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from playground.cases.models import Batch, BatchCell
from playground.cases.services import batch_create, data_set_save
from playground.cases.table import Table
from playground.presets.models import Preset
from playground.presets.services import preset_create
from playground.transcripts.models import Transcript

from ..factories import form_state_of
from .conftest import signed_in_context

AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
SERIOUS = ("serious", "critical")


@pytest.fixture
def axe_script() -> Path:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` installs it (npm ci --prefix tests).")
    return AXE


def problems_on(page, url: str) -> list[str]:
    page.emulate_media(color_scheme="light")
    page.goto(url)
    expect(page.locator("main")).to_be_visible()
    return problems_here(page)


def problems_here(page) -> list[str]:
    """What is wrong with the page as it is: wider than the viewport, or axe's serious and
    critical violations, in the light theme and in the dark one."""
    found = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        found.append(f"{page.url}: {width} px wide at {PHONE['width']} px")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        found += [
            f"{page.url} ({scheme}): {v['id']} ({v['impact']}) at"
            f" {[n['target'] for n in v['nodes']]}"
            for v in result["violations"]
            if v["impact"] in SERIOUS
        ]
    return found


def cases_version(owner):
    table = Table(["city", "expected"], [["Oslo", "rain"], ["Lima", "sun"]])
    return data_set_save(owner=owner, name="Cities", table=table)


def batch_over(version):
    """A batch's grid as it stands after a Stop: a cell of each kind, and the buttons."""
    batch = batch_create(
        owner=version.data_set.owner,
        version=version,
        template={},
        form_data={},
        column_labels=["simulator/chat", "simulator/chat-fast"],
        concurrency=1,
    )
    batch.cells.filter(row=0).update(status=BatchCell.Status.FAILED, problem="Upstream said 503")
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.STOPPED)
    return batch


def preset_with_cases(owner) -> Preset:
    table = Table(["city", "expected"], [["Oslo", "rain"], ["Lima", "sun"]])
    state = form_state_of(messages=[{"role": "user", "content": "Weather in {{city}}?"}])
    return preset_create(owner=owner, name="Cities", form_state={**state, "cases": table.state()})


def test_every_page_fits_a_phone_and_passes_axe(
    browser, live_url, alice, axe_script, make_preset, make_transcript
):
    preset = make_preset(alice, Preset.Visibility.LINK, name="Shared terse")
    cases = preset_with_cases(alice)
    long = "https://example.com/" + "a-very-long-path/" * 12  # no space to wrap at
    answer = f"A **short** answer, then {long}\n\n```\nprint('{long}')\n```"
    body = {"model": "simulator/chat", "messages": [{"role": "user", "content": long}], "n": 2}
    transcript = make_transcript(alice, content=answer, request_body=body)
    signed_in = signed_in_context(browser, live_url, alice)
    signed_out = browser.new_context()
    found = []
    for context in (signed_in, signed_out):
        context.add_init_script(path=str(axe_script))
        context.set_default_timeout(10_000)
    page = signed_in.new_page()
    page.set_viewport_size(PHONE)

    page.goto(f"{live_url}/?preset={cases.slug}")  # variables, their boxes, a table of cases
    expect(page.get_by_label("Case 2, expected")).to_have_value("sun")
    found += problems_here(page)
    page.goto(f"{live_url}/")
    page.locator('[name="messages-0-content"]').fill("Hello")
    page.get_by_role("button", name="Parameters").click()  # on a phone, a drawer
    page.locator("#id_model").fill("simulator/chat-fast?tokens=20")
    found += problems_here(page)  # the drawer open over the page
    page.get_by_role("button", name="Close the parameters").click()
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#run-status")).to_have_text("completed")
    found += problems_here(page)  # with a finished run's answer, metrics and buttons
    page.get_by_role("button", name="Add column").click()
    page.get_by_role("button", name="Run all").click()
    for column in range(2):
        expect(page.locator(f"#k{column}-run-status")).to_have_text("completed")
    found += problems_here(page)  # a compare's two columns, run
    compare = Transcript.objects.filter(column=1).get()
    for path in (
        reverse("transcripts:group", args=[compare.group]),
        reverse("presets:list"),
        reverse("presets:edit", args=[preset.slug]),
        reverse("transcripts:list"),
        reverse("cases:batches"),
        batch_over(cases_version(alice)).get_absolute_url(),
        transcript.get_absolute_url(),
        reverse("password_change"),
        "/no-such-page/",
    ):
        found += problems_on(page, live_url + path)

    page = signed_out.new_page()
    page.set_viewport_size(PHONE)
    for path in (reverse("login"), preset.get_absolute_url()):
        found += problems_on(page, live_url + path)
    signed_in.close()
    signed_out.close()
    assert not found, "\n".join(found)
