// SWMS shell behaviour. Loaded from static/ (CSP: no inline scripts).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".tree-toggle");
    if (toggle) {
      var expanded = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", expanded ? "false" : "true");
      var children = toggle.parentElement.querySelector(":scope > .tree-children");
      if (children) { children.classList.toggle("collapsed", expanded); }
    }
  });
  // data-confirm asks before an irreversible step. On a submit button (the one used: event.submitter,
  // also when Enter submits through the default button) or on the form; the button's question wins.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var question = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  // Links and non-submit buttons with data-confirm (submit buttons are asked in the submit handler).
  document.addEventListener("click", function (event) {
    var el = event.target.closest("a[data-confirm], button[data-confirm]");
    if (!el || (el.tagName === "BUTTON" && el.form && el.type === "submit")) { return; }
    if (!window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  // The captcha image can be refreshed by clicking it.
  document.addEventListener("click", function (event) {
    var img = event.target.closest("img.captcha");
    if (!img) { return; }
    fetch("/captcha/refresh/", { headers: { "X-Requested-With": "XMLHttpRequest" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        img.src = data.image_url;
        var key = img.parentElement.querySelector("input[name$='_0']");
        if (key) { key.value = data.key; }
      });
  });
})();
// Cascading region selects: the deepest chosen value becomes the form's work_region; choosing a
// higher level clears the levels below it.
document.addEventListener("change", function (event) {
  var select = event.target.closest("select.cascade");
  if (!select) { return; }
  var box = select.closest(".region-cascade");
  var depth = parseInt(select.getAttribute("data-depth"), 10);
  box.querySelectorAll("select.cascade").forEach(function (other) {
    if (parseInt(other.getAttribute("data-depth"), 10) > depth + 1) { other.innerHTML = ""; }
  });
  var chosen = "";
  box.querySelectorAll("select.cascade").forEach(function (s) { if (s.value) { chosen = s.value; } });
  var target = box.getAttribute("data-target") || "work_region";
  var hidden = box.parentElement.querySelector("input[name='" + target + "']");
  if (hidden) { hidden.value = chosen; }
});

// Selects marked data-autosubmit submit their form on change (the station switcher).
document.addEventListener("change", function (event) {
  var select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) { select.form.submit(); }
});

// Formsets: "add a row" clones the <template data-empty-row="prefix"> with the next index.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-add-row]");
  if (!button) { return; }
  var prefix = button.getAttribute("data-add-row");
  var template = document.querySelector("template[data-empty-row='" + prefix + "']");
  var rows = document.querySelector("[data-rows='" + prefix + "']");
  var total = document.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
  if (!template || !rows || !total) { return; }
  var index = parseInt(total.value, 10);
  var html = template.innerHTML.replace(/__prefix__/g, String(index));
  rows.insertAdjacentHTML("beforeend", html);
  total.value = String(index + 1);
});

// Bar charts from a json_script block: <canvas data-chart="<id>" data-labels="key" data-values="key">.
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Chart === "undefined") { return; }
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data[canvas.getAttribute("data-labels")],
        datasets: [{ data: data[canvas.getAttribute("data-values")], backgroundColor: "#0d6efd" }]
      },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  });
});
