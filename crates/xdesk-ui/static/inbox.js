/* The inbox's selection and bulk bar: click a row's box, Shift+click another to take the range
   between, x toggles the current row, the header box takes the whole page. The bar's change is
   sent without leaving the page; its outcome shows above the list, which then reloads. The
   selection and the bar's choices survive the list's live refresh. Without this script the
   boxes and the bar still work as a plain form. */
(function () {
  "use strict";
  var picked = {}, anchor = null, bar = {};
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var boxes = function () { return Array.prototype.slice.call(document.querySelectorAll("#list input[name=ids]")); };
  function typing(e) {
    var t = e.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) && t.type !== "checkbox");
  }
  function show() {
    var all = boxes(), n = 0;
    all.forEach(function (b) {
      b.checked = !!picked[b.value];
      if (b.checked) n++;
      b.closest("tr").classList.toggle("picked", b.checked);
    });
    var head = $("#list [data-select-all]");
    if (head) { head.checked = n > 0 && n === all.length; head.indeterminate = n > 0 && n < all.length; }
    var out = $("#list [data-bulk-count]");
    if (out) {
      if (!out.hasAttribute("data-none")) out.setAttribute("data-none", out.textContent);
      out.textContent = n ? out.getAttribute("data-count").replace("{}", n) : out.getAttribute("data-none");
    }
  }
  function set(b, on) { if (on) { picked[b.value] = true; } else { delete picked[b.value]; } }
  document.addEventListener("click", function (e) {
    var b = e.target;
    if (!b.matches) return;
    if (b.matches("#list [data-select-all]")) {
      boxes().forEach(function (x) { set(x, b.checked); });
      show();
    } else if (b.matches("#list input[name=ids]")) {
      var all = boxes(), i = all.indexOf(b), j = anchor === null ? -1 : all.indexOf(anchor);
      if (e.shiftKey && j >= 0) {
        all.slice(Math.min(i, j), Math.max(i, j) + 1).forEach(function (x) { set(x, b.checked); });
      } else {
        set(b, b.checked);
      }
      anchor = b;
      show();
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "x" || e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    var a = document.activeElement, row = (a && a.closest && a.closest("tr[data-ticket]")) || $("#list tr.selected");
    var b = row && $("input[name=ids]", row);
    if (!b) return;
    set(b, !picked[b.value]);
    anchor = b;
    show();
    e.preventDefault();
  });
  /* The bar's choices, kept by name while the list is swapped under them. */
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.closest && t.closest("#list .bulk") && t.name) bar[t.name] = t.value;
  });
  function restore() {
    Object.keys(bar).forEach(function (k) {
      var el = $("#list .bulk [name=" + k + "]");
      if (el) el.value = bar[k];
    });
    boxes().forEach(function (b) { if (anchor && anchor.value === b.value) anchor = b; });
    show();
  }
  document.addEventListener("xdesk:refreshed", restore);
  function reload() {
    return fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var next = new DOMParser().parseFromString(html, "text/html").querySelector("#list"), now = $("#list");
        if (next && now) now.replaceWith(next);
        document.dispatchEvent(new CustomEvent("xdesk:refreshed"));
      });
  }
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.id !== "bulk" || !window.fetch || !window.FormData) return;
    e.preventDefault();
    var data = new FormData(form, e.submitter || null);
    fetch(form.action, { method: "POST", credentials: "same-origin", body: new URLSearchParams(data) })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var result = doc.querySelector("#bulk-result") || doc.querySelector("main");
        picked = {};
        anchor = null;
        return reload().then(function () {
          var status = $("#bulk-status");
          if (!status || !result) return;
          status.textContent = "";
          Array.prototype.slice.call(result.children).forEach(function (c) {
            if (c.tagName !== "H1" && !c.classList.contains("back")) status.appendChild(document.importNode(c, true));
          });
        });
      });
  });
  restore();
})();
