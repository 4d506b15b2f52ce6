/* The agent's desk: views, the ticket list and the open conversation on one screen. Moving
   between tickets (a click, j / k, "next", the browser's back button) swaps the conversation
   pane without loading a page; forms in the pane (properties, reply, note, macros) are sent in
   the background and the pane redrawn from the server's answer. Solving shows an undo for a few
   seconds before it is sent. Live updates come over /console/live. Without this script every
   page and form still works, one page load at a time. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var desk = document.querySelector(".desk");
  var PANE = { "X-Xdesk-Pane": "1" };
  var UNDO_MS = 6000;
  var TICKET = /^\/console\/tickets\/(\d+)$/;
  /* The desk fills the window under the header, whose height depends on how its links wrap. */
  function fit() {
    var top = document.querySelector("header.top");
    if (top) document.documentElement.style.setProperty("--top", top.offsetHeight + "px");
  }
  fit();
  if (window.ResizeObserver && document.querySelector("header.top")) {
    new ResizeObserver(fit).observe(document.querySelector("header.top"));
  } else {
    window.addEventListener("resize", fit);
  }

  function $(sel, root) { return (root || document).querySelector(sel); }
  function label(name, arg) {
    var v = (desk && desk.getAttribute("data-" + name)) || name;
    return arg === undefined ? v : v.replace("{}", arg);
  }
  function typing(e) {
    var t = e.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  function parse(html) { return new DOMParser().parseFromString(html, "text/html"); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#list tr[data-ticket]")); }
  function openId() {
    var p = $("#pane[data-live-ticket]");
    return p ? p.getAttribute("data-live-ticket") : null;
  }
  function inboxUrl() {
    try { return sessionStorage.getItem("xdesk:inbox") || "/console"; } catch (_) { return "/console"; }
  }
  if (location.pathname === "/console") {
    try { sessionStorage.setItem("xdesk:inbox", location.pathname + location.search); } catch (_) { /* private mode */ }
  }

  /* The address bar follows the pane; so do the language links, which come back to it. */
  function syncBack() {
    document.querySelectorAll("a[href^='/ui/lang/']").forEach(function (a) {
      var u = new URL(a.href, location.href);
      u.searchParams.set("back", location.pathname + location.search);
      a.href = u.pathname + u.search;
    });
  }
  function push_(path) {
    history.pushState({}, "", path);
    syncBack();
  }
  window.addEventListener("popstate", syncBack);

  /* Toasts: short news in a corner, above the page, so nothing on it moves. */
  function toasts() {
    var box = document.getElementById("toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "toasts";
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    return box;
  }
  function toast(text, opts) {
    opts = opts || {};
    var t = document.createElement("div");
    t.className = "toast" + (opts.error ? " error" : "");
    t.setAttribute("role", opts.error ? "alert" : "status");
    var span = document.createElement("span");
    span.textContent = text;
    t.appendChild(span);
    if (opts.action) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "undo";
      b.textContent = opts.action.label;
      b.addEventListener("click", function () { t.remove(); opts.action.run(); });
      t.appendChild(b);
    }
    toasts().appendChild(t);
    setTimeout(function () { t.remove(); }, opts.ms || 3000);
    return t;
  }
  /* What an error page says, for a toast. */
  function errorText(html) {
    var doc = parse(html);
    var m = doc.querySelector("[role=alert], .error, main p");
    return (m && m.textContent.trim()) || "";
  }

  /* The list and the views, when the page came with a conversation only. */
  var placeholder = null;
  var at = -1;
  function markRow() {
    var id = openId();
    rows().forEach(function (r, k) {
      var open = r.getAttribute("data-ticket") === id;
      r.classList.toggle("open", open);
      if (open) {
        at = k;
        // Opened: read now (the server has marked it).
        r.classList.remove("unread");
        var dot = r.querySelector(".dot");
        if (dot) dot.remove();
      }
    });
  }
  function fillList(doc) {
    var checked = {};
    document.querySelectorAll("#list tr[data-ticket] input[type=checkbox]:checked").forEach(function (c) {
      checked[c.closest("tr").getAttribute("data-ticket")] = true;
    });
    ["#views", "#list"].forEach(function (sel) {
      var now = $(sel), next = doc.querySelector(sel);
      if (now && next && (sel === "#list" || !now.firstElementChild)) now.replaceWith(next);
    });
    doc.querySelectorAll(".count[data-view]").forEach(function (c) {
      var mine = document.querySelector('.count[data-view="' + c.getAttribute("data-view") + '"]');
      if (mine) mine.textContent = c.textContent;
    });
    document.querySelectorAll("#list tr[data-ticket]").forEach(function (r) {
      var c = r.querySelector("input[type=checkbox]");
      if (c && checked[r.getAttribute("data-ticket")]) c.checked = true;
    });
    var empty = doc.querySelector("#pane.empty");
    if (empty) placeholder = empty;
    markRow();
    document.dispatchEvent(new CustomEvent("xdesk:refreshed"));
  }
  var listing = null;
  function refreshList() {
    if (!desk || listing) return;
    listing = setTimeout(function () {
      fetch(location.pathname === "/console" ? location.href : inboxUrl(), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { listing = null; if (html) fillList(parse(html)); })
        .catch(function () { listing = null; });
    }, 300);
  }
  if (desk && $("#list") && !$("#list").firstElementChild) refreshList();

  /* The conversation pane. A draft follows its ticket while the agent looks at others. */
  function saveDraft() {
    var id = openId(), box = $("#reply-body");
    if (!id || !box) return;
    try {
      if (box.value.trim()) sessionStorage.setItem("xdesk:draft:" + id, box.value);
      else sessionStorage.removeItem("xdesk:draft:" + id);
    } catch (_) { /* private mode */ }
  }
  function restoreDraft() {
    var id = openId(), box = $("#reply-body");
    if (!id || !box || box.value) return;
    try { box.value = sessionStorage.getItem("xdesk:draft:" + id) || ""; } catch (_) { /* private mode */ }
  }
  function dropDraft(id) { try { sessionStorage.removeItem("xdesk:draft:" + id); } catch (_) { /* private mode */ } }

  /* Puts a pane from the server in place. `keep` keeps the reply form being written (same
     ticket, after a property change or a live update). */
  function showPane(doc, keep) {
    var next = doc.querySelector("#pane");
    var now = $("#pane");
    if (!next || !now) return false;
    var same = next.getAttribute("data-live-ticket") === openId();
    if (!same) saveDraft();
    if (same && keep) {
      var form = $("#reply");
      var fresh = next.querySelector("#reply");
      if (form && fresh) fresh.replaceWith(form);
      var active = document.activeElement;
      if (active && active.closest && active.closest("#props")) {
        var oldProps = $("#props"), newProps = next.querySelector("#props");
        if (oldProps && newProps) {
          newProps.replaceWith(oldProps);
          var v = newProps.querySelector("input[name=version]");
          if (v) oldProps.querySelector("input[name=version]").value = v.value;
        }
      }
    }
    now.replaceWith(next);
    if (desk) desk.classList.toggle("has-pane", next.hasAttribute("data-live-ticket"));
    if (next.hasAttribute("data-title")) document.title = next.getAttribute("data-title");
    if (window.htmx) window.htmx.process(next);
    if (!same) restoreDraft();
    markRow();
    document.dispatchEvent(new CustomEvent("xdesk:pane", { detail: { ticket: openId(), same: same } }));
    return true;
  }
  function closePane(push) {
    var now = $("#pane");
    if (!now || !desk) return;
    saveDraft();
    var empty = placeholder ? placeholder.cloneNode(true) : document.createElement("section");
    empty.id = "pane";
    empty.className = "pane empty";
    now.replaceWith(empty);
    desk.classList.remove("has-pane");
    markRow();
    if (push) push_(inboxUrl());
    document.dispatchEvent(new CustomEvent("xdesk:pane", { detail: { ticket: null } }));
    var r = rows().filter(function (row) { return row.classList.contains("selected"); })[0];
    if (r) r.querySelector("a").focus();
  }

  /* Asks the server and shows what it answers: a ticket's pane (pushed to the history unless
     `push` is false), or the list when it sends the agent back to it. */
  function answered(r, push, keep) {
    return r.text().then(function (html) {
      var path = new URL(r.url).pathname, doc = parse(html);
      if (!r.ok) {
        if (doc.querySelector("#pane") && TICKET.test(path)) { showPane(doc, keep); return false; }
        toast(label("failed", errorText(html) || r.status), { error: true, ms: 6000 });
        return false;
      }
      if (TICKET.test(path) && doc.querySelector("#pane")) {
        var changed = TICKET.exec(path)[1] !== openId();
        showPane(doc, keep);
        if (push && changed) push_(path);
        return true;
      }
      if (path === "/console") {
        closePane(push);
        refreshList();
        return true;
      }
      if (r.redirected) location.assign(r.url);
      return true;
    });
  }
  function go(url, push) {
    if (!desk) { location.assign(url); return Promise.resolve(false); }
    return fetch(url, { headers: PANE, credentials: "same-origin" })
      .then(function (r) { return answered(r, push, false); })
      .catch(function () { location.assign(url); });
  }
  function openTicket(id) { return go("/console/tickets/" + id, true); }
  window.addEventListener("popstate", function () {
    if (!desk) return;
    if (TICKET.test(location.pathname)) go(location.pathname, false);
    else if (location.pathname === "/console") closePane(false);
  });

  /* Links to tickets open in the pane; "back" goes to the list. */
  document.addEventListener("click", function (e) {
    if (!desk || e.defaultPrevented || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    var a = e.target.closest ? e.target.closest("a[href]") : null;
    if (!a || a.target || !desk.contains(a)) return;
    var url = new URL(a.href, location.href);
    if (url.origin !== location.origin) return;
    if (a.hasAttribute("data-back")) { e.preventDefault(); closePane(true); return; }
    if (TICKET.test(url.pathname) || url.pathname === "/console/next") {
      e.preventDefault();
      go(url.pathname + url.search, true);
    }
  });

  /* Forms in the pane are sent in the background; the pane shows the result. */
  var pendingSolve = null;
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!desk || !form.closest || !form.closest("#pane") || form.method.toLowerCase() !== "post") return;
    if (form.hasAttribute("hx-post")) return;
    var action = new URL(form.action, location.href);
    if (action.origin !== location.origin || action.pathname.indexOf("/console/tickets/") !== 0) return;
    e.preventDefault();
    var data = new FormData(form, e.submitter || undefined);
    var id = openId();
    var isReply = form.id === "reply";
    var solveAfter = isReply && data.get("then") === "solved";
    if (solveAfter) data.delete("then");
    var was = form.querySelector("select[name=state] option[selected]");
    if (form.id === "props" && data.get("state") === "solved" && was && was.value !== "solved") {
      solveLater(id);
      return;
    }
    var body = form.enctype === "multipart/form-data" ? data : new URLSearchParams(data);
    form.classList.add("busy");
    fetch(action.pathname, { method: "POST", body: body, headers: PANE, credentials: "same-origin" })
      .then(function (r) { return answered(r, true, !isReply); })
      .then(function (ok) {
        form.classList.remove("busy");
        if (!ok) return;
        if (isReply) { dropDraft(id); toast(label("sent")); }
        else if (form.id === "props") toast(label("saved"));
        if (solveAfter) solveLater(id);
      })
      .catch(function () { form.classList.remove("busy"); form.submit(); });
  });

  /* Properties save as they change. */
  document.addEventListener("change", function (e) {
    var form = e.target.form;
    if (!form || form.id !== "props" || e.target.name === "tags") return;
    form.requestSubmit();
  });

  /* Solving waits a few seconds with an undo; the survey leaves only once it is sent. */
  function solveLater(id) {
    commitSolve();
    var props = $("#props");
    if (!props || !id) return;
    var number = ($("#pane .num") || {}).textContent || "";
    var s = { id: id, url: props.getAttribute("action"), csrf: props.querySelector("[name=csrf]").value };
    s.timer = setTimeout(commitSolve, UNDO_MS);
    s.toast = toast(label("solved", number), {
      ms: UNDO_MS,
      action: { label: label("undo"), run: function () {
        clearTimeout(s.timer);
        pendingSolve = null;
        var sel = $("#props select[name=state]");
        if (sel && openId() === id) sel.value = sel.getAttribute("data-was") || sel.value;
        toast(label("undone"));
      } }
    });
    var sel = $("#props select[name=state]");
    if (sel) { sel.setAttribute("data-was", sel.querySelector("option[selected]") ? sel.querySelector("option[selected]").value : sel.value); sel.value = "solved"; }
    pendingSolve = s;
  }
  /* Sends a pending solve now, from the ticket's latest version. */
  function commitSolve() {
    var s = pendingSolve;
    if (!s) return;
    pendingSolve = null;
    clearTimeout(s.timer);
    if (s.toast) s.toast.remove();
    fetch("/console/tickets/" + s.id, { headers: PANE, credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var v = parse(html).querySelector("#props input[name=version]");
        var body = new URLSearchParams({ csrf: s.csrf, version: v ? v.value : "0", state: "solved" });
        return fetch(s.url, { method: "POST", body: body, headers: PANE, credentials: "same-origin" });
      })
      .then(function (r) {
        if (openId() === s.id) return answered(r, false, true);
        if (!r.ok) r.text().then(function (h) { toast(label("failed", errorText(h)), { error: true }); });
        refreshList();
      });
  }
  /* Leaving the page does not cancel a solve the agent did not undo. */
  window.addEventListener("pagehide", function () {
    var s = pendingSolve;
    if (!s || !navigator.sendBeacon) return;
    pendingSolve = null;
    var v = $("#pane[data-live-ticket='" + s.id + "'] #props input[name=version]");
    navigator.sendBeacon(s.url, new URLSearchParams({ csrf: s.csrf, version: v ? v.value : "0", state: "solved" }));
  });

  /* A macro's text, filled in for this ticket, lands in the reply box to be read and edited;
     what it will also do is shown beside it. */
  document.addEventListener("change", function (e) {
    if (e.target.id !== "macro-pick") return;
    var pick = e.target, box = $("#reply-body"), info = $("#macro-actions");
    if (!pick.value) { if (info) info.textContent = ""; return; }
    fetch(pick.getAttribute("data-preview") + pick.value, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (m) {
        if (!m || !box) return;
        box.value = box.value.trim() ? box.value.replace(/\s*$/, "\n\n") + m.body : m.body;
        if (info) info.textContent = m.actions;
        box.focus();
      });
  });

  /* Keyboard. */
  function select(i, open) {
    var r = rows();
    if (!r.length) return false;
    at = Math.max(0, Math.min(r.length - 1, i));
    r.forEach(function (row, k) { row.classList.toggle("selected", k === at); });
    var link = r[at].querySelector("a[href^='/console/tickets/']") || r[at].querySelector("a");
    link.focus({ preventScroll: true });
    r[at].scrollIntoView({ block: "nearest" });
    if (open) openTicket(r[at].getAttribute("data-ticket"));
    return true;
  }
  /* Where the open ticket is in the list. Once it has left the list (solved, sent on), the row
     that took its place is the next one. */
  function position(step) {
    var r = rows(), id = openId();
    for (var k = 0; k < r.length; k++) if (r[k].getAttribute("data-ticket") === id) return k + step;
    return step > 0 ? at : at - 1;
  }
  document.addEventListener("xdesk:refreshed", function () {
    rows().forEach(function (row, k) { row.classList.toggle("selected", k === at); });
  });
  document.addEventListener("keydown", function (e) {
    var box = $("#reply-body");
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && e.target.form && e.target.form.id === "reply") {
      e.preventDefault();
      e.target.form.requestSubmit($("#send"));
      return;
    }
    // Esc leaves a text box, so the keys work again.
    if (e.key === "Escape" && typing(e)) { e.target.blur(); return; }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    var paneOpen = !!openId() && rows().length > 0;
    switch (e.key) {
      case "j":
        if (paneOpen) { select(position(1), true); break; }
        if (!rows().length) { var next = $("#next-ticket"); if (!next) return; next.click(); break; }
        select(at + 1, false); break;
      case "k":
        if (paneOpen) { select(position(-1), true); break; }
        select(at - 1, false); break;
      case "o": case "Enter":
        if (at >= 0 && rows()[at]) { openTicket(rows()[at].getAttribute("data-ticket")); } else { return; }
        break;
      case "Escape": if (!openId() || !desk) return; closePane(true); break;
      case "/": var q = $("#q"); if (!q) return; q.focus(); break;
      case "r": if (!box) return; $("#mode-reply").checked = true; box.focus(); break;
      case "n": if (!box) return; $("#internal").checked = true; box.focus(); break;
      case "a": var b = $("[accesskey=a]"); if (!b || b.tagName !== "BUTTON") return; b.click(); break;
      case "s": if (!openId()) return; solveLater(openId()); break;
      default: return;
    }
    e.preventDefault();
  });
  document.addEventListener("xdesk:pane", function (e) {
    if (e.detail && e.detail.ticket && !e.detail.same) {
      var t = $("#pane .conversation");
      if (t) t.scrollTop = 0;
    }
  });

  /* "Insert link" beside a suggested article: its title and address go into the reply. */
  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest(".insert-link") : null;
    var box = $("#reply-body");
    if (!b || !box) return;
    box.value += (box.value && !/\n$/.test(box.value) ? "\n" : "") + b.getAttribute("data-title") + ": " + b.getAttribute("data-url") + "\n";
    box.focus();
  });

  window.xdesk = { openTicket: openTicket, refreshList: refreshList, showPane: showPane, toast: toast };
})();

/* Live updates over /console/live: the queue socket hears of changes to tickets the agent may
   see (the list and its counts reload) and of alerts; the ticket socket follows the open
   ticket: new messages, and which other agents have it open or are typing, so two agents do not
   answer the same customer. */
(function () {
  "use strict";
  var queue = document.querySelector("[data-live-queue]");
  if (!queue && !document.querySelector("[data-live-ticket]")) return;
  var base = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/console/live";
  var lastTyping = 0, others = {};

  function openId() {
    var p = document.querySelector("#pane[data-live-ticket]");
    return p ? p.getAttribute("data-live-ticket") : null;
  }

  function refreshPane() {
    var id = openId();
    if (!id) return;
    fetch("/console/tickets/" + id, { headers: { "X-Xdesk-Pane": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html || openId() !== id) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        ["#timeline", "#meta", "#promises"].forEach(function (sel) {
          var now = document.querySelector(sel), next = doc.querySelector(sel);
          if (now && next) now.replaceWith(next);
        });
        var props = document.querySelector("#props"), fresh = doc.querySelector("#props");
        if (props && fresh && !props.contains(document.activeElement)) props.replaceWith(fresh);
        var v = doc.querySelector("input[name=version]");
        if (v) document.querySelectorAll("#pane input[name=version]").forEach(function (i) { i.value = v.value; });
        document.dispatchEvent(new CustomEvent("xdesk:refreshed"));
      });
  }
  var pending = null;
  function soon(fn) {
    if (pending) return;
    pending = setTimeout(function () { pending = null; fn(); }, 400);
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

  /* Someone must act (money at risk, an SLA promise due or broken): a banner over the page
     (never pushing the list down) that links to the ticket and stays until dismissed. */
  function showAlert(m) {
    var host = document.querySelector("[data-live-queue]");
    if (!host) return;
    var box = document.getElementById("alerts");
    if (!box) {
      box = document.createElement("div");
      box.id = "alerts";
      box.setAttribute("role", "alert");
      document.body.appendChild(box);
    }
    var row = document.createElement("div");
    row.className = "alert " + m.kind;
    var a = document.createElement("a");
    a.href = m.link || "/console/tickets/" + m.ticket_id;
    a.textContent = (host.getAttribute("data-alert-" + m.kind) || m.kind) + ": " + m.subject;
    a.addEventListener("click", function (e) {
      if (!m.link && window.xdesk && document.querySelector(".desk")) { e.preventDefault(); window.xdesk.openTicket(m.ticket_id); }
    });
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", host.getAttribute("data-alert-dismiss") || "Dismiss");
    close.addEventListener("click", function () { row.remove(); });
    row.appendChild(a);
    row.appendChild(close);
    box.appendChild(row);
  }

  /* A surge (many new tickets about one thing; only supervisors hear of it): its summary in
     the page's language and a link that starts an incident from its tickets. */
  function showSurge(m) {
    var host = document.querySelector("[data-live-queue]");
    if (!host || !m.link) return;
    var zh = (document.documentElement.lang || "").indexOf("zh") === 0;
    showAlert({ kind: "surge", link: m.link,
      subject: (zh ? m.summary_zh : m.summary_en) + ". " + (host.getAttribute("data-surge-start") || "") });
  }

  function dispatch(m) {
    document.dispatchEvent(new CustomEvent("xdesk:live", { detail: m }));
  }

  /* One socket for the queues (its messages also go out as `xdesk:live` events), one for the
     open ticket (re-opened when the pane changes). */
  function connect(ticket, onMessage) {
    var s = { socket: null, closed: false };
    function open() {
      if (s.closed) return;
      var ws = new WebSocket(base + (ticket ? "?ticket=" + encodeURIComponent(ticket) : ""));
      s.socket = ws;
      ws.onopen = function () { if (s.onopen) s.onopen(); };
      ws.onmessage = function (e) {
        var m;
        try { m = JSON.parse(e.data); } catch (_) { return; }
        onMessage(m, s);
      };
      ws.onclose = function () {
        s.socket = null;
        if (!s.closed) setTimeout(function () { open(); if (s.onreconnect) s.onreconnect(); }, 3000);
      };
    }
    s.send = function (kind, extra) {
      var frame = { type: kind };
      if (extra) Object.keys(extra).forEach(function (k) { frame[k] = extra[k]; });
      if (s.socket && s.socket.readyState === 1) s.socket.send(JSON.stringify(frame));
    };
    s.close = function () { s.closed = true; if (s.socket) s.socket.close(); };
    open();
    return s;
  }

  if (queue) {
    // notify.js listens to this socket's messages instead of opening its own.
    window.xdeskLiveQueue = true;
    var q = connect(null, function (m) {
      if (m.type === "changed") {
        if (window.xdesk) window.xdesk.refreshList();
      }
      if (m.type === "alert") showAlert(m);
      if (m.type === "surge") showSurge(m);
      dispatch(m);
    });
    q.onreconnect = function () { if (window.xdesk) window.xdesk.refreshList(); };
    // Says the page is listening (tests wait for it before making news).
    q.onopen = function () { document.documentElement.setAttribute("data-live", ""); };
  }

  /* Chats: what the customer is doing, and telling them what this agent has read. */
  var typingTimer = null;
  function chatStatus(kind) {
    var chat = document.getElementById("chat-state"), el = document.getElementById("chat-status");
    if (!chat || !el) return;
    el.textContent = chat.getAttribute(kind === "customer_typing" ? "data-typing" : "data-read");
    clearTimeout(typingTimer);
    if (kind === "customer_typing") typingTimer = setTimeout(function () { el.textContent = ""; }, 6000);
  }
  var current = null, currentId = null;
  function markRead() {
    var bar = document.getElementById("chat-state");
    if (bar && current) current.send("read", { seq: parseInt(bar.getAttribute("data-seq"), 10) || 0 });
  }
  function follow() {
    var id = openId();
    if (id === currentId) return;
    if (current) current.close();
    others = {};
    currentId = id;
    current = null;
    if (!id) return;
    current = connect(id, function (m, s) {
      if (m.type === "changed") soon(refreshPane);
      if (m.type === "customer_typing" || m.type === "customer_read") chatStatus(m.type);
      if (m.type === "presence") {
        var now = Date.now();
        if (m.doing === "left") { delete others[m.agent_id]; }
        else {
          // Someone new: tell them at once that this agent is here too.
          if (!others[m.agent_id]) s.send("viewing");
          var o = others[m.agent_id] || { name: m.name, typingUntil: 0 };
          o.name = m.name;
          o.until = now + 25000;
          if (m.doing === "typing") o.typingUntil = now + 6000;
          others[m.agent_id] = o;
        }
        showPresence();
      }
    });
    current.onopen = markRead;
    current.onreconnect = refreshPane;
  }
  follow();
  document.addEventListener("xdesk:pane", follow);
  document.addEventListener("xdesk:refreshed", function () {
    var chat = document.getElementById("chat-state"), next = document.querySelector("#timeline");
    if (!chat || !next) return;
    var seqs = Array.prototype.map.call(next.querySelectorAll("[data-seq]"), function (e) { return parseInt(e.getAttribute("data-seq"), 10) || 0; });
    if (seqs.length) chat.setAttribute("data-seq", Math.max.apply(null, seqs));
    markRead();
  });
  setInterval(function () { if (current) current.send("viewing"); showPresence(); }, 10000);
  document.addEventListener("input", function (e) {
    if (e.target.id !== "reply-body" || !current) return;
    var now = Date.now();
    if (now - lastTyping > 3000) { lastTyping = now; current.send("typing"); }
  });
})();
