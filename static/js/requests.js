// An htmx request that failed is said, on every page, and replaces nothing. htmx swaps no 4xx
// or 5xx answer (it would pass in silence), and a request of a session that ended follows the
// redirect to the login page, which htmx would swap into whatever the request targets: the
// estimate box, the variables, a table or a cell would become a login form.
//
// A part of the page that says it in its own place (the preset bar) claims the failure by
// calling preventDefault() on the "request-failed" event; any other is said in the page's
// banner, until it is dismissed or the same part of the page succeeds.
(function () {
  "use strict";

  const REASONS = {
    403: "the page is out of date or your session ended: reload the page.",
    404: "what it acts on no longer exists, or is not yours.",
    413: "what was sent is too large.",
    429: "too many requests: wait a moment, then try again.",
  };
  const SIGNED_OUT = "you are signed out: sign in again in another tab, then try again.";
  const banner = document.getElementById("request-failed");
  const loginUrl = document.body.dataset.loginUrl;

  // What the request was, in the words the page uses for it: the button pressed (a form's
  // submitter), or the element's own name for a request the page sends by itself.
  function named(elt, request) {
    const trigger = request && request.triggeringEvent;
    const button = (trigger && trigger.submitter) || elt.closest("button");
    return (button && button.getAttribute("aria-label")) || elt.dataset.requestName ||
      elt.getAttribute("aria-label") || (button ? button.textContent.trim() : "");
  }

  // The element that sent a request: htmx gives beforeSwap's detail the target as its elt.
  function sender({ elt, requestConfig }) {
    return (requestConfig && requestConfig.elt) || elt;
  }

  // A request of a session that ended lands on the login page, a 200 to htmx.
  function signedOut(xhr) {
    return Boolean(loginUrl) && new URL(xhr.responseURL || location.href).pathname === loginUrl;
  }

  // What failed last, and where: the banner goes when that same part of the page succeeds
  // (or is dismissed), not when some other request does, which would hide it in silence.
  let failedElt = null;
  function failed(request, detail) {
    const elt = sender(request);
    const claimed = !elt.dispatchEvent(
      new CustomEvent("request-failed", { bubbles: true, cancelable: true, detail }));
    if (claimed || !banner) return;
    const name = named(elt, request.requestConfig);
    const text = banner.querySelector(".request-failed-text");
    failedElt = elt;
    // Emptied, then said again on the next frame: the same failure twice is announced twice.
    text.textContent = "";
    banner.hidden = true;
    requestAnimationFrame(() => {
      text.textContent =
        `Not done${name ? ` (${name})` : ""}: ${detail.reason} What is on this page stays.`;
      banner.hidden = false;
    });
  }

  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (!signedOut(event.detail.xhr)) return;
    event.detail.shouldSwap = false;
    failed(event.detail, { status: 401, signedOut: true, reason: SIGNED_OUT });
  });
  document.body.addEventListener("htmx:responseError", (event) => {
    const status = event.detail.xhr.status;
    const reason = REASONS[status] || `the server failed (${status}); try again.`;
    failed(event.detail, { status, signedOut: false, reason });
  });
  document.body.addEventListener("htmx:sendError", (event) => {
    const reason = "the server could not be reached; try again.";
    failed(event.detail, { status: 0, signedOut: false, reason });
  });
  document.body.addEventListener("htmx:afterRequest", (event) => {
    const { successful, xhr } = event.detail;
    if (banner && successful && !signedOut(xhr) && sender(event.detail) === failedElt) {
      banner.hidden = true;
    }
  });
  if (banner) {
    banner.querySelector("button").addEventListener("click", () => { banner.hidden = true; });
  }
})();
