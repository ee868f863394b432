// Copy buttons: a progressive enhancement. Without JavaScript the buttons stay
// hidden and the text stays selectable in its read-only field.
"use strict";
(function () {
  if (!navigator.clipboard || !window.isSecureContext) {
    return;
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var container = button.closest(".copy-field");
    var status = container ? container.querySelector(".copy-status") : null;
    if (!field) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = "value" in field ? field.value : field.textContent;
      navigator.clipboard.writeText(text.trim()).then(
        function () {
          if (status) { status.textContent = status.dataset.copied || "Copied."; }
        },
        function () {
          if (field.select) { field.select(); }
          if (status) {
            status.textContent = status.dataset.failed || "Could not copy: select the text and copy it by hand.";
          }
        }
      );
    });
  });
})();
