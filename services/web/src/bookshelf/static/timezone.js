// The browser's time zone (Intl API): filled into sign-up's hidden field, and offered
// on the account page when it differs from the saved one.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }
  document.querySelectorAll('[data-browser-timezone="fill"]').forEach(function (input) {
    if (!input.value) { input.value = zone; }
  });
  document.querySelectorAll('[data-browser-timezone="offer"]').forEach(function (select) {
    var hint = document.getElementById("browser-timezone");
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === zone; });
    if (!hint || !known || select.value === zone) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link-button";
    button.textContent = hint.dataset.label + " " + zone;
    button.addEventListener("click", function () { select.value = zone; });
    hint.appendChild(button);
    hint.hidden = false;
  });
})();
