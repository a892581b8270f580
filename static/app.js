// Latchkey's small bit of behaviour on top of htmx. No inline scripts: the CSP forbids them.
// Everything here is an enhancement: every page works without JavaScript.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // Controls that only make sense with JavaScript are rendered hidden and shown here.
  function reveal(root) {
    root.querySelectorAll("[data-js-only], [data-select-all]").forEach(function (el) { el.hidden = false; });
  }
  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  // After htmx swaps a fragment in, keyboard focus goes to its message (the clicked button is gone):
  // the success notice, or the first field with an error.
  document.addEventListener("htmx:after:swap", function () {
    reveal(document);
    var target = document.querySelector("[data-focus-after-swap], .inline-role [aria-invalid=true]");
    if (target) { target.focus(); }
  });

  // Buttons or forms with data-confirm ask before submitting.
  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("click", function (event) {
    // Copy buttons: data-copy-target names the element whose value or text is copied.
    var copy = event.target.closest("[data-copy-target]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy-target"));
      if (!source) { return; }
      var text = (source.value !== undefined ? source.value : source.textContent).trim();
      var done = function () {
        var original = copy.textContent;
        copy.textContent = "Copied";
        setTimeout(function () { copy.textContent = original; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done);
      } else {
        source.select();
        document.execCommand("copy");
        done();
      }
      return;
    }
    // "Select all in group": checks every enabled box of the group, or clears them if all are checked.
    var selectAll = event.target.closest("[data-select-all]");
    if (selectAll) {
      var group = selectAll.closest(".permission-group");
      var boxes = Array.prototype.filter.call(group.querySelectorAll("input[type=checkbox]"), function (b) { return !b.disabled; });
      var allChecked = boxes.every(function (b) { return b.checked; });
      boxes.forEach(function (b) { b.checked = !allChecked; });
    }
  });

  // Search boxes that filter a list: data-filter-list names the list; items carry data-filter-text.
  document.addEventListener("input", function (event) {
    var input = event.target.closest("[data-filter-list]");
    if (!input) { return; }
    var list = document.getElementById(input.getAttribute("data-filter-list"));
    if (!list) { return; }
    var needle = input.value.trim().toLowerCase();
    list.querySelectorAll("[data-filter-text]").forEach(function (item) {
      item.hidden = needle !== "" && item.getAttribute("data-filter-text").toLowerCase().indexOf(needle) === -1;
    });
  });

  // Enter in the inline role sub-form creates the role (with htmx) instead of submitting the key form.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.closest(".inline-role-body input[type=text]")) { return; }
    var button = document.getElementById("create-inline-role");
    if (button && !button.closest("[hidden]")) {
      event.preventDefault();
      button.click();
    }
  });
})();
