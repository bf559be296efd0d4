// Ask once before an irreversible act: a form (or its submit button) with data-confirm="..."
// opens a dialog with that question; "Confirm" sends the form, "Back" leaves everything as it
// was. Without this script the form is sent at once (the server needs nothing from it).
(function () {
  "use strict";

  var en = document.documentElement.lang === "en";
  var dialog = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.id = "confirm-dialog";
    dialog.className = "confirm";
    var message = document.createElement("p");
    message.id = "confirm-message";
    var form = document.createElement("form");
    form.method = "dialog";
    var back = document.createElement("button");
    back.value = "cancel";
    back.id = "confirm-no";
    back.className = "secondary-button";
    back.textContent = en ? "Back" : "ย้อนกลับ";
    var yes = document.createElement("button");
    yes.value = "confirm";
    yes.id = "confirm-yes";
    yes.className = "danger";
    yes.textContent = en ? "Confirm" : "ยืนยัน";
    form.append(back, yes);
    dialog.append(message, form);
    document.body.append(dialog);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter || null;
    var question = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
    if (!question || form.dataset.confirmed === "1") { return; }
    event.preventDefault();
    if (!dialog) { build(); }
    dialog.querySelector("#confirm-message").textContent = question;
    dialog.returnValue = "";
    dialog.onclose = function () {
      if (dialog.returnValue !== "confirm") { return; }
      // requestSubmit fires "submit" at once: the flag lets that one through, and goes so a
      // page restored by the back button asks again.
      form.dataset.confirmed = "1";
      if (form.requestSubmit) { form.requestSubmit(submitter); } else { form.submit(); }
      delete form.dataset.confirmed;
    };
    dialog.showModal();
    dialog.querySelector("#confirm-no").focus();
  });
})();
