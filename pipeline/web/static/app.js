// Light progressive enhancement: every page works without it.
(function () {
  "use strict";

  // A running job's page polls its status and reloads when it ends.
  var job = document.getElementById("job");
  if (job && job.dataset.active === "yes") {
    var url = job.dataset.statusUrl;
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { return; }
          var bar = document.getElementById("job-progress");
          if (bar) { bar.value = s.percent; bar.textContent = s.percent + "%"; }
          var count = document.getElementById("job-count");
          if (count) { count.textContent = s.done + "/" + s.total; }
          var state = document.getElementById("job-state");
          if (state) { state.textContent = s.state_name; }
          var lines = document.getElementById("job-lines");
          if (lines && s.lines) {
            lines.replaceChildren.apply(lines, s.lines.map(function (text) {
              var p = document.createElement("p");
              p.className = "hint";
              p.textContent = text;  // text, never markup
              return p;
            }));
          }
          if (!s.active) { window.location.reload(); return; }
          window.setTimeout(tick, 800);
        })
        .catch(function () { window.setTimeout(tick, 2000); });
    };
    window.setTimeout(tick, 500);
  }

  // A page waiting for figures computed in the background reloads itself.
  var pending = document.querySelector("[data-reload]");
  if (pending) {
    window.setTimeout(function () { window.location.reload(); }, 1000 * Number(pending.dataset.reload || 5));
  }

  // "无" and the categories exclude each other in the correction form.
  var form = document.getElementById("correct-form");
  if (form) {
    var none = form.querySelector('input[name="none"]');
    var cats = form.querySelectorAll('input[name="labels"]');
    if (none) {
      none.addEventListener("change", function () {
        if (none.checked) { cats.forEach(function (c) { c.checked = false; }); }
      });
      cats.forEach(function (c) {
        c.addEventListener("change", function () { if (c.checked) { none.checked = false; } });
      });
    }
  }

  // Forms that ask before they act.
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.dataset.confirm)) { e.preventDefault(); }
    });
  });

  // "Back" goes back when there is somewhere to go.
  document.querySelectorAll("a[data-back]").forEach(function (a) {
    a.addEventListener("click", function (e) {
      if (window.history.length > 1 && document.referrer) { e.preventDefault(); window.history.back(); }
    });
  });
})();
