// The print button of a visit slip (inline scripts are not allowed by the page's CSP).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-slip");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
});
