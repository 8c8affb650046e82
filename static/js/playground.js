// The playground page's own behaviour: message rows, keyboard shortcuts, the draft, and the
// Continue / tool-result buttons. htmx runs with allowEval off, so all of it lives here.
(function () {
  "use strict";

  const DRAFT_KEY = "playground:draft:v1";
  const STATE_VERSION = 1;
  const MESSAGE_FIELDS = ["role", "name", "content", "tool_call_id", "tool_calls"];
  const page = document.getElementById("playground");
  const form = document.getElementById("run-form");
  const stopForm = document.getElementById("stop-form");
  const list = document.getElementById("messages");
  const template = document.getElementById("message-template");
  const total = form.querySelector('[name="messages-TOTAL_FORMS"]');

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

  // Continue and "Add tool results" turn a finished choice into the next turn. The socket
  // replaces #choices wholesale, so the listener sits on the page around it.
  page.addEventListener("click", (event) => {
    const button = event.target.closest(".choice-foot button");
    if (!button) return;
    const footer = button.closest(".choice-foot");
    const content = footer.querySelector(".raw-content").value;
    // The next run continues this one: its transcript joins the thread.
    document.getElementById("continued-from").value = document.getElementById("current-run").value;
    if (button.classList.contains("continue")) {
      addRow({ role: "assistant", content });
      field(addRow({ role: "user" }), "content").focus();
    } else if (button.classList.contains("add-tool-results")) {
      const calls = JSON.parse(button.dataset.toolCalls || "[]");
      addRow({ role: "assistant", content, tool_calls: JSON.stringify(calls, null, 1) });
      const first = calls.map((call) => addRow({ role: "tool", tool_call_id: call.id }))[0];
      if (first) field(first, "content").focus();
    }
    saveDraft();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (!document.getElementById("run-button").disabled) form.requestSubmit();
    } else if (event.key === "Escape" && !document.getElementById("stop-button").disabled) {
      event.preventDefault();
      stopForm.requestSubmit();
    }
  });

  // The draft: the same form state the server keeps, saved as you type, restored on the
  // bare page (a link to a transcript or a preset wins over it).
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

  function applyState(saved) {
    for (const [name, value] of Object.entries(saved.fields || {})) {
      const element = form.elements.namedItem(name);
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
  function saveDraft() {
    clearTimeout(pending);
    pending = setTimeout(() => {
      try {
        localStorage.setItem(DRAFT_KEY, JSON.stringify(state()));
      } catch (error) {
        console.warn("The draft could not be saved:", error);
      }
    }, 250);
  }
  form.addEventListener("input", saveDraft);
  form.addEventListener("change", saveDraft);

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

  document.getElementById("reset-form").addEventListener("click", () => {
    localStorage.removeItem(DRAFT_KEY);
    window.location.assign(window.location.pathname);
  });

  if (page.dataset.fromLink !== "1") {
    try {
      const draft = JSON.parse(localStorage.getItem(DRAFT_KEY) || "null");
      if (draft && draft.version === STATE_VERSION) applyState(draft);
    } catch (error) {
      console.warn("The saved draft could not be read:", error);
    }
  }
  rows().forEach(syncRole);
})();
