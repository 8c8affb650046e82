// The test-case table: a cell typed into is written back to the table's state (#cases-table),
// which every table action and a preset's save send; the server renders the table itself.
(function () {
  "use strict";

  document.addEventListener("input", (event) => {
    const cell = event.target.closest("#cases textarea[data-column]");
    if (!cell) return;
    const field = document.getElementById("cases-table");
    const table = JSON.parse(field.value);
    const row = Number(cell.closest("[data-case]").dataset.case);
    table.rows[row][Number(cell.dataset.column)] = cell.value;
    if (table.version !== null) {
      table.version = null;  // no longer the saved version it was opened as
      document.getElementById("cases-source").textContent =
        `${table.rows.length} test case${table.rows.length === 1 ? "" : "s"} · from data set ${table.data_set_name}, ` +
        "changed since (save for a new version)";
    }
    field.value = JSON.stringify(table);
  });
})();
