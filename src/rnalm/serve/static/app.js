// The page's only script: submit the form to the API, refresh the queue and the job while they run.
(function () {
  "use strict";
  var form = document.getElementById("job-form");
  function shown() {
    var kind = form.querySelector("input[name=kind]:checked").value;
    form.querySelectorAll(".kind-options").forEach(function (fs) {
      var on = fs.dataset.kind === kind;
      fs.hidden = !on;
      fs.disabled = !on;
    });
  }
  if (form) {
    form.querySelectorAll("input[name=kind]").forEach(function (r) { r.addEventListener("change", shown); });
    shown();
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var data = new FormData(form);
      var task = data.get("task");
      if (task && task.indexOf("run:") === 0) { data.delete("task"); data.set("run", task.slice(4)); }
      var file = document.getElementById("file");
      if (!file.files.length) { data.delete("file"); }
      var kind = data.get("kind");
      if (kind === "embed") { data.delete("strict"); }
      var err = document.getElementById("form-error");
      err.textContent = "";
      fetch("/api/jobs", { method: "POST", body: data, credentials: "same-origin" })
        .then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
        .then(function (res) {
          if (res[0]) { window.location = "/jobs/" + res[1].id; }
          else { err.textContent = res[1].detail || "the server refused the job"; }
        })
        .catch(function (e) { err.textContent = String(e); });
    });
  }
  document.querySelectorAll(".time").forEach(function (td) {
    td.textContent = new Date(parseFloat(td.dataset.t) * 1000).toLocaleString();
  });
  var queue = document.getElementById("queue");
  if (queue && queue.dataset.refresh === "yes") { setTimeout(function () { window.location.reload(); }, 2000); }
  var job = document.getElementById("job");
  if (job && job.dataset.finished === "no") {
    var poll = function () {
      fetch("/api/jobs/" + job.dataset.id, { credentials: "same-origin" }).then(function (r) { return r.json(); })
        .then(function (j) {
          document.getElementById("status").textContent = j.status;
          document.getElementById("progress").textContent = j.progress.done + " / " + j.progress.total;
          if (["done", "failed", "cancelled"].indexOf(j.status) >= 0) { window.location.reload(); }
          else { setTimeout(poll, 700); }
        });
    };
    setTimeout(poll, 500);
    var cancel = document.getElementById("cancel");
    if (cancel) {
      cancel.addEventListener("click", function () {
        fetch("/api/jobs/" + job.dataset.id, { method: "DELETE", credentials: "same-origin" })
          .then(function () { window.location.reload(); });
      });
    }
  }
})();
