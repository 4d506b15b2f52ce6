/* xdesk chat widget: plain JavaScript, no build step, served by the xdesk binary.
 *
 * Embed with one tag:
 *   <script src="https://support.example.com/widget.js" async
 *           data-token="<JWT your backend signs for the logged-in user, optional>"
 *           data-lang="zh"></script>
 *
 * The conversation survives page loads and reconnects: the widget keeps its visitor ID, the
 * chat's ticket and the last message sequence number in localStorage and resumes from there.
 */
(function () {
  "use strict";
  if (window.XdeskChat) return;
  var script = document.currentScript;
  var origin = new URL(script ? script.src : location.href).origin;
  var lang = ((script && script.dataset.lang) || navigator.language || "en").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  var token = script && script.dataset.token;
  var T = {
    en: { title: "Support", placeholder: "Type a message…", send: "Send", open: "Chat with support",
      offline: "No agent is online right now. We usually answer within {t}. Leave your message and we will reply here.",
      joined: "{n} joined the chat", left: "{n} left the chat", typing: "Support is typing…",
      you: "You", agent: "Support", system: "Notice", reconnecting: "Reconnecting…",
      shot: "Screenshot", uploadFailed: "The file could not be sent.",
      email: "Your email, for answers while you are away", emailSend: "Notify me", emailSaved: "We will also answer at {a}.",
      warn: "Support will never ask for your seed phrase, private keys or 2FA codes.",
      suggest: "These articles may already answer it:",
      rate: "How did we do? 1 = poor, 5 = excellent", comment: "Anything to add? (optional)", rateSend: "Send rating",
      rated: "Thank you for your rating.", code: "Authenticity code",
      wallet: "Sign in with your wallet (free, moves no funds)", walletFailed: "The wallet sign-in did not work.",
      freeze: "Lock my account", freezeConfirm: "Lock your account now? No sign-in and no withdrawal until support has checked it with you.",
      frozen: "Your account is locked. Support will contact you to check it with you.",
      known: "We know about this", statusPage: "Status page" },
    zh: { title: "在线客服", placeholder: "输入消息…", send: "发送", open: "联系客服",
      offline: "当前没有客服在线，我们通常会在 {t}内回复。请留言，我们会在这里回复您。",
      joined: "{n} 加入了对话", left: "{n} 离开了对话", typing: "客服正在输入…",
      you: "我", agent: "客服", system: "提示", reconnecting: "正在重新连接…",
      shot: "截图", uploadFailed: "文件发送失败。",
      email: "您的邮箱：您离开时我们会发邮件回复", emailSend: "邮件通知我", emailSaved: "我们也会回复到 {a}。",
      warn: "客服永远不会向您索要助记词、私钥或二次验证码。",
      suggest: "以下文章也许已经能解答：",
      rate: "请为本次服务打分：1 = 很差，5 = 很好", comment: "还有什么想说的？（可选）", rateSend: "提交评分",
      rated: "感谢您的评分。", code: "防伪码",
      wallet: "用钱包登录（免费，不会转移资产）", walletFailed: "钱包登录未成功。",
      freeze: "冻结我的账户", freezeConfirm: "立即冻结您的账户？在客服与您核实之前，账户无法登录也无法提币。",
      frozen: "您的账户已冻结。客服会联系您进行核实。",
      known: "我们已知晓此问题", statusPage: "状态页" }
  }[lang];
  var KEY = "xdesk-chat:" + origin;
  var state = {};
  try { state = JSON.parse(localStorage.getItem(KEY) || "{}"); } catch (e) { state = {}; }
  function save() { try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* private mode */ } }
  function el(tag, css, text) {
    var e = document.createElement(tag);
    if (css) e.style.cssText = css;
    if (text) e.textContent = text;
    return e;
  }

  var button = el("button", "position:fixed;right:20px;bottom:20px;z-index:2147483000;padding:12px 16px;border:0;border-radius:24px;background:#1f6feb;color:#fff;font:14px sans-serif;cursor:pointer", T.open);
  button.id = "xdesk-chat-launcher";
  button.setAttribute("aria-label", T.open);
  var panel = el("div", "position:fixed;right:20px;bottom:76px;z-index:2147483000;width:340px;max-width:calc(100vw - 40px);height:460px;max-height:calc(100vh - 100px);display:none;flex-direction:column;background:#fff;border:1px solid #d0d7de;border-radius:12px;box-shadow:0 8px 24px rgba(0,0,0,.2);font:14px sans-serif;color:#1f2328");
  panel.id = "xdesk-chat-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", T.title);
  var head = el("div", "padding:12px 14px;border-bottom:1px solid #d0d7de;font-weight:600", T.title);
  var note = el("div", "padding:6px 14px;font-size:12px;color:#9a6700;background:#fff8c5", T.warn);
  var queueBar = el("div", "display:none;padding:6px 14px;font-size:12px;color:#0550ae;background:#ddf4ff");
  queueBar.id = "xdesk-chat-queue";
  queueBar.setAttribute("aria-live", "polite");
  var lastReason = null;
  var list = el("div", "flex:1;overflow-y:auto;padding:10px 14px");
  list.setAttribute("aria-live", "polite");
  var typing = el("div", "padding:0 14px;height:18px;font-size:12px;color:#656d76");
  var form = el("form", "display:flex;gap:6px;padding:10px;border-top:1px solid #d0d7de");
  var input = el("textarea", "flex:1;resize:none;height:38px;padding:8px;border:1px solid #d0d7de;border-radius:6px;font:inherit");
  input.placeholder = T.placeholder;
  input.setAttribute("aria-label", T.placeholder);
  var send = el("button", "padding:0 14px;border:0;border-radius:6px;background:#1f6feb;color:#fff;cursor:pointer", T.send);
  send.type = "submit";
  form.appendChild(input); form.appendChild(send);
  var suggest = el("div", "padding:0 14px;font-size:13px;display:none");
  suggest.id = "xdesk-chat-suggest";
  /* Incidents under way, shown before the visitor writes: many need not write at all. */
  var notices = el("div", "display:none;max-height:40%;overflow-y:auto;padding:8px 14px;font-size:13px;background:#fff1e5;border-bottom:1px solid #ffd8b5");
  notices.id = "xdesk-chat-notices";
  notices.setAttribute("role", "status");
  var noticeIds = [], noticesReported = false;
  function showNotices(list) {
    notices.textContent = "";
    noticeIds = list.map(function (n) { return n.incident_id; });
    noticesReported = false;
    notices.style.display = list.length ? "block" : "none";
    list.forEach(function (n) {
      var box = el("div", "margin:2px 0 8px");
      box.className = "xdesk-notice";
      box.appendChild(el("div", "font-size:11px;color:#953800;text-transform:uppercase", T.known + " · " + n.status));
      box.appendChild(el("div", "font-weight:600", n.title));
      if (n.body) box.appendChild(el("div", "white-space:pre-wrap;margin-top:2px", n.body));
      var a = el("a", "font-size:12px;color:#0969da", T.statusPage + " →");
      a.href = n.url; a.target = "_blank"; a.rel = "noopener";
      box.appendChild(a);
      notices.appendChild(box);
    });
    reportNotices();
  }
  /* Counted once the visitor has the panel open with notices in it. */
  function reportNotices() {
    if (noticesReported || !noticeIds.length || panel.style.display === "none" || !ws || ws.readyState !== 1) return;
    noticesReported = true;
    ws.send(JSON.stringify({ type: "notices_seen", incidents: noticeIds }));
  }
  panel.appendChild(head); panel.appendChild(note); panel.appendChild(notices); panel.appendChild(queueBar); panel.appendChild(list); panel.appendChild(typing); panel.appendChild(suggest); panel.appendChild(form);

  /* Before the first message, help-center articles matching what the visitor types. */
  var suggestTimer = null;
  function showSuggestions(hits) {
    suggest.textContent = "";
    suggest.style.display = hits.length ? "block" : "none";
    if (!hits.length) return;
    suggest.appendChild(el("div", "color:#656d76;margin:4px 0", T.suggest));
    hits.forEach(function (h) {
      var a = el("a", "display:block;margin:2px 0;color:#0969da", h.title);
      a.href = origin + "/help/articles/" + encodeURIComponent(h.slug) + "?lang=" + encodeURIComponent(h.language);
      a.target = "_blank"; a.rel = "noopener";
      /* Counted: if no chat follows, the article answered the visitor. */
      a.addEventListener("click", function () {
        if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "suggestion_opened", slug: h.slug }));
      });
      suggest.appendChild(a);
    });
  }
  input.addEventListener("input", function () {
    clearTimeout(suggestTimer);
    var q = input.value.trim();
    if (state.ticket || q.length < 2) { showSuggestions([]); return; }
    suggestTimer = setTimeout(function () {
      fetch(origin + "/api/v1/kb/search?limit=3&lang=" + lang + "&q=" + encodeURIComponent(q))
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(showSuggestions, function () { showSuggestions([]); });
    }, 400);
  });

  var seen = {};
  function line(who, text, kind) {
    var row = el("div", "margin:6px 0;" + (kind === "customer" ? "text-align:right" : ""));
    var bubble = el("div", "display:inline-block;max-width:85%;padding:6px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word;text-align:left;" +
      (kind === "customer" ? "background:#ddf4ff" : kind === "info" ? "background:#f6f8fa;color:#656d76;font-size:12px" : "background:#f6f8fa"));
    if (who) bubble.appendChild(el("div", "font-size:11px;color:#656d76", who));
    bubble.appendChild(el("div", "", text));
    row.appendChild(bubble);
    list.appendChild(row);
    list.scrollTop = list.scrollHeight;
  }
  function auth() {
    return token ? "token=" + encodeURIComponent(token) : "visitor=" + encodeURIComponent(state.visitor || "");
  }
  function showMessage(m) {
    if (seen[m.seq]) return;
    seen[m.seq] = true;
    var who = m.author_kind === "customer" ? T.you : m.author_kind === "agent" ? T.agent : T.system;
    if (m.body) line(who, m.body, m.author_kind);
    if (m.verify_code && m.author_kind !== "customer") {
      /* Proof the message is from support: anyone can check the code on the help center. */
      var proof = el("a", "display:block;margin:-2px 0 6px;font-size:11px;color:#656d76", T.code + ": " + m.verify_code);
      proof.href = origin + "/verify?lang=" + lang + "&q=" + encodeURIComponent(m.verify_code);
      proof.target = "_blank"; proof.rel = "noopener"; proof.className = "xdesk-code";
      list.appendChild(proof);
    }
    (m.attachments || []).forEach(function (a) {
      var url = origin + "/api/v1/chat/attachments/" + a.id + "?" + auth();
      var row = el("div", "margin:6px 0;" + (m.author_kind === "customer" ? "text-align:right" : ""));
      if (a.content_type.indexOf("image/") === 0) {
        var img = el("img", "max-width:85%;border-radius:8px;border:1px solid #d0d7de");
        img.src = url; img.alt = a.filename;
        row.appendChild(img);
      } else {
        var link = el("a", "", a.filename);
        link.href = url; link.target = "_blank"; link.rel = "noopener";
        row.appendChild(link);
      }
      list.appendChild(row);
      list.scrollTop = list.scrollHeight;
    });
    if (m.notice === "survey" && !state.rated) askRating();
    if (m.seq > (state.lastSeq || 0)) { state.lastSeq = m.seq; save(); }
    if (panel.style.display !== "none") ws && ws.readyState === 1 && ws.send(JSON.stringify({ type: "read", seq: m.seq }));
  }

  var asked = false;
  function askEmail() {
    if (asked) return;
    asked = true;
    var f = el("form", "display:flex;gap:6px;margin:6px 0");
    var a = el("input", "flex:1;padding:6px;border:1px solid #d0d7de;border-radius:6px;font:inherit");
    a.type = "email"; a.placeholder = T.email; a.setAttribute("aria-label", T.email);
    var b = el("button", "padding:0 10px;border:0;border-radius:6px;background:#1f6feb;color:#fff;cursor:pointer", T.emailSend);
    b.type = "submit";
    f.appendChild(a); f.appendChild(b);
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      if (a.value && ws && ws.readyState === 1) { ws.send(JSON.stringify({ type: "email", address: a.value })); f.remove(); }
    });
    list.appendChild(f);
  }

  /* The satisfaction survey of a solved chat, answered here instead of through its link. */
  var rating = null;
  function askRating() {
    if (rating) return;
    rating = el("form", "margin:6px 0;padding:8px;border:1px solid #d0d7de;border-radius:8px");
    rating.id = "xdesk-chat-rating";
    rating.appendChild(el("div", "font-size:12px;margin-bottom:6px", T.rate));
    var chosen = 0, buttons = el("div", "display:flex;gap:4px;margin-bottom:6px");
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = el("button", "flex:1;padding:4px 0;border:1px solid #d0d7de;border-radius:6px;background:#fff;cursor:pointer", String(n));
      b.type = "button"; b.setAttribute("data-score", n); b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", function () {
        chosen = n;
        Array.prototype.forEach.call(buttons.children, function (o) {
          var on = o === b;
          o.setAttribute("aria-pressed", on ? "true" : "false");
          o.style.background = on ? "#1f6feb" : "#fff"; o.style.color = on ? "#fff" : "";
        });
      });
      buttons.appendChild(b);
    });
    var c = el("input", "width:100%;box-sizing:border-box;padding:6px;margin-bottom:6px;border:1px solid #d0d7de;border-radius:6px;font:inherit");
    c.placeholder = T.comment; c.setAttribute("aria-label", T.comment); c.maxLength = 2000;
    var s = el("button", "padding:4px 10px;border:0;border-radius:6px;background:#1f6feb;color:#fff;cursor:pointer", T.rateSend);
    s.type = "submit";
    rating.appendChild(buttons); rating.appendChild(c); rating.appendChild(s);
    rating.addEventListener("submit", function (e) {
      e.preventDefault();
      if (chosen && ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "survey", score: chosen, comment: c.value }));
    });
    list.appendChild(rating);
    list.scrollTop = list.scrollHeight;
  }

  var ws = null, retry = 500, typingTimer = null, lastTyping = 0;
  function connect() {
    var q = ["lang=" + lang];
    if (token) q.push("token=" + encodeURIComponent(token));
    if (state.visitor) q.push("visitor=" + encodeURIComponent(state.visitor));
    if (state.ticket) q.push("ticket=" + state.ticket + "&last_seq=" + (state.lastSeq || 0));
    ws = new WebSocket(origin.replace(/^http/, "ws") + "/api/v1/chat/customer?" + q.join("&"));
    ws.onopen = function () { retry = 500; };
    ws.onmessage = function (e) {
      var f;
      try { f = JSON.parse(e.data); } catch (err) { return; }
      if (f.type === "welcome") {
        if (f.visitor_id) state.visitor = f.visitor_id;
        if (!f.ticket) { state.ticket = null; state.lastSeq = 0; state.rated = false; }
        save();
      } else if (f.type === "notices") {
        showNotices(state.ticket ? [] : (f.notices || []));
      } else if (f.type === "offline") {
        line("", T.offline.replace("{t}", f.expected_response), "info");
        if (f.ask_email) askEmail();
      } else if (f.type === "queue") {
        queueBar.textContent = f.waiting ? f.text : "";
        queueBar.style.display = f.waiting ? "block" : "none";
        if (f.reason && f.reason !== lastReason) line("", f.reason, "info");
        lastReason = f.reason || null;
      } else if (f.type === "frozen") {
        line("", T.frozen, "info");
      } else if (f.type === "survey_saved") {
        state.rated = true; save();
        if (rating) { rating.remove(); }
        line("", T.rated, "info");
      } else if (f.type === "email_saved") {
        line("", T.emailSaved.replace("{a}", f.address), "info");
      } else if (f.type === "ticket") {
        state.ticket = f.ticket.id; state.rated = false; rating = null; save();
        showNotices([]);
        pending.splice(0).forEach(upload);
      } else if (f.type === "message") {
        showMessage(f.message);
      } else if (f.type === "typing" && f.who && f.who.kind === "agent") {
        typing.textContent = T.typing;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typing.textContent = ""; }, 4000);
      } else if (f.type === "agent_joined" || f.type === "agent_left") {
        line("", (f.type === "agent_joined" ? T.joined : T.left).replace("{n}", f.name), "info");
      } else if (f.type === "error") {
        line("", f.message, "info");
      }
    };
    ws.onclose = function () {
      typing.textContent = T.reconnecting;
      setTimeout(function () { typing.textContent = ""; connect(); }, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  /* A pasted screenshot: uploaded once the chat has its ticket (the first message opens it). */
  var pending = [];
  function upload(file) {
    fetch(origin + "/api/v1/chat/uploads?" + auth() + "&ticket=" + state.ticket +
      "&filename=" + encodeURIComponent(file.name || "screenshot.png"),
      { method: "POST", headers: { "Content-Type": file.type || "application/octet-stream" }, body: file })
      .then(function (r) { if (!r.ok) line("", T.uploadFailed, "info"); })
      .catch(function () { line("", T.uploadFailed, "info"); });
  }
  input.addEventListener("paste", function (e) {
    var items = (e.clipboardData && e.clipboardData.items) || [];
    for (var i = 0; i < items.length; i++) {
      if (items[i].kind === "file") {
        var f = items[i].getAsFile();
        if (!f) continue;
        e.preventDefault();
        if (state.ticket) { upload(f); } else {
          pending.push(f);
          if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "message", body: T.shot }));
        }
      }
    }
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var body = input.value.trim();
    if (!body || !ws || ws.readyState !== 1) return;
    ws.send(JSON.stringify({ type: "message", body: body }));
    input.value = "";
    showSuggestions([]);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); return; }
    var now = Date.now();
    if (ws && ws.readyState === 1 && now - lastTyping > 2000) {
      lastTyping = now;
      ws.send(JSON.stringify({ type: "typing" }));
    }
  });
  button.addEventListener("click", function () {
    var open = panel.style.display === "none";
    panel.style.display = open ? "flex" : "none";
    if (open) {
      input.focus();
      reportNotices();
      if (state.lastSeq && ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "read", seq: state.lastSeq }));
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && panel.style.display !== "none") { panel.style.display = "none"; button.focus(); }
  });

  /* DEX users have no account: their wallet signs the server's one-time challenge, and the
   * session it returns identifies the chat. */
  function hexOf(s) {
    return "0x" + Array.prototype.map.call(new TextEncoder().encode(s), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function signInWithWallet() {
    if (!window.ethereum) return Promise.reject(new Error("no wallet"));
    return window.ethereum.request({ method: "eth_requestAccounts" }).then(function (accounts) {
      var a = accounts[0];
      return fetch(origin + "/api/v1/wallet/challenge?chain=ethereum&address=" + encodeURIComponent(a))
        .then(function (r) { return r.json(); })
        .then(function (c) {
          return window.ethereum.request({ method: "personal_sign", params: [hexOf(c.message), a] }).then(function (sig) {
            return fetch(origin + "/api/v1/wallet/sign-in", { method: "POST", headers: { "Content-Type": "application/json" },
              body: JSON.stringify({ message: c.message, signature: sig, language: lang }) });
          });
        })
        .then(function (r) { if (!r.ok) throw new Error("refused"); return r.json(); })
        .then(function (s) { window.XdeskChat.identify(s.token); });
    });
  }
  /* A customer the exchange vouched for can lock their account from the chat, at any hour. */
  if (token) {
    var lock = el("button", "display:block;margin:0;padding:6px 14px;border:0;background:#ffebe9;color:#b42318;font-size:12px;text-align:left;cursor:pointer;width:100%", T.freeze);
    lock.type = "button";
    lock.id = "xdesk-chat-freeze";
    lock.addEventListener("click", function () {
      if (ws && ws.readyState === 1 && window.confirm(T.freezeConfirm)) ws.send(JSON.stringify({ type: "freeze" }));
    });
    panel.insertBefore(lock, list);
  }
  if (window.ethereum && !token) {
    var walletLink = el("button", "display:block;margin:0;padding:6px 14px;border:0;background:#f6f8fa;color:#0550ae;font-size:12px;text-align:left;cursor:pointer;width:100%", T.wallet);
    walletLink.type = "button";
    walletLink.id = "xdesk-chat-wallet";
    walletLink.addEventListener("click", function () {
      signInWithWallet().then(function () { walletLink.remove(); }).catch(function () { line("", T.walletFailed, "info"); });
    });
    panel.insertBefore(walletLink, list);
  }

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(button);
    connect();
  }
  window.XdeskChat = {
    /* Links the chat to a user after login: a fresh token signed by the exchange's backend. */
    identify: function (t) { token = t; state = {}; save(); if (ws) ws.close(); },
    open: function () { panel.style.display = "flex"; reportNotices(); },
    /* Signs a DEX user in with their Ethereum wallet (EIP-4361), then reconnects as them. */
    signInWithWallet: signInWithWallet
  };
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
