/* Keyboard shortcuts for the console: j/k move through the inbox, Enter or o opens, / searches,
   r replies, n writes an internal note, a assigns to me, s solves. Nothing here is needed for the
   pages to work; it only saves keystrokes. */
(function () {
  "use strict";
  function typing(e) {
    var t = e.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  var rows = function () { return Array.prototype.slice.call(document.querySelectorAll("tr[data-ticket]")); };
  var at = -1;
  function select(i) {
    var r = rows();
    if (!r.length) return;
    at = Math.max(0, Math.min(r.length - 1, i));
    r.forEach(function (row, k) { row.classList.toggle("selected", k === at); });
    r[at].querySelector("a").focus();
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    var reply = document.getElementById("reply-body");
    switch (e.key) {
      case "j": select(at + 1); break;
      case "k": select(at - 1); break;
      case "o": case "Enter":
        if (at >= 0 && rows()[at]) { rows()[at].querySelector("a").click(); } else { return; }
        break;
      case "/": var q = document.getElementById("q"); if (!q) return; q.focus(); break;
      case "r": if (!reply) return; document.getElementById("internal").checked = false; reply.focus(); break;
      case "n": if (!reply) return; document.getElementById("internal").checked = true; reply.focus(); break;
      case "a": var b = document.querySelector("[accesskey=a]"); if (!b) return; b.click(); break;
      case "s":
        var st = document.querySelector(".fields select[name=state]");
        if (!st) return; st.value = "solved"; st.form.submit(); break;
      default: return;
    }
    e.preventDefault();
  });
})();
