// The test-case table: a cell typed into is written back to the table's state (#cases-table),
// which every table action and a preset's save send; the server renders the table itself.
// The table is kept as a draft in the browser too, per member, like the form's.
(function () {
  "use strict";

  const page = document.getElementById("playground");
  const DRAFT_KEY = `playground:cases:v1:${page.dataset.user}`;
  const state = () => document.getElementById("cases-table");

  function saveDraft() {
    if (leaving) return;
    try {
      localStorage.setItem(DRAFT_KEY, state().value);
    } catch (error) {
      console.warn("The test cases could not be kept as a draft:", error);
    }
  }

  function caseCount(table) {
    return `${table.rows.length} test case${table.rows.length === 1 ? "" : "s"}`;
  }

  let pending = null;
  // Not written again after the logout's Clear-Site-Data, as the page goes: an htmx answer
  // the form's last edit asked for (the batch estimate) may still settle meanwhile.
  let leaving = false;
  document.getElementById("logout-form")?.addEventListener("submit", () => {
    leaving = true;
    clearTimeout(pending);
  });
  document.addEventListener("input", (event) => {
    const cell = event.target.closest("#cases textarea[data-column]");
    if (!cell) return;
    const table = JSON.parse(state().value);
    const row = Number(cell.closest("[data-case]").dataset.case);
    table.rows[row][Number(cell.dataset.column)] = cell.value;
    if (table.version !== null) {
      table.version = null;  // no longer the saved version it was opened as
      document.getElementById("cases-source").textContent =
        `${caseCount(table)} · from data set ${table.data_set_name}, changed since (save for a new version)`;
    }
    state().value = JSON.stringify(table);
    clearTimeout(pending);
    pending = setTimeout(saveDraft, 300);
  });
  // Every answer of the server's that drew the table (an action, a new column).
  document.addEventListener("htmx:afterSettle", () => {
    if (state().value !== localStorage.getItem(DRAFT_KEY)) saveDraft();
  });

  // Run all: the server saved the table as a data set version; the run form names it to the
  // run socket with its own fields (validated there as a run's), then is a run form again.
  document.body.addEventListener("playground:run-all", (event) => {
    const form = document.getElementById("run-form");
    const action = form.elements.namedItem("action");
    const version = document.createElement("input");
    Object.assign(version, { type: "hidden", name: "batch_version", value: event.detail.version });
    form.append(version);
    action.value = "batch";
    form.requestSubmit();
    action.value = "run";
    version.remove();
  });

  // The bare page takes the draft back: put in now, before htmx sends anything, so that every
  // request from the page carries it; drawn by the server once htmx is ready.
  let draft = null;
  try {
    draft = JSON.parse(localStorage.getItem(DRAFT_KEY) || "null");
  } catch (error) {
    console.warn("The test cases' draft could not be read:", error);
  }
  const bare = JSON.parse(state().value).rows.length === 0;
  if (page.dataset.fromLink !== "1" && bare && draft && draft.rows && draft.rows.length) {
    state().value = JSON.stringify(draft);
    document.addEventListener("DOMContentLoaded", () => {
      htmx.ajax("POST", page.dataset.casesShowUrl, { source: "#cases-form", target: "#cases", swap: "outerHTML" });
    });
  }
})();
