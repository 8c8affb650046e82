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
    }
    renumber();
    saveDraft();
  });

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

  function toolCalls(choice) {
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
    if (button.classList.contains("continue")) {
      addRow({ role: "assistant", content });
      field(addRow({ role: "user" }), "content").focus();
    } else if (button.classList.contains("add-tool-results")) {
      const calls = toolCalls(choice);
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
      if (!name || ["action", "preset", "continued_from"].includes(name) ||
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

  // Frames: the server numbers them and asks for an acknowledgement every few
  // (`<!--frame N ack-->`); it holds a run's text back while too many are unacknowledged, so
  // a page that falls behind slows its run down instead of growing the server's memory.
  const FRAME = /^<!--frame (\d+)( ack)?-->/;
  function acknowledgeFrame(event) {
    const match = FRAME.exec(event.detail.message);
    if (match && match[2]) {
      event.detail.socketWrapper.sendImmediately(
        JSON.stringify({ action: "ack", seq: Number(match[1]) }));
    }
  }
  page.addEventListener("htmx:wsAfterMessage", acknowledgeFrame);

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
