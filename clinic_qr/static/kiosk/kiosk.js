// The kiosk screen: wait for a card in the reader agent on this PC (its NHSO-compatible
// local API), read it, ask the server (this kiosk's cookie) who it is, then one decision a
// screen: service, phone, code and printed slip. Pulling the card or leaving the screen
// alone goes back to the start and leaves nothing of the person in the page or storage.
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  var cfg = JSON.parse($("kiosk-config").textContent);
  var POLL_MS = 1000;
  var PULLED_RESET_MS = 8000;
  var PROBLEMS = {
    noAgent: ["เครื่องอ่านบัตรไม่พร้อมใช้งาน", "ตู้นี้ยังอ่านบัตรไม่ได้ในขณะนี้", true],
    unreadable: ["อ่านบัตรไม่ได้", "บัตรอาจชำรุด หรือเสียบบัตรไม่สุด ลองดึงบัตรออกแล้วเสียบใหม่อีกครั้ง", true],
    expired: ["บัตรประชาชนหมดอายุ", "ตู้นี้ใช้ได้กับบัตรประชาชนที่ยังไม่หมดอายุเท่านั้น", true],
    pulled: ["ท่านดึงบัตรออกแล้ว", "หากต้องการขอรหัส กรุณาเสียบบัตรใหม่อีกครั้ง", false],
    notFound: ["ไม่พบข้อมูลสิทธิของท่าน", "ไม่สามารถออกรหัสที่ตู้นี้ได้", true],
    deceased: ["ไม่สามารถออกรหัสด้วยบัตรนี้ได้", "ข้อมูลในทะเบียนไม่อนุญาตให้ออกรหัสที่ตู้", true],
    noServer: ["ระบบขัดข้องชั่วคราว", "ตู้ไม่สามารถติดต่อระบบได้ในขณะนี้", true],
    revoked: ["ตู้นี้ปิดให้บริการ", "ตู้นี้ถูกยกเลิกการใช้งานแล้ว", true],
    slow: ["ใช้เวลานานเกินไป", "กรุณาดึงบัตรออก แล้วเสียบบัตรใหม่อีกครั้ง", false],
    other: ["ไม่สามารถออกรหัสได้", "", true]
  };

  var current = "start";
  var visit = null;       // the person on screen now: pid, correlationId, claimType, phone
  var cardHandled = false; // the card in the reader has been read (or failed): wait for it out
  var idleTimer = null;
  var pulledTimer = null;
  var typed = "";
  var problemKind = null;

  function show(name) {
    var screens = document.querySelectorAll("section[data-screen]");
    for (var i = 0; i < screens.length; i++) { screens[i].hidden = screens[i].id !== "s-" + name; }
    current = name;
    document.body.setAttribute("data-screen", name);
    armIdle();
  }

  function armIdle() {
    if (idleTimer) { clearTimeout(idleTimer); idleTimer = null; }
    if (current !== "start") { idleTimer = setTimeout(reset, cfg.idleSeconds * 1000); }
  }

  function forget() {
    visit = null;
    typed = "";
    var personal = document.querySelectorAll("[data-personal]");
    for (var i = 0; i < personal.length; i++) {
      if (personal[i].tagName === "IMG") { personal[i].removeAttribute("src"); }
      else { personal[i].textContent = ""; }
    }
    $("keypad-error").textContent = "";
    try { window.localStorage.clear(); window.sessionStorage.clear(); } catch (e) { /* none */ }
  }

  function reset() {
    if (pulledTimer) { clearTimeout(pulledTimer); pulledTimer = null; }
    problemKind = null;
    forget();
    show("start");
  }

  function problem(kind, detail) {
    var p = PROBLEMS[kind] || PROBLEMS.other;
    forget();
    problemKind = kind;
    $("problem-title").textContent = p[0];
    $("problem-text").textContent = detail || p[1];
    $("problem-counter").hidden = !p[2];
    document.body.setAttribute("data-problem", kind);
    show("problem");
    if (kind === "pulled" || kind === "slow") {
      pulledTimer = setTimeout(reset, PULLED_RESET_MS);
    }
  }

  function agentCall(method, path) {
    return fetch(cfg.agentUrl + path, { method: method, cache: "no-store" }).then(answer);
  }

  function serverPost(url, body) {
    return fetch(url, {
      method: "POST",
      cache: "no-store",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(answer);
  }

  function answer(r) {
    return r.json().catch(function () { return {}; }).then(function (body) {
      return { status: r.status, body: body };
    });
  }

  // --- the card in the reader -------------------------------------------------------------

  function poll() {
    agentCall("GET", "/api/smartcard/terminals").then(function (a) {
      var readers = Array.isArray(a.body) ? a.body : [];
      if (a.status !== 200 || !readers.length) { agentDown(); return; }
      if (problemKind === "noAgent") { reset(); }
      var present = readers.some(function (t) { return t.isPresent; });
      document.body.setAttribute("data-card", present ? "present" : "absent");
      if (present && !cardHandled && current === "start") {
        cardHandled = true;
        readCard();
      } else if (!present && cardHandled) {
        cardHandled = false;
        cardOut();
      }
    }).catch(agentDown).then(function () { setTimeout(poll, POLL_MS); });
  }

  function agentDown() {
    document.body.removeAttribute("data-card");
    if (current === "start" || current === "reading") { problem("noAgent"); }
  }

  function cardOut() {
    if (["hello", "service", "phone", "keypad"].indexOf(current) >= 0) { problem("pulled"); }
    else if (current === "done" || (current === "problem" && problemKind !== "noAgent")) { reset(); }
  }

  function readCard() {
    show("reading");
    agentCall("GET", "/api/smartcard/read?readImageFlag=false").then(function (a) {
      if (a.status === 200 && a.body.pid && a.body.correlationId) { return startVisit(a.body); }
      return readFailed(a);
    }, function () { problem("noAgent"); });
  }

  function readFailed(a) {
    var message = String(a.body.message || "");
    if (a.status === 418) { return problem("noAgent"); }
    if (a.status === 404) { return problem("notFound"); }
    if (a.status === 503) { return problem("noServer"); }
    if (a.status === 500) {
      if (/expired/.test(message)) { return problem("expired"); }
      if (/removed|no card/.test(message)) { return problem("pulled"); }
      return problem("unreadable");
    }
    // The server refused the agent (its token revoked?) or failed: ask the server about us.
    return fetch(cfg.statusUrl, { cache: "no-store", credentials: "same-origin" })
      .then(answer)
      .then(function (s) { serverRefused(s, a.body.messageTh); }, function () { problem("noServer"); });
  }

  function serverRefused(a, detail) {
    var code = a.body && a.body.error ? a.body.error.code : "";
    if (code === "KIOSK_REVOKED" || code === "KIOSK_UNKNOWN" || code === "KIOSK_NOT_PAIRED") {
      return problem("revoked");
    }
    if (code === "PERSON_NOT_FOUND") { return problem("notFound"); }
    if (code === "PERSON_DECEASED") { return problem("deceased"); }
    if (code === "CORRELATION_EXPIRED" || code === "CORRELATION_USED") { return problem("slow"); }
    if (a.status >= 500 || a.status === 0) { return problem("noServer"); }
    return problem("other", (a.body.error && a.body.error.message_th) || detail || "");
  }

  function startVisit(card) {
    return serverPost(cfg.visitsUrl, { pid: card.pid, correlationId: card.correlationId })
      .then(function (a) {
        if (current !== "reading") { return; } // the card came out meanwhile
        if (a.status !== 200) { return serverRefused(a); }
        visit = {
          pid: card.pid,
          correlationId: card.correlationId,
          phoneMasked: a.body.phoneMasked,
          claimType: null
        };
        if (a.body.existing) { return done(a.body.existing, true); }
        $("hello-name").textContent = "สวัสดี " + (card.titleName || a.body.title || "") + " " +
          (String(card.fname || a.body.firstName || "").split(" ")[0]);
        $("right-main").textContent = a.body.mainRight || "";
        $("right-sub").textContent = a.body.subRight || "";
        show("hello");
      }, function () { problem("noServer"); });
  }

  // --- the decisions ------------------------------------------------------------------------

  function chooseService(code) {
    if (!visit) { return reset(); }
    visit.claimType = code;
    if (visit.phoneMasked) {
      $("phone-masked").textContent = visit.phoneMasked;
      show("phone");
    } else {
      openKeypad();
    }
  }

  function openKeypad() {
    typed = "";
    showTyped();
    show("keypad");
  }

  function showTyped() {
    var t = typed;
    $("typed").textContent = t.length > 6 ? t.slice(0, 3) + " " + t.slice(3, 6) + " " + t.slice(6)
      : t.length > 3 ? t.slice(0, 3) + " " + t.slice(3) : t;
    var ok = /^0[689]\d{8}$/.test(typed);
    $("keypad-ok").disabled = !ok;
    $("keypad-error").textContent = typed.length === 10 && !ok
      ? "เบอร์มือถือต้องขึ้นต้นด้วย 06 08 หรือ 09" : "";
  }

  function issue(mobile) {
    if (!visit || !visit.claimType) { return reset(); }
    var body = { pid: visit.pid, correlationId: visit.correlationId, claimType: visit.claimType };
    if (mobile) { body.mobile = mobile; }
    show("working");
    serverPost(cfg.codesUrl, body).then(function (a) {
      if (a.status === 200) { return done(a.body, false); }
      var code = a.body && a.body.error ? a.body.error.code : "";
      if (/^PHONE_/.test(code) || code === "KIOSK_PHONE_NONE") {
        openKeypad();
        $("keypad-error").textContent = a.body.error.message_th;
        return;
      }
      return serverRefused(a);
    }, function () { problem("noServer"); });
  }

  function done(slip, already) {
    $("done-title").textContent = already ? "วันนี้ท่านได้รับรหัสแล้ว" : "รหัสเข้ารับบริการของท่าน";
    $("done-code").textContent = slip.code;
    $("done-qr").src = slip.qr;
    $("done-service").textContent = slip.service;
    $("slip-facility").textContent = slip.facility;
    $("slip-code").textContent = slip.code;
    $("slip-qr").src = slip.qr;
    $("slip-service").textContent = "บริการ: " + slip.service;
    $("slip-date").textContent = "วันที่ " + slip.date + " เวลา " + slip.time + " น.";
    $("slip-cid").textContent = "บัตรประชาชน " + slip.maskedCid;
    visit = null; // nothing more to ask: the read is used
    show("done");
    printSlip();
  }

  function printSlip() {
    // Chromium in kiosk mode with --kiosk-printing prints without a dialog.
    setTimeout(function () { if (current === "done") { window.print(); } }, 300);
  }

  // --- wiring -------------------------------------------------------------------------------

  function setup() {
    var box = $("service-buttons");
    cfg.services.forEach(function (s) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "big";
      b.setAttribute("data-service", s.code);
      b.textContent = s.name;
      b.addEventListener("click", function () { chooseService(s.code); });
      box.appendChild(b);
    });
    $("hello-next").addEventListener("click", function () { show("service"); });
    $("phone-yes").addEventListener("click", function () { issue(null); });
    $("phone-no").addEventListener("click", openKeypad);
    $("keypad").addEventListener("click", function (e) {
      var digit = e.target.getAttribute && e.target.getAttribute("data-digit");
      if (digit && typed.length < 10) { typed += digit; showTyped(); }
    });
    $("key-back").addEventListener("click", function () { typed = typed.slice(0, -1); showTyped(); });
    $("keypad-ok").addEventListener("click", function () { issue(typed); });
    $("print-again").addEventListener("click", printSlip);
    var resets = document.querySelectorAll("[data-action=reset]");
    for (var i = 0; i < resets.length; i++) { resets[i].addEventListener("click", reset); }
    ["pointerdown", "touchstart", "keydown"].forEach(function (type) {
      document.addEventListener(type, armIdle, { passive: true });
    });
    reset();
    poll();
  }

  setup();
})();
