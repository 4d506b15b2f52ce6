/* Keyboard shortcuts for the console: j/k move through the inbox (j on a ticket opens the next
   one), Enter or o opens, / searches,
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
  // The live list was swapped in: keep the row the agent had selected.
  document.addEventListener("xdesk:refreshed", function () {
    rows().forEach(function (row, k) { row.classList.toggle("selected", k === at); });
  });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    var reply = document.getElementById("reply-body");
    switch (e.key) {
      case "j":
        var next = document.getElementById("next-ticket");
        if (!rows().length && next) { next.click(); break; }
        select(at + 1); break;
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

/* Live updates over /console/live: a queue reloads its list and counts when a ticket it may
   show changes; a ticket page reloads its timeline and shows which other agents have the ticket
   open or are typing, so two agents do not answer the same customer. Without the socket the
   pages still work; they only stop updating themselves. */
(function () {
  "use strict";
  var queue = document.querySelector("[data-live-queue]");
  var page = document.querySelector("[data-live-ticket]");
  if (!queue && !page) return;
  var ticket = page ? page.getAttribute("data-live-ticket") : null;
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
    "/console/live" + (ticket ? "?ticket=" + encodeURIComponent(ticket) : "");
  var socket = null, pending = null, lastTyping = 0, others = {};

  function refresh() {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      fetch(location.href, { credentials: "same-origin" }).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var swap = function (sel) {
          var now = document.querySelector(sel), next = doc.querySelector(sel);
          if (now && next) now.replaceWith(next);
        };
        if (queue) {
          swap("#list");
          doc.querySelectorAll(".count[data-view]").forEach(function (c) {
            var mine = document.querySelector('.count[data-view="' + c.getAttribute("data-view") + '"]');
            if (mine) mine.textContent = c.textContent;
          });
        } else {
          swap("#meta");
          swap("#timeline");
          var v = doc.querySelector("input[name=version]");
          if (v) document.querySelectorAll("input[name=version]").forEach(function (i) { i.value = v.value; });
        }
        document.dispatchEvent(new CustomEvent("xdesk:refreshed"));
      });
    }, 400);
  }

  function showPresence() {
    var el = document.getElementById("presence");
    if (!el) return;
    var now = Date.now(), lines = [], typing = false;
    Object.keys(others).forEach(function (id) {
      var o = others[id];
      if (o.until < now) { delete others[id]; return; }
      var isTyping = o.typingUntil > now;
      typing = typing || isTyping;
      lines.push(el.getAttribute(isTyping ? "data-typing" : "data-viewing").replace("{}", o.name));
    });
    el.textContent = lines.join(" · ");
    el.hidden = lines.length === 0;
    el.classList.toggle("typing", typing);
  }

  function send(kind, extra) {
    var frame = { type: kind };
    if (extra) Object.keys(extra).forEach(function (k) { frame[k] = extra[k]; });
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(frame));
  }

  /* Chats: what the customer is doing, and telling them what this agent has read. */
  var chat = document.getElementById("chat-state"), typingTimer = null;
  function chatStatus(kind) {
    var el = document.getElementById("chat-status");
    if (!chat || !el) return;
    el.textContent = chat.getAttribute(kind === "customer_typing" ? "data-typing" : "data-read");
    clearTimeout(typingTimer);
    if (kind === "customer_typing") typingTimer = setTimeout(function () { el.textContent = ""; }, 6000);
  }
  function markRead() {
    var bar = document.getElementById("chat-state");
    if (bar) send("read", { seq: parseInt(bar.getAttribute("data-seq"), 10) || 0 });
  }
  document.addEventListener("xdesk:refreshed", function () {
    var next = document.querySelector("#timeline");
    if (!chat || !next) return;
    var seqs = Array.prototype.map.call(next.querySelectorAll("[data-seq]"), function (e) { return parseInt(e.getAttribute("data-seq"), 10) || 0; });
    if (seqs.length) chat.setAttribute("data-seq", Math.max.apply(null, seqs));
    markRead();
  });

  /* Someone must act (money at risk, an SLA promise due or broken): a banner that links to the
     ticket and stays until dismissed. The labels come from the page, in its language. */
  function showAlert(m) {
    var host = document.querySelector("[data-live-queue]");
    if (!host) return;
    var box = document.getElementById("alerts");
    if (!box) {
      box = document.createElement("div");
      box.id = "alerts";
      box.setAttribute("role", "alert");
      host.insertBefore(box, host.firstChild);
    }
    var row = document.createElement("div");
    row.className = "alert " + m.kind;
    var a = document.createElement("a");
    a.href = "/console/tickets/" + m.ticket_id;
    a.textContent = (host.getAttribute("data-alert-" + m.kind) || m.kind) + ": " + m.subject;
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", host.getAttribute("data-alert-dismiss") || "Dismiss");
    close.addEventListener("click", function () { row.remove(); });
    row.appendChild(a);
    row.appendChild(close);
    box.appendChild(row);
  }

  function connect() {
    socket = new WebSocket(url);
    socket.onopen = function () { markRead(); };
    socket.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (_) { return; }
      if (m.type === "changed") refresh();
      if (m.type === "alert") showAlert(m);
      if (m.type === "customer_typing" || m.type === "customer_read") chatStatus(m.type);
      if (m.type === "presence") {
        var now = Date.now();
        if (m.doing === "left") { delete others[m.agent_id]; }
        else {
          // Someone new: tell them at once that this agent is here too.
          if (!others[m.agent_id]) send("viewing");
          var o = others[m.agent_id] || { name: m.name, typingUntil: 0 };
          o.name = m.name;
          o.until = now + 25000;
          if (m.doing === "typing") o.typingUntil = now + 6000;
          others[m.agent_id] = o;
        }
        showPresence();
      }
    };
    socket.onclose = function () {
      socket = null;
      setTimeout(function () { connect(); refresh(); }, 3000);
    };
  }
  connect();
  if (page) {
    setInterval(function () { send("viewing"); showPresence(); }, 10000);
    var box = document.getElementById("reply-body");
    if (box) box.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping > 3000) { lastTyping = now; send("typing"); }
    });
  }
})();

/* "Insert link" beside a suggested article: puts its title and address into the reply. */
document.addEventListener("click", function (e) {
  var b = e.target.closest ? e.target.closest(".insert-link") : null;
  var box = document.getElementById("reply-body");
  if (!b || !box) return;
  box.value += (box.value && !/\n$/.test(box.value) ? "\n" : "") + b.getAttribute("data-title") + ": " + b.getAttribute("data-url") + "\n";
  box.focus();
});
