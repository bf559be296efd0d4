// The counter display: fetch a fresh short-lived QR every refresh interval. When the server
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
    var left = Math.round((expiresAt - Date.now()) / 1000);
    if (left <= 0) {
      img.hidden = true;
      offline.hidden = false;
      countdown.textContent = "";
    } else {
      countdown.textContent = left + " s";
    }
  }

  document.getElementById("fullscreen").addEventListener("click", function () {
    if (document.documentElement.requestFullscreen) { document.documentElement.requestFullscreen(); }
  });
  setInterval(refresh, refreshMs);
  setInterval(tick, 1000);
  tick();
}());
