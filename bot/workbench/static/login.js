// 免登: inside the DingTalk client the JSAPI gives an authCode; outside it, the QR login link.
(function () {
  "use strict";
  var hint = document.getElementById("mianden-hint");
  if (!hint || !window.dd || !window.dd.runtime) { return; }
  window.dd.ready(function () {
    window.dd.runtime.permission.requestAuthCode({
      corpId: hint.getAttribute("data-corp") || "",
      onSuccess: function (result) {
        fetch(hint.getAttribute("data-url"), {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ code: result.code }),
          credentials: "same-origin"
        }).then(function (r) { return r.json(); }).then(function (body) {
          if (body.ok) { window.location = body.next; } else { hint.textContent = body.message; }
        });
      },
      onFail: function () { hint.textContent = "钉钉免登失败，请使用扫码登录。"; }
    });
  });
})();
