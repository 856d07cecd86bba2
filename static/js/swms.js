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

// Client picker (services/activities/_client_picker.html): htmx fills the listbox as one types; ↓/↑ move
// through it, Enter or a click chooses (a chip with a hidden input), Esc closes it, Backspace in an empty
// search removes the last chip. Enter in the search never submits the activity form.
(function () {
  "use strict";
  function parts(el) {
    var box = el.closest("[data-client-picker]");
    return box && {
      box: box,
      input: box.querySelector("[data-picker-search]"),
      results: box.querySelector("[data-picker-results]"),
      chips: box.querySelector("[data-chips]")
    };
  }
  function options(p) { return Array.prototype.slice.call(p.results.querySelectorAll("[role='option']")); }
  function highlight(p, index) {
    options(p).forEach(function (option, i) {
      var on = i === index;
      option.setAttribute("aria-selected", on ? "true" : "false");
      option.classList.toggle("active", on);
      if (on) {
        p.input.setAttribute("aria-activedescendant", option.id);
        option.scrollIntoView({ block: "nearest" });
      }
    });
    if (index < 0) { p.input.removeAttribute("aria-activedescendant"); }
  }
  function close(p) {
    p.results.innerHTML = "";
    p.input.setAttribute("aria-expanded", "false");
    p.input.removeAttribute("aria-activedescendant");
  }
  function choose(p, option) {
    var label = option.getAttribute("data-label");
    var chip = p.box.querySelector("template[data-chip-template]").content.firstElementChild.cloneNode(true);
    chip.querySelector("input").value = option.getAttribute("data-pick");
    chip.querySelector("[data-chip-label]").textContent = label;
    chip.querySelector("[data-chip-remove]").setAttribute("aria-label", p.box.getAttribute("data-remove-label") + " " + label);
    p.chips.appendChild(chip);
    p.input.value = "";
    close(p);
    p.input.focus();
  }
  function removeChip(p, chip) {
    chip.remove();
    p.input.focus();
  }
  document.addEventListener("keydown", function (event) {
    var input = event.target.closest && event.target.closest("[data-picker-search]");
    if (!input) { return; }
    var p = parts(input);
    var list = options(p);
    var current = list.findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!list.length) { return; }
      var next = event.key === "ArrowDown" ? Math.min(current + 1, list.length - 1) : Math.max(current - 1, 0);
      highlight(p, next);
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (current >= 0) { choose(p, list[current]); } else if (list.length === 1) { choose(p, list[0]); }
    } else if (event.key === "Escape") {
      if (list.length || p.results.children.length) { event.preventDefault(); close(p); }
    } else if (event.key === "Backspace" && input.value === "") {
      var last = p.chips.querySelector("[data-chip]:last-child");
      if (last) { event.preventDefault(); removeChip(p, last); }
    }
  });
  document.addEventListener("click", function (event) {
    var option = event.target.closest("[data-client-picker] [role='option']");
    if (option) { choose(parts(option), option); return; }
    var remove = event.target.closest("[data-client-picker] [data-chip-remove]");
    if (remove) { removeChip(parts(remove), remove.closest("[data-chip]")); }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var results = event.target.closest && event.target.closest("[data-picker-results]");
    if (!results) { return; }
    var p = parts(results);
    p.input.setAttribute("aria-expanded", options(p).length ? "true" : "false");
    highlight(p, -1);
  });
})();

// Error summary (templates/includes/error_summary.html): shown focused so it is read first; each link
// moves the focus to its field, not only the scroll position.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
});
document.addEventListener("click", function (event) {
  var link = event.target.closest("[data-error-summary] a[data-error-link]");
  if (!link) { return; }
  var target = document.getElementById(link.getAttribute("href").slice(1));
  if (!target) { return; }
  event.preventDefault();
  target.scrollIntoView({ block: "center" });
  target.focus({ preventScroll: true });
});
