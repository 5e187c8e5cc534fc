// The import page's progress bar: polls the job's JSON (GET /api/v1/imports/{id}) with
// a growing delay, and reloads the page for the report once the job is finished.
(function () {
  "use strict";
  var card = document.getElementById("import-job");
  if (!card || card.dataset.finished === "true") { return; }
  var bar = document.getElementById("import-progress");
  var status = document.getElementById("import-status");
  var delay = 500;
  var failures = 0;
  function poll() {
    fetch(card.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (job) {
        failures = 0;
        bar.value = job.percent;
        bar.textContent = job.percent + "%";
        status.textContent = job.percent + "%";
        if (job.status === "done" || job.status === "failed") {
          window.location.reload();
          return;
        }
        delay = Math.min(delay * 1.5, 5000);
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        failures += 1;
        if (failures < 20) { window.setTimeout(poll, 5000); }
      });
  }
  window.setTimeout(poll, delay);
})();
