// The counter display: fetch a fresh short-lived QR every refresh interval (data-refresh, the
// "every N seconds" the page says) and count down to the next one. Each QR stays valid a
// while longer (data-expires) so a scan just before the change still works; when the server
// cannot be reached, the QR is hidden once it expires, so a stale code is never shown.
(function () {
  "use strict";
  var section = document.getElementById("display");
  if (!section) { return; }
  var img = document.getElementById("qr");
  var countdown = document.getElementById("countdown");
  var offline = document.getElementById("offline");
  var url = section.getAttribute("data-url");
  var refreshMs = parseInt(section.getAttribute("data-refresh"), 10) * 1000;
  var expiresAt = Date.parse(section.getAttribute("data-expires"));
  var template = countdown.getAttribute("data-template");
  var nextAt = Date.now() + refreshMs;

  function show(data) {
    img.src = "data:image/svg+xml;base64," + window.btoa(data.svg);
    img.hidden = false;
    offline.hidden = true;
    expiresAt = Date.parse(data.expiresAt);
    section.setAttribute("data-expires", data.expiresAt);
  }

  function refresh() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(show)
      .catch(function () { /* keep the current QR until it expires */ });
  }

  function tick() {
    var now = Date.now();
    if (now >= nextAt) {
      nextAt = now + refreshMs;
      refresh();
    }
    if (expiresAt <= now) {
      img.hidden = true;
      offline.hidden = false;
    }
    countdown.textContent = template.replace("{s}", String(Math.ceil((nextAt - now) / 1000)));
  }

  document.getElementById("fullscreen").addEventListener("click", function () {
    if (document.documentElement.requestFullscreen) { document.documentElement.requestFullscreen(); }
  });
  setInterval(tick, 1000);
  tick();
}());
