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
  // the queue table follows the server without reloading the page (which would drop pasted text)
  var queue = document.getElementById("queue");
  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) { td.className = cls; }
    tr.appendChild(td);
    return td;
  }
  function refresh() {
    fetch("/api/jobs", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (j) {
      var body = queue.querySelector("tbody");
      body.textContent = "";
      j.jobs.forEach(function (job) {
        var tr = document.createElement("tr");
        var a = document.createElement("a");
        a.href = "/jobs/" + job.id;
        a.textContent = job.id;
        cell(tr, "").appendChild(a);
        cell(tr, job.kind);
        cell(tr, job.status, "status-" + job.status);
        cell(tr, job.progress.done + " / " + job.progress.total);
        cell(tr, new Date(job.created * 1000).toLocaleString());
        body.appendChild(tr);
      });
      var busy = j.counts.queued + j.counts.running > 0;
      setTimeout(refresh, busy ? 1000 : 5000);
    }).catch(function () { setTimeout(refresh, 5000); });
  }
  if (queue) { setTimeout(refresh, 1000); }
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
