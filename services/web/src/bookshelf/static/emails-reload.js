// The emails page reloads itself while an email is on its way, after the delay the
// server chose (it grows with each reload, then stops: outbox/pages.py).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const note = document.getElementById("auto-reload");
  if (!note) return;
  const seconds = Number(note.dataset.reloadAfter);
  setTimeout(() => window.location.replace(note.dataset.reloadUrl), seconds * 1000);
});
