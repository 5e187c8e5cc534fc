// Live "typed / limit" counts for the fields with data-max-chars (templates/_macros.html).
// Without JavaScript the server still refuses a longer value, with the same figures.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const counter of document.querySelectorAll("[data-count-for]")) {
    const input = document.getElementById(counter.dataset.countFor);
    if (!input) continue;
    const max = Number(input.dataset.maxChars);
    const update = () => {
      // Code points, as the server counts them (Python's len), not UTF-16 units.
      const typed = Array.from(input.value).length;
      counter.textContent = `(${typed}/${max})`;
      counter.classList.toggle("over", typed > max);
    };
    input.addEventListener("input", update);
    update();
  }
});
