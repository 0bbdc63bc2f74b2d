// 免登: inside the DingTalk client the JSAPI gives a one-time code; outside it, the QR login link.
(function () {
  "use strict";
  var hint = document.getElementById("mianden-hint");
  var dd = window.dd;
  if (!hint || !dd) { return; }
  var corpId = hint.getAttribute("data-corp") || "";
  var clientId = hint.getAttribute("data-client") || "";
  function signIn(code) {
    fetch(hint.getAttribute("data-url"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: code }),
      credentials: "same-origin"
    }).then(function (r) { return r.json(); }).then(function (body) {
      // a page that asked for the login (the 签到 page) comes back to itself
      var back = hint.getAttribute("data-next");
      if (body.ok) { window.location = back || body.next; } else { hint.textContent = body.message; }
    });
  }
  function failed() { hint.textContent = "钉钉免登失败，请使用扫码登录。"; }
  if (typeof dd.requestAuthCode === "function") {  // current JSAPI
    dd.requestAuthCode({
      corpId: corpId, clientId: clientId,
      success: function (res) { signIn(res.code || res.authCode); }, fail: failed
    });
  } else if (dd.runtime && dd.runtime.permission) {  // older clients
    dd.ready(function () {
      dd.runtime.permission.requestAuthCode({
        corpId: corpId, onSuccess: function (res) { signIn(res.code); }, onFail: failed
      });
    });
  }
})();
