// The theme menu: the choice shows at once and is saved on the server, which renders it on
// every page from then on. Without this script the form's button saves it and reloads.
(function () {
  "use strict";

  const form = document.getElementById("theme-form");
  if (!form) return;
  const button = form.querySelector("button");
  const status = document.getElementById("theme-status");
  button.hidden = true;

  form.elements.theme.addEventListener("change", () => {
    const theme = form.elements.theme.value;
    if (theme) document.documentElement.dataset.theme = theme;
    else delete document.documentElement.dataset.theme;
    status.textContent = "";
    // The view answers with a redirect back to the page, which is not worth following here.
    fetch(form.action, { method: "POST", body: new FormData(form), redirect: "manual" })
      .then((response) => {
        if (response.type !== "opaqueredirect" && !response.ok) throw new Error(response.status);
      })
      .catch(() => {
        status.textContent = "Not saved: press Set.";
        button.hidden = false;
      });
  });
})();
