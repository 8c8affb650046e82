// The playground page's own behaviour: message rows, keyboard shortcuts, the draft, the
// Continue / tool-result buttons, the socket's connection, field errors, the code dialog,
// sliders and failed saves. htmx runs with allowEval off, so all of it lives here.
(function () {
  "use strict";

  const STATE_VERSION = 1;
  const MESSAGE_FIELDS = ["role", "name", "content", "tool_call_id", "tool_calls"];
  const page = document.getElementById("playground");
  const form = document.getElementById("run-form");
  const stopForm = document.getElementById("stop-form");
  const list = document.getElementById("messages");
  const template = document.getElementById("message-template");
  const total = form.querySelector('[name="messages-TOTAL_FORMS"]');
  const compare = document.getElementById("compare");

  const rows = () => Array.from(list.querySelectorAll("[data-row]"));
  const field = (row, name) => row.querySelector(`[name$="-${name}"]`);

  // Django's formset reads rows by number: renumber after every add, remove or move,
  // and keep TOTAL_FORMS in step, or rows added here would be dropped.
  function renumber() {
    rows().forEach((row, index) => {
      row.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach((element) => {
        for (const attribute of ["name", "id", "for", "aria-describedby"]) {
          const value = element.getAttribute(attribute);
          if (value) {
            element.setAttribute(
              attribute, value.replace(/messages-(\d+|__prefix__)-/g, `messages-${index}-`));
          }
        }
      });
    });
    total.value = String(rows().length);
  }

  function syncRole(row) {
    row.dataset.role = field(row, "role").value;
  }

  function fillRow(row, values) {
    for (const name of MESSAGE_FIELDS) {
      if (values[name] !== undefined && values[name] !== null) {
        field(row, name).value = values[name];
      }
    }
    syncRole(row);
  }

  function addRow(values) {
    const row = template.content.firstElementChild.cloneNode(true);
    list.appendChild(row);
    renumber();
    fillRow(row, values || {});
    return row;
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const row = button.closest("[data-row]");
    if (button.hasAttribute("data-remove")) {
      if (rows().length > 1) row.remove();
      else MESSAGE_FIELDS.forEach((name) => { if (name !== "role") field(row, name).value = ""; });
    } else if (button.dataset.move === "-1" && row.previousElementSibling) {
      list.insertBefore(row, row.previousElementSibling);
    } else if (button.dataset.move === "1" && row.nextElementSibling) {
      list.insertBefore(row.nextElementSibling, row);
    } else if (button.dataset.fork) {
      fork(row, button.dataset.fork);
      return;
    }
    renumber();
    saveDraft();
  });

  // Regenerate an answer, or resend a message as edited: the conversation up to it runs again,
  // and the new run records whose conversation it forked, and from which message. The later
  // messages go (the earlier run's transcript keeps them), after asking if there are any.
  function fork(row, how) {
    if (document.getElementById("run-button").disabled) return;
    const index = rows().indexOf(row);
    const later = rows().slice(how === "regenerate" ? index : index + 1);
    const dropped = how === "regenerate" ? later.length - 1 : later.length;
    if (dropped > 0 && !window.confirm(
      `This drops the ${dropped} later message${dropped > 1 ? "s" : ""} from the form ` +
      "(the earlier run's transcript keeps them). Go on?")) {
      return;
    }
    later.forEach((message) => message.remove());
    renumber();
    const forkedFrom = document.getElementById("forked-from");
    const forkTurn = document.getElementById("fork-turn");
    forkedFrom.value = document.getElementById("current-run").value;
    forkTurn.value = String(index + 1);
    document.getElementById("continued-from").value = "";
    saveDraft();
    form.requestSubmit();
    // The socket took the values as the form was submitted: the next run is no fork.
    forkedFrom.value = "";
    forkTurn.value = "";
  }

  list.addEventListener("change", (event) => {
    if (event.target.name && event.target.name.endsWith("-role")) {
      syncRole(event.target.closest("[data-row]"));
    }
  });

  document.getElementById("add-message").addEventListener("click", () => {
    const last = rows().at(-1);
    const role = last && field(last, "role").value === "user" ? "assistant" : "user";
    field(addRow({ role }), "content").focus();
    saveDraft();
  });

  // A finished choice as the page holds it: the frames sent each piece once, so the answer is
  // its raw text and the tool calls are their boxes (nothing is sent again for these buttons).
  function answerText(choice) {
    return choice.querySelector(".answer .raw").textContent;
  }

  function choiceToolCalls(choice) {
    return Array.from(choice.querySelectorAll(".tool-call")).map((box) => ({
      id: box.querySelector(".tool-id").textContent,
      type: "function",
      function: {
        name: box.querySelector(".tool-name code").textContent,
        arguments: box.querySelector(".tool-arguments").textContent,
      },
    }));
  }

  // Continue and "Add tool results" turn a finished choice into the next turn. The socket
  // replaces #choices wholesale, so the listener sits on the page around it.
  page.addEventListener("click", (event) => {
    const button = event.target.closest(".choice-foot button");
    if (!button) return;
    const choice = button.closest(".choice");
    const content = answerText(choice);
    // The next run continues this one: its transcript joins the thread.
    document.getElementById("continued-from").value = document.getElementById("current-run").value;
    // The answer as the next assistant turn, its tool calls included: an answer may be
    // nothing else, and a turn with neither is refused.
    const calls = choiceToolCalls(choice);
    const toolCalls = calls.length ? JSON.stringify(calls, null, 1) : "";
    addRow({ role: "assistant", content, tool_calls: toolCalls });
    if (button.classList.contains("continue")) {
      field(addRow({ role: "user" }), "content").focus();
    } else if (button.classList.contains("add-tool-results")) {
      const first = calls.map((call) => addRow({ role: "tool", tool_call_id: call.id }))[0];
      if (first) field(first, "content").focus();
    }
    saveDraft();
  });

  // The run bar's Continue: with one answer it is that answer's Continue; with several it
  // points at theirs, since only the reader knows which one to go on from.
  const continueRun = document.getElementById("continue-run");
  const continueHint = document.getElementById("continue-hint");
  const choiceContinues = () => document.querySelectorAll("#choices .choice-foot .continue");
  continueRun.addEventListener("click", () => {
    const buttons = choiceContinues();
    if (buttons.length === 1) {
      buttons[0].click();
    } else if (buttons.length) {
      continueHint.textContent = "Pick the answer to go on from: each has its own Continue.";
      buttons[0].focus();
    }
  });
  page.addEventListener("htmx:wsAfterMessage", () => {
    continueRun.disabled = !choiceContinues().length ||
      document.getElementById("run-button").disabled;
    if (continueRun.disabled) continueHint.textContent = "";
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (!document.getElementById("run-button").disabled) form.requestSubmit();
    } else if (event.key === "Escape" && !document.querySelector("dialog[open], #parameters.open") &&
               !document.getElementById("stop-button").disabled) {
      // With a dialog open, Esc is the dialog's: it closes it, and does nothing else.
      event.preventDefault();
      stopForm.requestSubmit();
    }
  });

  // The draft: the same form state the server keeps, saved as you type and when the page is
  // left or hidden, restored on the bare page (a link to a transcript or a preset wins over
  // it). Each member's apart, so the next to use this browser never sees it; logging out
  // clears the browser's storage anyway (Clear-Site-Data).
  const DRAFT_KEY = `playground:draft:v1:${page.dataset.user}`;
  function state() {
    const fields = {};
    for (const element of form.elements) {
      const name = element.name;
      if (!name || ["action", "preset", "continued_from", "forked_from", "fork_turn"].includes(name) ||
          name.startsWith("messages-")) {
        continue;  // where a page came from is the link's business, not the draft's
      }
      fields[name] = element.type === "checkbox" ? element.checked : element.value;
    }
    const messages = rows().map((row) =>
      Object.fromEntries(MESSAGE_FIELDS.map((name) => [name, field(row, name).value])));
    return { version: STATE_VERSION, fields, messages };
  }

  // A variable's value whose box the server has not listed yet: filled in when it is.
  const pendingValues = new Map();
  function applyState(saved) {
    withColumns(Number((saved.fields || {}).columns) || 1);  // the columns, before their fields
    for (const [name, value] of Object.entries(saved.fields || {})) {
      const element = form.elements.namedItem(name);
      if (name.startsWith("var-") && !element) pendingValues.set(name, value);
      if (!element || !element.name) continue;
      if (element.type === "checkbox") element.checked = Boolean(value);
      else element.value = value;
    }
    if (Array.isArray(saved.messages) && saved.messages.length) {
      rows().forEach((row) => row.remove());
      saved.messages.forEach((message) => addRow(message));
    }
    renumber();
  }

  let pending = null;
  let unsaved = false;
  function writeDraft() {
    clearTimeout(pending);
    if (!unsaved) return;
    unsaved = false;
    try {
      localStorage.setItem(DRAFT_KEY, JSON.stringify(state()));
    } catch (error) {
      console.warn("The draft could not be saved:", error);
    }
  }
  function saveDraft() {
    unsaved = true;
    clearTimeout(pending);
    pending = setTimeout(writeDraft, 250);
  }
  function dropDraft() {
    unsaved = false;
    clearTimeout(pending);
    localStorage.removeItem(DRAFT_KEY);
  }
  form.addEventListener("input", saveDraft);
  form.addEventListener("change", saveDraft);
  window.addEventListener("pagehide", writeDraft);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") writeDraft();
  });
  // Not written again after the logout's Clear-Site-Data, as the page goes.
  const logout = document.getElementById("logout-form");
  if (logout) logout.addEventListener("submit", dropDraft);

  // "View code" sends the same form with another action: the server validates it alike.
  document.getElementById("view-code").addEventListener("click", () => {
    const action = form.elements.namedItem("action");
    action.value = "code";
    form.requestSubmit();
    action.value = "run";
  });

  // "Copy link" on the preset bar (which htmx replaces after every save).
  page.addEventListener("click", (event) => {
    const button = event.target.closest("button.copy-link");
    if (!button) return;
    const input = document.getElementById(button.dataset.copyValue);
    input.select();
    // The clipboard API exists only on secure origins; elsewhere the link stays selected.
    const copied = navigator.clipboard ? navigator.clipboard.writeText(input.value)
      : Promise.reject(new Error("no clipboard"));
    copied.then(
      () => { button.textContent = "Copied"; },
      () => { button.textContent = "Press Ctrl+C"; });
  });

  page.addEventListener("click", (event) => {
    const button = event.target.closest("#code-panel button.copy");
    if (!button) return;
    const text = document.getElementById(button.dataset.copy).textContent;
    const copied = navigator.clipboard ? navigator.clipboard.writeText(text)
      : Promise.reject(new Error("no clipboard"));
    copied.then(
      () => { button.textContent = "Copied"; },
      () => { button.textContent = "Select and copy"; });
  });

  // "Clear the form" asks first, and keeps what it clears in this tab for "Undo the clear"
  // (the page reloads bare, with the server's defaults).
  const CLEARED_KEY = `playground:cleared:v1:${page.dataset.user}`;
  const undoClear = document.getElementById("undo-clear");
  document.getElementById("reset-form").addEventListener("click", () => {
    if (!window.confirm("Clear every message and parameter? You can undo it.")) return;
    sessionStorage.setItem(CLEARED_KEY, JSON.stringify(state()));
    dropDraft();
    window.location.assign(window.location.pathname);
  });
  undoClear.addEventListener("click", () => {
    const cleared = JSON.parse(sessionStorage.getItem(CLEARED_KEY) || "null");
    sessionStorage.removeItem(CLEARED_KEY);
    undoClear.hidden = true;
    if (cleared) {
      applyState(cleared);
      syncSliders();
      summarise();
    }
    saveDraft();
  });
  // Offered until it is used or the form is run again.
  undoClear.hidden = page.dataset.fromLink === "1" || !sessionStorage.getItem(CLEARED_KEY);
  form.addEventListener("submit", () => {
    if (form.elements.namedItem("action").value !== "run") return;  // View code is no run
    sessionStorage.removeItem(CLEARED_KEY);
    undoClear.hidden = true;
  });

  page.addEventListener("htmx:wsAfterMessage", window.acknowledgeFrame);  // frames.js

  // A message over the server's limit would be refused (or close the socket): say so here,
  // and keep the form as it is. The body is made once, here, and handed to the extension.
  const encoder = new TextEncoder();
  function refuseOversizedMessage(event) {
    const detail = event.detail;
    const message = Object.assign({}, detail.parameters);
    if (detail.headers) message.HEADERS = detail.headers;
    const body = JSON.stringify(message);
    const size = encoder.encode(body).length;
    const limit = Number(page.dataset.maxMessageBytes);
    if (limit && size > limit) {
      event.preventDefault();
      const box = document.createElement("div");
      box.className = "error-box";
      box.setAttribute("role", "alert");
      box.id = "message-too-big";
      const mib = (bytes) => (bytes / 1048576).toFixed(1);
      box.textContent = `Nothing was sent: the form comes to ${mib(size)} MiB, over the ` +
        `${mib(limit)} MiB a run may send. Shorten the messages or the tools.`;
      document.getElementById("run-error").replaceChildren(box);
      return;
    }
    detail.messageBody = body;
  }
  page.addEventListener("htmx:wsConfigSend", refuseOversizedMessage);

  page.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id !== "variables") return;
    for (const box of event.detail.target.querySelectorAll("[name^='var-']")) {
      if (!box.value && pendingValues.has(box.name)) box.value = pendingValues.get(box.name);
    }
  });

  // The socket. When it drops, the ws extension reconnects, only after close codes 1006,
  // 1011, 1012 and 1013, with backoff, and sends what was queued meanwhile once the open
  // handlers have run. So: Run and Stop wait for the connection; the queue is emptied, since
  // what was asked of a page that said "disconnected" must not happen later unseen; and on
  // every open the page first asks how the run it was showing stands (`attach`), by the id
  // this tab keeps while its run is going; a compare's, by the key of its group (never an id:
  // a blind compare's page is told none), its columns and their settings kept by the draft.
  const RUN_KEY = "playground:run";
  const GROUP_KEY = "playground:group";
  const RECONNECTING = [1006, 1011, 1012, 1013];
  const connection = document.getElementById("connection");
  let leaving = false;

  function setRunControls(running) {
    document.getElementById("run-button").disabled = running !== false;
    document.getElementById("stop-button").disabled = running !== true;
  }

  function rememberRun() {
    const run = document.getElementById("current-run").value;
    const status = document.getElementById("run-status");
    if (run && status && status.classList.contains("running")) {
      sessionStorage.setItem(RUN_KEY, run);
    } else {
      sessionStorage.removeItem(RUN_KEY);
    }
    const group = document.getElementById("current-group").value;
    if (group && compare.querySelector(".status.running")) {
      sessionStorage.setItem(GROUP_KEY, group);
    } else {
      sessionStorage.removeItem(GROUP_KEY);
    }
  }

  function connectionLost(event) {
    event.detail.socketWrapper.queue.length = 0;  // the extension's own array: emptied in place
    setRunControls(null);
    if (leaving) return;
    connection.textContent = RECONNECTING.includes(event.detail.event.code)
      ? "Connection lost: reconnecting…" : "Disconnected: reload the page.";
  }

  function connected(event) {
    connection.textContent = "";
    const run = sessionStorage.getItem(RUN_KEY);
    const group = sessionStorage.getItem(GROUP_KEY);
    if (!run && !group) {
      setRunControls(false);
      return;
    }
    setRunControls(null);  // until the answer, which sets them
    if (group) clearAnswers();  // every column is drawn again, each into its own place
    const attach = group ? { action: "attach", group } : { action: "attach", run };
    event.detail.socketWrapper.sendImmediately(JSON.stringify(attach));
  }

  page.addEventListener("htmx:wsClose", connectionLost);
  page.addEventListener("htmx:wsOpen", connected);
  // Once the message has settled (htmx gives a swapped element its old attributes until
  // then), and only for a message about the run: a token count's answer says nothing of it.
  page.addEventListener("htmx:wsAfterMessage", (event) => {
    if (/id="(current-run|current-group|([kb]\d-)?run-meta)"/.test(event.detail.message)) rememberRun();
  });
  window.addEventListener("pagehide", () => { leaving = true; });
  window.addEventListener("pageshow", () => { leaving = false; });

  // Field errors arrive as error boxes swapped in by id (`<field id>_error`), the fields
  // untouched so that nothing typed is lost: each field is marked by its box, the section
  // that hides the first is opened and the field focused, and the list above links to each.
  function markFieldErrors() {
    let first = null;
    for (const box of form.querySelectorAll(".field-errors[id$='_error']")) {
      const input = document.getElementById(box.id.slice(0, -"_error".length));
      if (!input) continue;
      const invalid = box.textContent.trim() !== "";
      const described = input.getAttribute("aria-describedby") || "";
      const ids = new Set(described.split(/\s+/).filter(Boolean));
      if (invalid) {
        ids.add(box.id);
        input.setAttribute("aria-invalid", "true");
        first = first || input;
      } else {
        ids.delete(box.id);
        input.removeAttribute("aria-invalid");
      }
      if (ids.size) input.setAttribute("aria-describedby", [...ids].join(" "));
      else input.removeAttribute("aria-describedby");
    }
    if (first) reveal(first);
  }

  function reveal(input) {
    for (let section = input.closest("details"); section;
         section = section.parentElement.closest("details")) {
      section.open = true;
    }
    if (input.closest("#parameters")) openDrawer(true);
    input.focus();
  }

  // On a phone the parameters are a drawer over the page (CSS shows it only when open).
  const drawer = document.getElementById("parameters");
  const drawerToggle = document.getElementById("parameters-toggle");
  function openDrawer(open) {
    drawer.classList.toggle("open", open);
    drawerToggle.setAttribute("aria-expanded", String(open));
    if (open && getComputedStyle(drawer).position === "fixed") {
      drawer.querySelector("input, select, textarea").focus();
    } else if (!open) {
      drawerToggle.focus();
    }
  }
  drawerToggle.addEventListener("click", () => openDrawer(!drawer.classList.contains("open")));
  drawer.querySelector("[data-close-drawer]").addEventListener("click", () => openDrawer(false));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && drawer.classList.contains("open") &&
        !document.querySelector("dialog[open]")) {
      openDrawer(false);  // Esc closes the drawer, and does nothing else
    }
  });

  page.addEventListener("htmx:wsAfterMessage", (event) => {
    if (event.detail.message.includes('id="form-errors"')) markFieldErrors();
  });
  page.addEventListener("click", (event) => {
    const link = event.target.closest("#form-errors a[href^='#']");
    const input = link && document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!input) return;
    event.preventDefault();
    reveal(input);
  });

  // "View code" arrives as a dialog, opened here as a modal one: Esc closes it, and the rest
  // of the page waits. Its tabs follow the WAI-ARIA tabs pattern.
  page.addEventListener("htmx:wsAfterMessage", () => {
    const dialog = document.querySelector("#code-panel dialog");
    if (dialog && !dialog.open && !dialog.dataset.shown) {
      dialog.dataset.shown = "1";
      dialog.showModal();
    }
  });

  function selectTab(tab) {
    for (const other of tab.parentElement.querySelectorAll("[role=tab]")) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    }
    tab.focus();
  }

  page.addEventListener("click", (event) => {
    const tab = event.target.closest("#code-panel [role=tab]");
    if (tab) selectTab(tab);
  });
  page.addEventListener("keydown", (event) => {
    const tab = event.target.closest("#code-panel [role=tab]");
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!tab || !step) return;
    const tabs = [...tab.parentElement.querySelectorAll("[role=tab]")];
    selectTab(tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length]);
  });

  // A number with a range has a slider beside its box. The slider has no name, so only the
  // box is sent; it shows the box's value, or the API default while the box is blank; Reset
  // blanks the box.
  function syncSlider(slider) {
    const box = document.getElementById(slider.dataset.for);
    const value = box.value !== "" ? box.value : slider.dataset.default;
    slider.toggleAttribute("data-unset", value === "");
    if (value !== "") slider.value = value;
  }

  function syncSliders() {
    form.querySelectorAll("input.slider").forEach(syncSlider);
  }

  // The parameter panel says at a glance what differs from the API's defaults: a dot on each
  // such field, and a line at the top ("t 0.7 · top_p 0.9 · max 512"). A blank field sends
  // nothing, so the upstream's default applies; a value equal to the default differs in nothing.
  const SHORT_NAMES = { temperature: "t", max_tokens: "max", stream: "stream" };
  const panel = document.querySelector("aside.parameters");
  const parameterFields = () => [...panel.querySelectorAll(".field")]
    .filter((box) => !box.matches(".field-endpoint, .field-model, .field-tools"));

  function changedValue(box) {
    const input = box.querySelector("input:not(.slider), select, textarea");
    if (!input) return null;
    if (input.type === "checkbox") return input.checked ? null : "off";  // streaming is the default
    const value = input.value.trim();
    const slider = box.querySelector("input.slider");
    const fallback = slider ? slider.dataset.default : input.placeholder;
    return value === "" || value === fallback ? null : value;
  }

  function summarise() {
    const parts = [];
    for (const box of parameterFields()) {
      const value = changedValue(box);
      box.toggleAttribute("data-changed", value !== null);
      if (value === null) continue;
      const name = box.className.match(/field-(\w+)/)[1];
      const shown = value.length > 16 ? value.slice(0, 15) + "…" : value;
      parts.push(`${SHORT_NAMES[name] || name} ${shown}`);
    }
    document.getElementById("parameter-summary").textContent =
      parts.length ? parts.join(" · ") : "API defaults";
  }

  document.getElementById("reset-parameters").addEventListener("click", () => {
    if (!window.confirm("Blank every parameter, so that the API's defaults apply?")) return;
    for (const box of parameterFields()) {
      const input = box.querySelector("input:not(.slider), select, textarea");
      if (!input) continue;
      if (input.type === "checkbox") input.checked = true;
      else input.value = "";
    }
    syncSliders();
    summarise();
    saveDraft();
  });
  form.addEventListener("input", summarise);
  form.addEventListener("change", summarise);

  form.addEventListener("input", (event) => {
    const target = event.target;
    if (target.classList.contains("slider")) {
      const box = document.getElementById(target.dataset.for);
      box.value = target.value;
      target.removeAttribute("data-unset");
      box.dispatchEvent(new Event("input", { bubbles: true }));
    } else if (target.type === "number") {
      const slider = form.querySelector(`input.slider[data-for="${target.id}"]`);
      if (slider) syncSlider(slider);
    }
  });
  form.addEventListener("click", (event) => {
    const button = event.target.closest("button.reset-field");
    if (!button) return;
    const box = document.getElementById(button.dataset.reset);
    box.value = "";
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
  });

  // A save the server refused outright, never got, or answered with the login page (the
  // session ended) is said in the preset bar, in its words (static/js/requests.js says any
  // other failed request), and what is on the page stays.
  const SAVE_FAILURES = {
    403: "the page is out of date or your session ended: reload the page (your draft is kept).",
    404: "this preset no longer exists, or is not yours to change.",
  };
  page.addEventListener("request-failed", (event) => {
    const bar = event.target.closest("#preset-bar");
    if (!bar) return;
    event.preventDefault();
    const { status, signedOut, reason } = event.detail;
    let alert = bar.querySelector(".save-failed");
    if (!alert) {
      alert = document.createElement("p");
      alert.className = "save-failed error";
      alert.setAttribute("role", "alert");
      bar.prepend(alert);
    }
    const said = signedOut ? "you are signed out: sign in again in another tab, then save." : reason;
    alert.textContent = `Not saved: ${SAVE_FAILURES[status] || said}`;
  });

  // The run bar's clock, from the moment Run was pressed: "waiting 2.4 s" while no token has
  // come, so a slow first token shows; then how long the run has gone. It stops with the run
  // (its Stop button disabled again); the tokens and their pace come from the server.
  const clock = document.getElementById("run-clock");
  let pressedAt = 0;
  let firstAt = 0;
  let clockTimer = null;
  const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
  function showClock() {
    const now = performance.now();
    clock.textContent = firstAt
      ? `first token after ${seconds(firstAt - pressedAt)} · ${seconds(now - pressedAt)}`
      : `waiting ${seconds(now - pressedAt)}`;
  }
  form.addEventListener("submit", () => {
    if (form.elements.namedItem("action").value === "run") pressedAt = performance.now();
  });
  page.addEventListener("htmx:wsAfterMessage", (event) => {
    const message = String(event.detail.message);
    if (pressedAt && message.includes('class="status running"')) {
      firstAt = 0;
      clearInterval(clockTimer);
      clockTimer = setInterval(showClock, 100);
    }
    if (!clockTimer) return;
    if (!firstAt && /beforeend:#(k\d+-)?c\d+-(text|reasoning|tool)/.test(message)) {
      firstAt = performance.now();
    }
    showClock();
    if (document.getElementById("stop-button").disabled) {
      clearInterval(clockTimer);
      clockTimer = null;
      pressedAt = 0;
    }
  });

  // While a run streams, the page keeps the answer's end in view, above the run bar, until the
  // reader scrolls away (wheel, touch or keys: the page's own scrolling sends none of these).
  let following = false;
  const runBar = document.querySelector(".run-bar");
  const stopFollowing = () => { following = false; };
  window.addEventListener("wheel", stopFollowing, { passive: true });
  window.addEventListener("touchmove", stopFollowing, { passive: true });
  document.addEventListener("keydown", (event) => {
    if (["PageUp", "PageDown", "ArrowUp", "Home", "End"].includes(event.key)) stopFollowing();
  });
  page.addEventListener("htmx:wsAfterMessage", (event) => {
    if (String(event.detail.message).includes('class="status running"')) following = true;
    if (!following) return;
    const answers = compare.hidden ? document.getElementById("choices") : compare;
    const end = answers.getBoundingClientRect().bottom;
    const room = window.innerHeight - runBar.offsetHeight - 8;
    if (end > room) window.scrollBy(0, end - room);
    if (document.getElementById("stop-button").disabled) following = false;
  });

  // Compare: the panel is column 1; "Add column" adds a copy of its settings (the same run
  // form, its names prefixed k<n>-), up to the server's limit. Columns are numbered by their
  // place: moving one swaps its settings, name and answers with its neighbour's, and removing
  // one moves those after it up, so the names the server reads always run k1, k2, ... The
  // messages and tools are every column's. Each column shows what it changes from column 1.
  const COLUMN_FIELDS = page.dataset.columnFields.split(" ");
  const ANSWER_PARTS = ["run-meta", "run-rate", "run-error", "choices"];
  const columnList = document.getElementById("columns");
  const columnCount = document.getElementById("column-count");
  const columnTemplate = document.getElementById("column-template");
  const addColumnButton = document.getElementById("add-column");
  const columns = () => Array.from(columnList.querySelectorAll(".column"));
  const columnField = (n, name) => form.elements.namedItem(n === 0 ? name : `k${n}-${name}`);
  const labelOf = (n) => document.getElementById(`k${n}-label`);
  const running = () => document.getElementById("run-button").disabled;
  const valueOf = (element) => element.type === "checkbox" ? element.checked : element.value;
  function setValue(element, value) {
    if (element.type === "checkbox") element.checked = Boolean(value);
    else element.value = value;
  }

  function renameIds(root, from, to) {
    const prefix = new RegExp(`^k${from}-`);
    root.querySelectorAll("[id], [for]").forEach((element) => {
      for (const attribute of ["id", "for"]) {
        const value = element.getAttribute(attribute);
        if (value) element.setAttribute(attribute, value.replace(prefix, `k${to}-`));
      }
    });
  }

  function swapColumns(a, b) {
    for (const name of COLUMN_FIELDS) {
      const [x, y] = [columnField(a, name), columnField(b, name)];
      if (!x || !y) continue;
      const kept = valueOf(x);
      setValue(x, valueOf(y));
      setValue(y, kept);
    }
    [labelOf(a).value, labelOf(b).value] = [labelOf(b).value, labelOf(a).value];
    for (const part of ANSWER_PARTS) {
      const [x, y] = [`k${a}-${part}`, `k${b}-${part}`].map((id) => document.getElementById(id));
      const [fromX, fromY] = [[...x.childNodes], [...y.childNodes]];
      x.replaceChildren(...fromY);
      y.replaceChildren(...fromX);
      renameIds(x, b, a);
      renameIds(y, a, b);
    }
  }

  function setColumnCount(count) {
    columnCount.value = String(count);
    compare.hidden = count < 2;
    addColumnButton.disabled = count >= Number(addColumnButton.dataset.max);
    document.getElementById("run-button").textContent = count > 1 ? "Run all" : "Run";
    document.getElementById("stop-button").textContent = count > 1 ? "Stop all" : "Stop";
    showDiffers();
  }

  function addColumn() {
    const n = columns().length;
    columnList.insertAdjacentHTML("beforeend", columnTemplate.innerHTML.replaceAll("__col__", n));
    columns().at(-1).querySelector(".column-number").textContent = String(n + 1);
    for (const name of COLUMN_FIELDS) {
      const [to, from] = [columnField(n, name), columnField(0, name)];
      if (to && from) setValue(to, valueOf(from));
    }
    syncSliders();
  }

  function removeColumn(n) {
    const last = columns().length - 1;
    for (let k = n; k < last; k += 1) swapColumns(k, k + 1);
    if (last > 0) columns()[last].remove();
    else labelOf(0).value = "";
  }

  function withColumns(count) {
    while (columns().length < count) addColumn();
    while (columns().length > Math.max(count, 1)) removeColumn(columns().length - 1);
    setColumnCount(Math.max(count, 1));
  }

  addColumnButton.addEventListener("click", () => {
    if (running() || columns().length >= Number(addColumnButton.dataset.max)) return;
    // From a single run, the first column is the panel as it is, the second its copy.
    withColumns(columns().length + 1);
    const card = columns().at(-1);
    card.scrollIntoView({ block: "nearest" });
    card.querySelector(".column-label").focus();
    saveDraft();
  });

  columnList.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    const card = button && button.closest(".column");
    if (!card) return;
    const n = columns().indexOf(card);
    if (button.classList.contains("column-stop")) {
      const which = document.getElementById("stop-column");
      which.value = String(n);
      which.disabled = false;
      stopForm.requestSubmit();
      which.disabled = true;
      return;
    }
    if (running()) return;  // a column's answer is still coming into its boxes
    const move = Number(button.dataset.columnMove || 0);
    if (move && columns()[n + move]) {
      swapColumns(n, n + move);
      columns()[n + move].querySelector(`[data-column-move="${move}"]`).focus();
    } else if (button.hasAttribute("data-column-remove")) {
      removeColumn(n);
      setColumnCount(columns().length);
      if (columns().length < 2) withColumns(1);
    } else {
      return;
    }
    showDiffers();
    saveDraft();
  });

  function shown(name, value) {
    if (value === true) return "on";
    if (value === false) return "off";
    if (value === "") return "default";
    // The model is most often what is compared: shown whole.
    return value.length > 24 && name !== "model" ? value.slice(0, 23) + "…" : value;
  }

  // What each column changes from column 1: the marker a reader scans to see what is compared.
  function showDiffers() {
    columns().forEach((card, n) => {
      const box = document.getElementById(`k${n}-differs`);
      if (n === 0) {
        box.textContent = "The other columns are compared with this one.";
        return;
      }
      const parts = [];
      for (const name of COLUMN_FIELDS) {
        const [mine, base] = [columnField(n, name), columnField(0, name)];
        if (mine && base && valueOf(mine) !== valueOf(base)) {
          parts.push(`${SHORT_NAMES[name] || name} ${shown(name, valueOf(mine))}`);
        }
      }
      card.toggleAttribute("data-differs", parts.length > 0);
      box.textContent = parts.length
        ? `Differs from column 1: ${parts.join(" · ")}` : "The same settings as column 1.";
    });
  }
  form.addEventListener("input", showDiffers);
  form.addEventListener("change", showDiffers);

  // A compare's answers come into its columns (a blind one's into the shuffled places A, B,
  // ...): the boxes of the last run are emptied, and those it does not use hidden.
  const blindMode = document.getElementById("blind-mode");
  const blindPlaces = document.getElementById("blind");
  const viewCode = document.getElementById("view-code");
  form.addEventListener("submit", () => {
    if (form.elements.namedItem("action").value === "run" && !compare.hidden) clearAnswers();
  });
  function clearAnswers() {
    const count = columns().length;
    const prefixes = ["", ...columns().map((_, n) => `k${n}-`)];
    Array.from(blindPlaces.children).forEach((place, n) => {
      place.hidden = n >= count;
      prefixes.push(`b${n}-`);
      document.getElementById(`b${n}-reveal`).replaceChildren();
    });
    for (const prefix of prefixes) {
      for (const part of ANSWER_PARTS) document.getElementById(prefix + part).replaceChildren();
    }
    blindPlaces.hidden = !blindMode.checked;
    document.getElementById("blind-vote").replaceChildren();
    // Until the vote, View code would tell which answer is which (the server refuses it too).
    viewCode.disabled = blindMode.checked;
  }

  page.addEventListener("click", (event) => {
    const button = event.target.closest("#blind-vote button[data-pick]");
    if (!button) return;
    document.getElementById("vote-pick").value = button.dataset.pick;
    document.getElementById("vote-form").requestSubmit();
  });
  page.addEventListener("htmx:wsAfterMessage", (event) => {
    if (String(event.detail.message).includes('class="reveal"')) viewCode.disabled = false;
  });

  // "Continue with this one": a column's (first) answer becomes the next assistant turn, its
  // settings the panel's, and the other columns close; the next run continues its run.
  // "Undo" brings the form back as it was, columns and all (kept in this tab).
  const CONTINUED_KEY = `playground:continued:v1:${page.dataset.user}`;
  const undoContinue = document.getElementById("undo-continue");
  function continueWith(n, answers) {
    const choice = answers.querySelector(".choice");
    if (!choice || running()) return;
    sessionStorage.setItem(CONTINUED_KEY, JSON.stringify(state()));
    const link = answers.closest(".column").querySelector('.run-meta a[href^="/transcripts/"], .reveal a');
    const run = link ? link.getAttribute("href").split("/")[2] : "";
    for (const name of COLUMN_FIELDS) {
      const [to, from] = [columnField(0, name), columnField(n, name)];
      if (to && from) setValue(to, valueOf(from));
    }
    const calls = choiceToolCalls(choice);
    addRow({
      role: "assistant", content: answerText(choice),
      tool_calls: calls.length ? JSON.stringify(calls, null, 1) : "",
    });
    withColumns(1);
    labelOf(0).value = "";
    document.getElementById("continued-from").value = run;
    undoContinue.hidden = false;
    syncSliders();
    summarise();
    field(addRow({ role: "user" }), "content").focus();
    saveDraft();
  }
  page.addEventListener("click", (event) => {
    const button = event.target.closest("button.continue-column");
    if (!button) return;
    const card = button.closest(".column");
    const blind = card.id.startsWith("b");
    const n = blind ? Number(button.dataset.column) : columns().indexOf(card);
    continueWith(n, card.querySelector(".choices"));
  });
  undoContinue.addEventListener("click", () => {
    const saved = JSON.parse(sessionStorage.getItem(CONTINUED_KEY) || "null");
    sessionStorage.removeItem(CONTINUED_KEY);
    undoContinue.hidden = true;
    if (saved) {
      applyState(saved);
      syncSliders();
      summarise();
      document.getElementById("continued-from").value = "";
    }
    saveDraft();
  });
  form.addEventListener("submit", () => {
    if (form.elements.namedItem("action").value !== "run") return;
    sessionStorage.removeItem(CONTINUED_KEY);
    undoContinue.hidden = true;
  });

  // The draft, last: restoring it adds its columns, which needs all of the above.
  localStorage.removeItem("playground:draft:v1");  // once every member's draft: whose, unknown
  if (page.dataset.fromLink !== "1") {
    try {
      const draft = JSON.parse(localStorage.getItem(DRAFT_KEY) || "null");
      if (draft && draft.version === STATE_VERSION) applyState(draft);
    } catch (error) {
      console.warn("The saved draft could not be read:", error);
    }
  }
  rows().forEach(syncRole);
  syncSliders();
  summarise();
  setColumnCount(columns().length);
})();
