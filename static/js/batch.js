// A batch's page watches it live: on every connect it asks for the batch (`batch_attach`) and
// is drawn every cell as it stands, then each as it changes. Retry fills the one retry form.
(function () {
  const live = document.getElementById("batch");
  if (!live) return;
  live.addEventListener("htmx:wsOpen", (event) => {
    event.detail.socketWrapper.sendImmediately(
      JSON.stringify({ action: "batch_attach", batch: live.dataset.batch }));
  });
  live.addEventListener("htmx:wsAfterMessage", window.acknowledgeFrame);  // frames.js
  live.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-retry-row]");
    const form = document.getElementById("batch-retry-form");
    if (!button || !form) return;
    document.getElementById("retry-row").value = button.dataset.retryRow;
    document.getElementById("retry-column").value = button.dataset.retryColumn;
    form.requestSubmit();
  });
})();
