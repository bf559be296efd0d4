// The unpaired kiosk: wait until a facility admin has typed this screen's pairing code,
// then load the kiosk's own screen.
(function () {
  "use strict";
  var main = document.getElementById("pairing");
  if (!main) { return; }
  var url = main.getAttribute("data-status-url");
  setInterval(function () {
    fetch(url, { cache: "no-store", credentials: "same-origin" }).then(function (r) {
      if (r.status === 200) { window.location.reload(); }
    }).catch(function () { /* the server comes back: keep asking */ });
  }, 3000);
})();
