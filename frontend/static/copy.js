// Copy buttons for one-time links: a button with data-copy="ID" copies the text of #ID.
// The buttons are hidden in the markup, so without script (or clipboard) nothing is shown.
(function () {
  "use strict";
  if (!navigator.clipboard) return;
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var status = button.nextElementSibling;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        if (status) status.textContent = "Copied.";
      }, function () {
        if (status) status.textContent = "Could not copy: select the link and copy it.";
      });
    });
  });
})();
