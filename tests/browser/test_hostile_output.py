"""Hostile model output in Chromium: the corpus (tests/xss_corpus.py) streamed by an upstream
as content, reasoning, tool-call names and arguments, and an error message, cut at several
chunk sizes, then shown on the playground, the transcript page and the admin.

Nothing may run (a canary the payloads call, dialogs, console), no request may leave for
another host (or for /pwn on ours), the CSP may block nothing (it is the second wall: a
sanitiser regression must not hide behind it), and no element or attribute of a payload's
making may reach the page. All of it once more in a context that bypasses the CSP.
"""

import json
from urllib.parse import urlsplit

from django.urls import reverse
from playwright.sync_api import expect

from playground.transcripts.models import Transcript

from ..hostile import chunk, pieces, sse
from ..xss_corpus import CLOSING_TAGS, CORPUS, HUGE_TOKEN, SCRIPTS
from .conftest import signed_in_context

TEXT = "\n\n".join(CORPUS)
# The member's own message: the corpus too, less what a browser cannot type (lone surrogates).
TYPED = "\n\n".join(p for p in CORPUS if not any("\ud800" <= c <= "\udfff" for c in p))
SEEN = "pwn('svg onload')"  # shown as text wherever the corpus arrived

CANARY = """
window.__signs = [];
window.pwn = (what) => window.__signs.push('ran: ' + what);
document.addEventListener('securitypolicyviolation', (e) => window.__signs.push(
    'the CSP blocked ' + e.violatedDirective + ' ' + e.blockedURI), true);
"""
# Every element inside the parts of a page that show untrusted text must be one the sanitiser
# or our own templates make there, with only their attributes, and links only to web pages.
FOREIGN_MARKUP = r"""(selector) => {
  const tags = new Set(['p', 'br', 'hr', 'strong', 'em', 'del', 'code', 'pre', 'blockquote',
    'ul', 'ol', 'li', 'a', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'thead', 'tbody', 'tr',
    'th', 'td', 'div', 'span', 'article', 'header', 'details', 'summary', 'i']);
  const attributes = new Set(['class', 'href', 'title', 'rel', 'start', 'role']);
  // Ids the run's frames give: a choice's views, its raw segments, its tool calls' boxes, and
  // elements of a rendered answer cut across frames (the sanitiser keeps no id of a payload's).
  const ours = /^c\d+-(view|text(-\d+)?|tool-\d+(-name|-id|-args)?|r\d+-\d+)$/;
  const found = [];
  const regions = document.querySelectorAll(selector);
  for (const region of regions) {
    for (const element of region.querySelectorAll('*')) {
      const tag = element.localName;
      if (!tags.has(tag)) found.push('<' + tag + '>');
      for (const {name, value} of element.attributes) {
        // The sanitiser makes tables and code blocks focusable, so that they scroll by key.
        const focusable = name === 'tabindex' && value === '0' && ['table', 'pre'].includes(tag);
        const id = name === 'id' && ours.test(value);
        if (!attributes.has(name) && !focusable && !id) found.push('<' + tag + ' ' + name + '>');
      }
      const href = element.getAttribute('href');
      if (href !== null) {
        let scheme;
        try { scheme = new URL(href, location.href).protocol; } catch { scheme = 'invalid'; }
        if (!['http:', 'https:', 'mailto:'].includes(scheme)) found.push('href=' + href);
      }
    }
  }
  return {regions: regions.length, found};
}"""
PLAYGROUND = "#choices .answer, #choices .stream-text, #choices .tools, #run-error"
TRANSCRIPT = "main .choices, main .conversation-view, main .error-box, main pre.json"
ADMIN = "div.readonly"
SIZES = {"1": 1, "7": 7, "whole": None}


class Watched:
    """A signed-in browser context that records every sign of a payload at work."""

    def __init__(self, browser, live_url: str, user, **options):
        self.live_url = live_url
        self.context = signed_in_context(browser, live_url, user, **options)
        self.context.add_init_script(CANARY)
        self.context.route(self._leaving, self._refuse)
        self.context.on("dialog", self._dialog)
        self.context.on("console", self._console)
        self.signs: list[str] = []
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)

    def _leaving(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return False
        return parts.netloc != urlsplit(self.live_url).netloc or parts.path.startswith("/pwn")

    def _refuse(self, route) -> None:
        self.signs.append(f"a request for {route.request.url}")
        route.abort()

    def _dialog(self, dialog) -> None:
        self.signs.append(f"a dialog: {dialog.message}")
        dialog.dismiss()

    def _console(self, message) -> None:
        if "PWNED" in message.text:
            self.signs.append(f"the console: {message.text}")

    def check(self, where: str, regions: str, seen: str = SEEN) -> None:
        """Record what the page shows of payloads at work, and that the corpus is there."""
        self.signs += [f"{where}: {sign}" for sign in self.page.evaluate("window.__signs")]
        self.page.evaluate("window.__signs.length = 0")
        markup = self.page.evaluate(FOREIGN_MARKUP, regions)
        assert markup["regions"], f"{where}: nothing matches {regions}"
        self.signs += [f"{where}: {made}" for made in markup["found"]]
        shown = " ".join(self.page.locator(regions).all_inner_texts())
        assert seen in shown, f"{where}: the corpus is not shown"

    def run(self, model: str, status: str, seen: str = SEEN) -> str:
        """Run `model` on the scripted upstream; the run's id."""
        page = self.page
        current = page.locator("#current-run")
        earlier = current.input_value()
        page.locator("#id_model").fill(model)
        page.get_by_role("button", name="Run").click()
        try:
            expect(current).not_to_have_value(earlier)
            expect(page.locator("#run-status")).to_have_text(status, timeout=30_000)
        except AssertionError as stuck:  # a payload that took the page away, say
            raise AssertionError(f"{model} did not end; signs so far: {self.signs}") from stuck
        self.check(f"the playground, {model}", PLAYGROUND, seen)
        return current.input_value()

    def open_playground(self) -> None:
        self.page.goto(f"{self.live_url}/")
        self.page.locator("#id_endpoint").select_option("scripted")
        self.page.locator('[name="messages-0-content"]').fill(TYPED)

    def visit(self, run_id: str) -> None:
        """The run's transcript page, then its page in the admin."""
        pk = Transcript.objects.get(uuid=run_id).pk
        for where, url, regions in [
            ("the transcript page", reverse("transcripts:detail", args=[run_id]), TRANSCRIPT),
            ("the admin", reverse("admin:transcripts_transcript_change", args=[pk]), ADMIN),
        ]:
            self.page.goto(f"{self.live_url}{url}")
            self.check(f"{where} of run {run_id}", regions)


def cut(text: str, size: int | None) -> list[str]:
    return pieces(text, size) if size else [text]


def tool_call_events(index: int, payload: str, size: int | None) -> list[dict]:
    """One tool call whose name and arguments are the payload, each cut at `size`."""
    name, *more = cut(payload, size)
    arguments = json.dumps({"html": payload}) if index % 2 else payload
    opening = {"index": index, "id": f"call_{index}", "type": "function"}
    return [
        chunk(tool_calls=[{**opening, "function": {"name": name, "arguments": ""}}]),
        *(chunk(tool_calls=[{"index": index, "function": {"name": piece}}]) for piece in more),
        *(
            chunk(tool_calls=[{"index": index, "function": {"arguments": piece}}])
            for piece in cut(arguments, size)
        ),
    ]


def streams(size: int | None) -> dict[str, list[bytes]]:
    """What the upstream says for each field, the text cut every `size` characters."""
    stop = chunk(finish_reason="stop")
    tools = [e for i, p in enumerate(CORPUS) for e in tool_call_events(i, p, size)]
    return {
        "content": sse(*(chunk(content=piece) for piece in cut(TEXT, size)), stop),
        "reasoning": sse(
            *(chunk(reasoning=piece) for piece in cut(TEXT, size)), chunk(content="Done."), stop
        ),
        "tools": sse(*tools, chunk(finish_reason="tool_calls")),
    }


# An error's message is cut at 1,000 characters: the payloads that break out of an element.
ERROR = sse(
    chunk(content="Before the error. "),
    {"error": {"message": " ".join([*CLOSING_TAGS, *SCRIPTS])}},
    done=False,
)
HUGE = sse(chunk(content=HUGE_TOKEN), chunk(finish_reason="stop"))


def run_everything(watched: Watched, scripted, sizes: list[str]) -> list[str]:
    """Every field at each size on the playground (one page load per size), the error and
    the huge token once; the runs' ids."""
    runs = []
    for size in sizes:
        watched.open_playground()
        for field, parts in streams(SIZES[size]).items():
            model = f"xss/{field}-{size}"
            scripted.script(model, parts)
            runs.append(watched.run(model, "completed"))
    scripted.script("xss/error", ERROR)
    scripted.script("xss/huge", HUGE)
    runs.append(watched.run("xss/error", "error", seen="pwn('close pre')"))
    runs.append(watched.run("xss/huge", "completed", seen="pwn('huge')"))
    return runs


def one_per_answer(run_ids: list[str]) -> list[str]:
    """The first run of each answer stored: the transcript page and the admin show what was
    stored, so a run that stored the same as an earlier one shows nothing new there."""
    seen: dict[str, str] = {}
    for run_id in run_ids:
        row = Transcript.objects.get(uuid=run_id)
        seen.setdefault(json.dumps([row.choices, row.error], sort_keys=True), run_id)
    return list(seen.values())


def test_hostile_output_runs_nothing_and_sends_nothing_away(
    browser, live_url, transactional_db, staff, scripted
):
    watched = Watched(browser, live_url, staff)
    runs = one_per_answer(run_everything(watched, scripted, list(SIZES)))
    # A field's answer is stored the same however its stream was cut: one per field, the
    # error and the huge token.
    assert len(runs) == len(streams(None)) + 2
    for run_id in runs:
        watched.visit(run_id)
    watched.context.close()
    assert watched.signs == []


def test_hostile_output_runs_nothing_with_the_csp_bypassed(
    browser, live_url, transactional_db, staff, scripted
):
    watched = Watched(browser, live_url, staff, bypass_csp=True)
    for run_id in run_everything(watched, scripted, ["whole"]):
        watched.visit(run_id)
    watched.context.close()
    assert watched.signs == []
