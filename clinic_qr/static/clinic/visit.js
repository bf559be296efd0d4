// The counter page: show the fields of the chosen way, talk to the reader agent on this PC
// (the NHSO-compatible local API), and take the patient's photo with the webcam.
// Without this script the form still works: every field shows and a photo file is uploaded.
(function () {
  "use strict";

  // One calendar per language: Thai months and the Buddhist era, or English and the Common Era.
  var ENGLISH = document.documentElement.lang === "en";
  var MONTHS = ENGLISH
    ? ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    : ["ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."];
  var POLL_MS = 3000;

  function $(id) { return document.getElementById(id); }

  function maskCid(cid) {
    if (!/^\d{13}$/.test(cid)) { return "x-xxxx-xxxxx-xx-x"; }
    return cid[0] + "-" + cid.slice(1, 5) + "-xxxxx-" + cid.slice(10, 12) + "-" + cid[12];
  }

  // The card's birth date is Buddhist-era YYYYMMDD, with 00 for an unknown month or day.
  function cardDate(raw) {
    var m = /^(\d{4})(\d{2})(\d{2})$/.exec(raw || "");
    if (!m) { return raw || ""; }
    var month = parseInt(m[2], 10), day = parseInt(m[3], 10);
    var parts = [];
    if (day) { parts.push(String(day)); }
    if (month >= 1 && month <= 12) { parts.push(MONTHS[month - 1]); }
    parts.push(ENGLISH ? String(parseInt(m[1], 10) - 543) : m[1]);
    return parts.join(" ");
  }

  function setup() {
    var form = $("confirm");
    var status = $("agent-status");
    if (!form || !status) { return; }
    var texts = JSON.parse($("visit-texts").textContent);
    var agentUrl = status.getAttribute("data-agent-url");
    var cidInput = $("visit-cid");
    var correlation = $("correlation-id");
    var panels = form.querySelectorAll("fieldset[data-method]");
    var pollTimer = null;

    function method() {
      var checked = form.querySelector("input[name=method]:checked");
      return checked ? checked.value : "";
    }

    function agentGet(path) {
      return fetch(agentUrl + path, { method: "GET", cache: "no-store" }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          return { status: r.status, body: body };
        });
      });
    }

    var message = $("card-message");

    function say(text, kind) {
      status.textContent = text;
      status.className = kind || "";
    }

    function tell(text, kind) {
      message.textContent = text;
      message.className = kind || "";
    }

    function pollReader() {
      agentGet("/api/smartcard/terminals").then(function (answer) {
        var readers = Array.isArray(answer.body) ? answer.body : [];
        if (answer.status !== 200 || !readers.length) { say(texts.noReader, "error"); return; }
        var withCard = readers.filter(function (t) { return t.isPresent; });
        var shown = withCard.length ? withCard[0] : readers[0];
        status.setAttribute("data-reader", shown.terminalName);
        status.setAttribute("data-card", withCard.length ? "present" : "absent");
        say(shown.terminalName + " · " + (withCard.length ? texts.cardIn : texts.cardOut), "");
      }).catch(function () {
        status.removeAttribute("data-reader");
        say(texts.noAgent, "error");
      });
    }

    function showCard(card) {
      $("card-name").textContent = [card.titleName, card.fname, card.lname]
        .filter(Boolean).join(" ");
      $("card-cid").textContent = maskCid(card.pid || "");
      $("card-birth").textContent = cardDate(card.birthDate);
      $("card-right").textContent = card.mainInscl || "";
      var photo = $("card-photo");
      if (card.image) {
        photo.src = "data:image/jpeg;base64," + card.image;
        photo.hidden = false;
      } else {
        photo.removeAttribute("src");
        photo.hidden = true;
      }
      $("card-details").hidden = false;
    }

    function readCard() {
      tell(texts.reading, "");
      correlation.value = "";
      cidInput.readOnly = false;
      $("card-details").hidden = true;
      agentGet("/api/smartcard/read?readImageFlag=true").then(function (answer) {
        var body = answer.body || {};
        if (answer.status === 200 && body.pid) {
          cidInput.value = body.pid;
          cidInput.readOnly = true;
          correlation.value = body.correlationId || "";
          showCard(body);
          tell(texts.readOk, "notice");
        } else if (answer.status === 418) {
          tell(texts.noReader, "error");
        } else if (answer.status === 500 && !body.messageTh) {
          tell(texts.noCard, "error");
        } else {
          tell(texts.readFailed + ": " + (body.messageTh || body.message || answer.status),
              "error");
        }
      }).catch(function () { tell(texts.noAgent, "error"); });
    }

    function showPanels() {
      var chosen = method();
      panels.forEach(function (panel) {
        var ways = panel.getAttribute("data-method").split(" ");
        panel.hidden = ways.indexOf(chosen) < 0;
      });
      cidInput.readOnly = chosen === "smartcard" && !!correlation.value;
      if (chosen !== "smartcard") { correlation.value = ""; }
      if (chosen === "smartcard") {
        pollReader();
        if (pollTimer === null) { pollTimer = window.setInterval(pollReader, POLL_MS); }
      } else if (pollTimer !== null) {
        window.clearInterval(pollTimer);
        pollTimer = null;
      }
    }

    form.querySelectorAll("input[name=method]").forEach(function (radio) {
      radio.addEventListener("change", showPanels);
    });
    $("read-card").addEventListener("click", readCard);
    // A CID typed by hand no longer matches the card read.
    cidInput.addEventListener("input", function () { correlation.value = ""; });
    setupCamera(texts);
    showPanels();
  }

  function setupCamera(texts) {
    var open = $("camera-open"), shoot = $("camera-shoot"), video = $("camera-video");
    var box = $("camera"), file = $("photo-file"), preview = $("photo-preview");
    var stream = null;
    if (!open) { return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia ||
        typeof DataTransfer === "undefined") {
      open.hidden = true;  // the file input (with capture) is the way on this browser
      return;
    }

    function stop() {
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
      stream = null;
      box.hidden = true;
      box.removeAttribute("data-ready");
    }

    open.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 }, audio: false })
        .then(function (s) {
          stream = s;
          shoot.disabled = true;
          video.onloadedmetadata = function () {
            shoot.disabled = false;
            box.setAttribute("data-ready", "true");
          };
          video.srcObject = s;
          box.hidden = false;
        })
        .catch(function () { window.alert(texts.cameraFailed); });
    });

    shoot.addEventListener("click", function () {
      if (!stream || !video.videoWidth) { return; }
      var canvas = document.createElement("canvas");
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      canvas.toBlob(function (blob) {
        if (!blob) { return; }
        var photo = new File([blob], "webcam.jpg", { type: "image/jpeg" });
        var transfer = new DataTransfer();
        transfer.items.add(photo);
        file.files = transfer.files;
        if (preview.src) { URL.revokeObjectURL(preview.src); }
        preview.src = URL.createObjectURL(blob);
        preview.hidden = false;
        preview.setAttribute("data-taken", "webcam");
        preview.title = texts.photoTaken;
        stop();
      }, "image/jpeg", 0.85);
    });

    file.addEventListener("change", function () {
      if (preview.getAttribute("data-taken") === "webcam" && file.files.length &&
          file.files[0].name !== "webcam.jpg") {
        preview.hidden = true;
        preview.removeAttribute("data-taken");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", setup);
}());
