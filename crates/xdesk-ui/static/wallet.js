/* Wallet sign-in on the portal: the browser's wallet (an EIP-1193 Ethereum provider, Phantom
 * for Solana, UniSat for Bitcoin) signs the server's one-time challenge; the portal checks the
 * signature and signs the customer in. No wallet in this browser: the buttons stay hidden. */
(function () {
  "use strict";
  var box = document.getElementById("wallet-sign-in");
  if (!box) return;
  var status = document.getElementById("wallet-status");
  var csrf = box.getAttribute("data-csrf");
  function say(t) { status.textContent = t; }
  function challenge(chain, address) {
    return fetch("/api/v1/wallet/challenge?chain=" + chain + "&address=" + encodeURIComponent(address))
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error && j.error.message); return j; }); });
  }
  function finish(message, signature) {
    var body = new URLSearchParams({ csrf: csrf, message: message, signature: signature });
    return fetch("/portal/wallet", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { if (r.ok) { location.href = "/portal"; } else { say(box.getAttribute("data-refused")); } });
  }
  function hex(s) {
    return "0x" + Array.prototype.map.call(new TextEncoder().encode(s), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var wallets = {
    ethereum: window.ethereum && function () {
      return window.ethereum.request({ method: "eth_requestAccounts" }).then(function (accounts) {
        var a = accounts[0];
        return challenge("ethereum", a).then(function (c) {
          return window.ethereum.request({ method: "personal_sign", params: [hex(c.message), a] })
            .then(function (sig) { return finish(c.message, sig); });
        });
      });
    },
    solana: window.solana && window.solana.signMessage && function () {
      return window.solana.connect().then(function (r) {
        var a = r.publicKey.toString();
        return challenge("solana", a).then(function (c) {
          return window.solana.signMessage(new TextEncoder().encode(c.message), "utf8").then(function (s) {
            var sig = btoa(String.fromCharCode.apply(null, s.signature));
            return finish(c.message, sig);
          });
        });
      });
    },
    bitcoin: window.unisat && function () {
      return window.unisat.requestAccounts().then(function (accounts) {
        var a = accounts[0];
        return challenge("bitcoin", a).then(function (c) {
          return window.unisat.signMessage(c.message, "bip322-simple").then(function (sig) { return finish(c.message, sig); });
        });
      });
    }
  };
  var any = false;
  Object.keys(wallets).forEach(function (k) {
    var b = box.querySelector("button[data-chain=" + k + "]");
    if (!b) return;
    if (!wallets[k]) { b.hidden = true; return; }
    any = true;
    b.addEventListener("click", function () {
      say(box.getAttribute("data-waiting"));
      wallets[k]().catch(function (e) { say((e && e.message) || box.getAttribute("data-refused")); });
    });
  });
  if (!any) say(box.getAttribute("data-none"));
})();
