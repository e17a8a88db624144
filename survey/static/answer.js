/* Feedback while an answer is on its way: the submit button says it is sending and a second
   tap sends nothing more. Optional: without this script the form works the same, and the
   server counts a form sent twice once. */
(function () {
  "use strict";
  var RETRY_AFTER_MS = 20000;  // a stalled connection: let the resident try again

  function reset(form) {
    var button = form.querySelector("button.submit");
    delete form.dataset.sending;
    if (button && button.dataset.idle) {
      button.textContent = button.dataset.idle;
      button.classList.remove("sending");
      button.removeAttribute("aria-disabled");
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("answer")) return;
    if (form.dataset.sending) { event.preventDefault(); return; }
    form.dataset.sending = "1";
    var button = form.querySelector("button.submit");
    if (button && button.dataset.sending) {
      button.dataset.idle = button.textContent;
      button.textContent = button.dataset.sending;
      button.classList.add("sending");
      button.setAttribute("aria-disabled", "true");
    }
    window.setTimeout(function () { reset(form); }, RETRY_AFTER_MS);
  });

  // back from the thank-you page (page cache): the form is ready again
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    var forms = document.querySelectorAll("form.answer");
    for (var i = 0; i < forms.length; i++) reset(forms[i]);
  });
})();
