// A transcript page of a run still going watches it live: on every connect it asks for the
// run (`attach`), and is sent what it has so far, then the rest. Stop is there only for those
// who may stop the run, and only while it goes.
(function () {
  const live = document.getElementById("watch");
  if (!live) return;
  live.addEventListener("htmx:wsOpen", (event) => {
    event.detail.socketWrapper.sendImmediately(
      JSON.stringify({ action: "attach", run: live.dataset.run }));
  });
  live.addEventListener("htmx:wsAfterMessage", (event) => {
    window.acknowledgeFrame(event);
    const stop = document.getElementById("watch-stop");
    // A compare's column has its status under its own id (`k1-run-status`).
    if (stop) stop.disabled = !live.querySelector('[id$="run-status"].running');
  });
})();
