/* Rapport: the assessor's desk. The marking form works without JavaScript; this only shows the
 * override fields when "Override" is chosen, makes the reason required then, and asks before a
 * release (which cannot be undone).
 */
(function () {
  "use strict";

  document.querySelectorAll("fieldset.mark").forEach(function (fieldset) {
    var fields = fieldset.querySelector("[data-override-fields]");
    var radios = fieldset.querySelectorAll('input[type="radio"]');
    var reason = fieldset.querySelector("textarea");
    var score = fieldset.querySelector('input[type="number"]');

    function sync() {
      var override = fieldset.querySelector("input[data-override]:checked") !== null;
      fields.hidden = !override;
      if (reason) {
        reason.required = override;
      }
      if (score) {
        score.required = override;
      }
    }

    radios.forEach(function (radio) {
      radio.addEventListener("change", sync);
    });
    sync();
  });

  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.dataset.confirm)) {
        event.preventDefault();
      }
    });
  });

  // Coming back from "Add note", show the note's turn.
  if (window.location.hash.indexOf("#turn-") === 0) {
    var turn = document.getElementById(window.location.hash.slice(1));
    if (turn) {
      turn.classList.add("tturn--focus");
    }
  }
})();
