// Starts Swagger UI (loaded before this file) on the page's OpenAPI document, then
// mends what axe-core finds in Swagger UI's own markup (tests/e2e/test_browser.py):
// its headings skip levels (an h3 right under its h1), and the server menu has no label.
"use strict";

function mendAccessibility(root) {
  // Each heading at most one level below the one before it, as screen readers list them.
  let previous = 1;
  for (const heading of root.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
    const level = Math.min(Number(heading.tagName[1]), previous + 1);
    if (String(level) !== heading.tagName[1]) heading.setAttribute("aria-level", String(level));
    else heading.removeAttribute("aria-level");
    previous = level;
  }
  const servers = root.querySelector("select#servers:not([aria-label])");
  if (servers) servers.setAttribute("aria-label", root.dataset.serversLabel);
}

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  new MutationObserver(() => mendAccessibility(root)).observe(root, {
    childList: true,
    subtree: true,
  });
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    // Deep links put an <a> inside each operation's toggle button (nested controls).
    deepLinking: false,
    validatorUrl: null, // never send the document to an outside validator
    tryItOutEnabled: false,
  });
});
