/* Desktop notifications, opt-in: a ticket given to this agent by someone else, a customer's
   reply on one of their tickets, alerts (money at risk, SLA promises) and, for supervisors,
   surges of new tickets about one thing. Nothing is asked of
   the browser until the agent clicks the button; the choice is kept in localStorage; a click on
   a notification brings the tab forward and opens the ticket.

   Messages come from the console's live socket: the server marks a queue's `changed` message
   with `notify` (`assigned`, `customer_reply`), `subject` and `version` only for the ticket's
   assignee and never for their own doing, and sends `alert` messages only to whom they concern.
   When console.js dispatches every live message as a `xdesk:live` event from a queue socket
   (and says so with `window.xdeskLiveQueue = true`), this listens to that; otherwise it opens a
   queue socket of its own while notifications are on. Labels come from this script's tag. */
(function () {
  "use strict";
  var tag = document.currentScript;
  if (!tag || !("Notification" in window)) return;
  var console_ = document.querySelector("[data-live-queue], [data-live-ticket], form[action='/console/logout']");
  if (!console_) return;
  var KEY = "xdesk.notify";
  var socket = null, retry = null, button = null, seen = {};

  function label(name) { return tag.getAttribute("data-" + name) || ""; }
  function wanted() {
    try { return localStorage.getItem(KEY) === "on"; } catch (_) { return false; }
  }
  function remember(on) {
    try { localStorage.setItem(KEY, on ? "on" : "off"); } catch (_) { /* private mode */ }
  }
  function on() { return wanted() && window.Notification.permission === "granted"; }

  /* Once per change: the same message may come from two sockets. */
  function show(key, ticketId, title, body) {
    var now = Date.now();
    Object.keys(seen).forEach(function (k) { if (now - seen[k] > 120000) delete seen[k]; });
    if (seen[key]) return;
    seen[key] = now;
    // The agent is looking at this very ticket: nothing to tell.
    if (document.visibilityState === "visible" && location.pathname === "/console/tickets/" + ticketId) return;
    var n = new window.Notification(title, { body: body || "", tag: "xdesk-" + ticketId, lang: document.documentElement.lang });
    n.onclick = function () {
      window.focus();
      if (n.close) n.close();
      // On the desk the ticket opens in its pane; elsewhere its page loads.
      if (window.xdesk && document.querySelector(".desk")) window.xdesk.openTicket(ticketId);
      else location.assign("/console/tickets/" + encodeURIComponent(ticketId));
    };
  }

  /* A surge (many new tickets about one thing, for supervisors): the click opens the page that
     starts an incident from it. */
  function surge(m) {
    var key = "surge:" + m.surge_id, now = Date.now();
    if (seen[key]) return;
    seen[key] = now;
    var zh = (document.documentElement.lang || "").indexOf("zh") === 0;
    var n = new window.Notification(label("surge"), {
      body: (zh ? m.summary_zh : m.summary_en) + " " + label("surge-start"),
      tag: "xdesk-surge-" + m.surge_id, lang: document.documentElement.lang
    });
    n.onclick = function () {
      window.focus();
      if (n.close) n.close();
      location.assign(m.link);
    };
  }

  function handle(m) {
    if (m && m.type === "surge" && m.link && on()) return surge(m);
    if (!m || !m.ticket_id || !on()) return;
    if (m.type === "changed" && (m.notify === "assigned" || m.notify === "customer_reply")) {
      show(m.notify + ":" + m.ticket_id + ":" + m.version, m.ticket_id, label("notify-" + m.notify), m.subject);
    } else if (m.type === "alert") {
      show("alert:" + m.ticket_id + ":" + m.kind + ":" + (m.clock || ""), m.ticket_id,
        label("alert-" + m.kind) || label("alert"), m.subject);
    }
  }

  function connect() {
    clearTimeout(retry);
    if (socket || window.xdeskLiveQueue || !on()) return;
    var s = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/console/live");
    socket = s;
    s.onopen = function () {
      if (button) button.setAttribute("data-notify-live", "");
      document.documentElement.setAttribute("data-live", "");
    };
    s.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (_) { return; }
      handle(m);
    };
    s.onclose = function (e) {
      if (socket !== s) return;
      socket = null;
      if (button) button.removeAttribute("data-notify-live");
      // 4401: the session ended; signing in again reloads the page anyway.
      if (e.code !== 4401) retry = setTimeout(connect, 5000);
    };
  }
  function disconnect() {
    clearTimeout(retry);
    var s = socket;
    socket = null;
    if (s) s.close();
    if (button) button.removeAttribute("data-notify-live");
  }

  function render() {
    var blocked = window.Notification.permission === "denied";
    button.textContent = label(on() ? "disable" : blocked ? "blocked" : "enable");
    button.setAttribute("aria-pressed", on() ? "true" : "false");
  }

  button = document.querySelector("[data-notify-toggle]");
  if (!button) {
    var host = document.querySelector("header.top nav") || document.querySelector("header.top");
    if (!host) return;
    button = document.createElement("button");
    button.type = "button";
    button.className = "link notify-toggle";
    button.setAttribute("data-notify-toggle", "");
    host.appendChild(button);
  }
  button.addEventListener("click", function () {
    if (on()) {
      remember(false);
      disconnect();
      render();
      return;
    }
    Promise.resolve(window.Notification.requestPermission()).then(function (p) {
      remember(p === "granted");
      render();
      connect();
    });
  });
  document.addEventListener("xdesk:live", function (e) { handle(e.detail); });
  render();
  connect();
})();
