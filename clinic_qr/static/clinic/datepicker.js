// A small calendar for the clinic's date fields (input[data-date-picker]): Thai month names
// and Buddhist-era years on Thai pages, English and Common Era on English ones, filling the
// field day first (dd/mm/yyyy) as the server reads it (authencode.thaidate.parse_numeric_date).
// Written here because the pickers kept on npm show Common-Era years even in Thai (flatpickr,
// air-datepicker, vanillajs-datepicker) or need React (material-ui-thai-datepickers), and the
// clinic's pages load no bundle: plain files under the CSP's script-src 'self'.
// Without this script the field is a text box that takes the same typed dates.
(function () {
  "use strict";

  var TEXTS = {
    th: {
      months: ["มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
               "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม"],
      days: ["อา", "จ", "อ", "พ", "พฤ", "ศ", "ส"],
      open: "เลือกวันที่จากปฏิทิน", prevMonth: "เดือนก่อน", nextMonth: "เดือนถัดไป",
      prevYear: "ปีก่อน", nextYear: "ปีถัดไป", today: "วันนี้", offset: 543
    },
    en: {
      months: ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"],
      days: ["Su", "Mo", "Tu", "We", "Th", "Fr", "Sa"],
      open: "Pick a date from the calendar", prevMonth: "Previous month", nextMonth: "Next month",
      prevYear: "Previous year", nextYear: "Next year", today: "Today", offset: 0
    }
  };
  var t = TEXTS[document.documentElement.lang === "en" ? "en" : "th"];
  var openPicker = null;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // The field's date (dd/mm/yyyy with a BE or CE year, or ISO), or null.
  function parse(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
    var y, mo, d;
    if (m) { y = +m[1]; mo = +m[2]; d = +m[3]; } else {
      m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(text);
      if (!m) { return null; }
      d = +m[1]; mo = +m[2]; y = +m[3];
      if (y > 2400) { y -= 543; }
    }
    var date = new Date(y, mo - 1, d);
    return date.getMonth() === mo - 1 && date.getDate() === d ? date : null;
  }

  function format(date) {
    return pad(date.getDate()) + "/" + pad(date.getMonth() + 1) + "/" + (date.getFullYear() + t.offset);
  }

  function iso(date) {
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
  }

  function button(text, label, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    if (label) { b.setAttribute("aria-label", label); b.title = label; }
    b.addEventListener("click", onClick);
    return b;
  }

  // A calendar drawn as SVG (an emoji needs a font the clinic's PCs may not have).
  function calendarIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    [["rect", { x: 1.5, y: 3, width: 13, height: 11.5, rx: 1.5, fill: "none", stroke: "currentColor" }],
     ["rect", { x: 1.5, y: 3, width: 13, height: 3, fill: "currentColor" }],
     ["rect", { x: 4, y: 1, width: 1.5, height: 3.5, fill: "currentColor" }],
     ["rect", { x: 10.5, y: 1, width: 1.5, height: 3.5, fill: "currentColor" }],
     ["rect", { x: 4, y: 8.5, width: 2, height: 2, fill: "currentColor" }],
     ["rect", { x: 7, y: 8.5, width: 2, height: 2, fill: "currentColor" }],
     ["rect", { x: 10, y: 8.5, width: 2, height: 2, fill: "currentColor" }]].forEach(function (part) {
      var el = document.createElementNS(ns, part[0]);
      Object.keys(part[1]).forEach(function (k) { el.setAttribute(k, part[1][k]); });
      svg.append(el);
    });
    return svg;
  }

  function close() {
    if (openPicker) { openPicker.remove(); openPicker = null; }
  }

  function open(input, opener) {
    close();
    var chosen = parse(input.value.trim());
    var today = new Date();
    var shown = new Date((chosen || today).getFullYear(), (chosen || today).getMonth(), 1);
    var box = document.createElement("div");
    box.className = "datepicker";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", t.open);

    function move(months) {
      shown = new Date(shown.getFullYear(), shown.getMonth() + months, 1);
      draw();
    }

    function pick(date) {
      input.value = format(date);
      input.dispatchEvent(new Event("change", { bubbles: true }));
      close();
      input.focus();
    }

    function draw() {
      box.textContent = "";
      var head = document.createElement("div");
      head.className = "datepicker-head";
      var title = document.createElement("span");
      title.className = "datepicker-title";
      title.textContent = t.months[shown.getMonth()] + " " + (shown.getFullYear() + t.offset);
      head.append(
        button("«", t.prevYear, function () { move(-12); }),
        button("‹", t.prevMonth, function () { move(-1); }),
        title,
        button("›", t.nextMonth, function () { move(1); }),
        button("»", t.nextYear, function () { move(12); })
      );
      var grid = document.createElement("div");
      grid.className = "datepicker-grid";
      t.days.forEach(function (name) {
        var cell = document.createElement("span");
        cell.className = "datepicker-dow";
        cell.textContent = name;
        grid.append(cell);
      });
      for (var blank = 0; blank < shown.getDay(); blank++) { grid.append(document.createElement("span")); }
      var last = new Date(shown.getFullYear(), shown.getMonth() + 1, 0).getDate();
      for (var d = 1; d <= last; d++) {
        (function (date) {
          var b = button(String(date.getDate()), format(date), function () { pick(date); });
          b.dataset.day = iso(date);
          if (chosen && iso(chosen) === iso(date)) { b.setAttribute("aria-pressed", "true"); }
          if (iso(today) === iso(date)) { b.className = "today"; }
          grid.append(b);
        })(new Date(shown.getFullYear(), shown.getMonth(), d));
      }
      var foot = document.createElement("div");
      foot.append(button(t.today, null, function () { pick(today); }));
      box.append(head, grid, foot);
    }

    draw();
    // (the buttons are redrawn on each move: a click inside must not reach the closer below)
    box.addEventListener("click", function (event) { event.stopPropagation(); });
    opener.after(box);
    openPicker = box;
    var first = box.querySelector("[aria-pressed=true]") || box.querySelector(".today") ||
      box.querySelector(".datepicker-grid button");
    if (first) { first.focus(); }
  }

  function setup(input) {
    var opener = button("", t.open, function (event) {
      event.stopPropagation();
      if (openPicker && openPicker.previousElementSibling === opener) { close(); } else { open(input, opener); }
    });
    opener.className = "datepicker-open";
    opener.append(calendarIcon());
    input.after(opener);
  }

  document.addEventListener("click", close);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && openPicker) {
      var opener = openPicker.previousElementSibling;
      close();
      if (opener) { opener.focus(); }
    }
  });
  document.querySelectorAll("input[data-date-picker]").forEach(setup);
})();
