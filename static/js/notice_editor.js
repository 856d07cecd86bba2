// The notice composer: a small Markdown toolbar, and the "show on the public portal" box offered only for
// the categories the portal shows. Loaded by templates/notices/notice_form.html (CSP: no inline scripts).
// The Preview tab needs no code here: htmx posts the text and Bootstrap switches the tab.
(function () {
  "use strict";

  function change(textarea, start, end, text, selectFrom, selectTo) {
    textarea.focus();
    textarea.setRangeText(text, start, end, "end");
    textarea.setSelectionRange(start + selectFrom, start + selectTo);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // Wrap the selection (bold, link): the selected text, or the cursor between the marks.
  function wrap(textarea, before, after) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    var selected = textarea.value.slice(start, end);
    change(textarea, start, end, before + selected + after, before.length, before.length + selected.length);
  }

  // Put a prefix at the start of every line the selection touches (headings, lists).
  function prefixLines(textarea, prefix) {
    var value = textarea.value;
    var start = value.lastIndexOf("\n", textarea.selectionStart - 1) + 1;
    var end = value.indexOf("\n", textarea.selectionEnd);
    if (end === -1) { end = value.length; }
    var lines = value.slice(start, end).split("\n").map(function (line) { return prefix + line; });
    var text = lines.join("\n");
    change(textarea, start, end, text, text.length, text.length);
  }

  // Insert a block (a table) on lines of its own.
  function block(textarea, snippet) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    var value = textarea.value;
    var lead = start > 0 && value[start - 1] !== "\n" ? "\n\n" : (start > 1 && value[start - 2] !== "\n" ? "\n" : "");
    var text = lead + snippet + "\n";
    change(textarea, start, end, text, text.length, text.length);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-md-toolbar] button");
    if (!button) { return; }
    var toolbar = button.closest("[data-md-toolbar]");
    var textarea = document.getElementById(toolbar.getAttribute("data-md-for"));
    if (!textarea) { return; }
    if (button.hasAttribute("data-md-line")) {
      prefixLines(textarea, button.getAttribute("data-md-line"));
    } else if (button.hasAttribute("data-md-block")) {
      block(textarea, button.getAttribute("data-md-block"));
    } else {
      wrap(textarea, button.getAttribute("data-md-before") || "", button.getAttribute("data-md-after") || "");
    }
  });

  // The public-portal box: enabled only for the categories the portal shows (the server checks it too).
  function syncPublic(select) {
    var form = select.form;
    var box = form && form.querySelector("input[name=is_public]");
    if (!box) { return; }
    var allowed = (select.getAttribute("data-public-categories") || "").split(" ");
    var ok = allowed.indexOf(select.value) !== -1;
    box.disabled = !ok;
    if (!ok) { box.checked = false; }
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-public-categories]")) { syncPublic(event.target); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-public-categories]").forEach(syncPublic);
  });
}());
