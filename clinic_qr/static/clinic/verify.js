// The counter verification page: read the ID card through the reader agent on this PC; the
// server checks that the card read is the person's. Without the agent, staff check by eye.
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  function setup() {
    var form = $("confirm-verify");
    if (!form) { return; }
    var texts = JSON.parse($("verify-texts").textContent);
    var status = $("agent-status"), message = $("card-message");
    var agentUrl = status.getAttribute("data-agent-url");

    function tell(node, text, kind) { node.textContent = text; node.className = kind || ""; }

    function readCard() {
      tell(message, texts.reading, "");
      $("correlation-id").value = "";
      fetch(agentUrl + "/api/smartcard/read?readImageFlag=false", { cache: "no-store" })
        .then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (body) {
            if (r.status === 200 && body.correlationId) {
              $("correlation-id").value = body.correlationId;
              form.querySelector("input[name=card_check][value=card]").checked = true;
              tell(message, texts.readOk + " (" + [body.titleName, body.fname, body.lname]
                .filter(Boolean).join(" ") + ")", "notice");
              message.setAttribute("data-read", "ok");
            } else if (r.status === 500 && !body.messageTh) {
              tell(message, texts.noCard, "error");
            } else {
              tell(message, texts.readFailed + ": " + (body.messageTh || body.message || r.status),
                   "error");
            }
          });
        })
        .catch(function () { tell(status, texts.noAgent, "error"); });
    }

    $("read-card").addEventListener("click", readCard);
    fetch(agentUrl + "/api/smartcard/terminals", { cache: "no-store" }).then(function (r) {
      status.setAttribute("data-agent", r.ok ? "ready" : "no-reader");
      if (!r.ok) { tell(status, texts.noReader, "error"); }
    }).catch(function () {
      status.setAttribute("data-agent", "absent");
      tell(status, texts.noAgent, "error");
    });
  }

  document.addEventListener("DOMContentLoaded", setup);
}());
