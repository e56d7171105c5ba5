/* Rapport: the report page. Choosing a criterion lights up its evidence in the transcript.
 *
 * Progressive enhancement: without JavaScript every piece of evidence is still marked and
 * linked; with it, one criterion at a time can be picked out. The toggles are real buttons
 * (aria-pressed), so they work from the keyboard, and a live region says what lit up.
 */
(function () {
  "use strict";

  var transcript = document.getElementById("transcript");
  var toggles = Array.prototype.slice.call(document.querySelectorAll(".criterion-toggle"));
  var status = document.getElementById("highlight-status");
  var help = document.getElementById("highlight-help");
  if (!transcript || !toggles.length) {
    return;
  }
  if (help) {
    help.hidden = false;
  }
  var reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function has(element, id) {
    return (element.getAttribute("data-criteria") || "").split(" ").indexOf(id) !== -1;
  }

  function select(id) {
    var lit = [];
    transcript.querySelectorAll(".rturn").forEach(function (turn) {
      var on = id !== null && has(turn, id);
      turn.classList.toggle("is-lit", on);
      if (on) {
        lit.push(turn);
      }
    });
    transcript.querySelectorAll("mark.ev").forEach(function (mark) {
      mark.classList.toggle("is-lit", id !== null && has(mark, id));
    });
    transcript.classList.toggle("has-selection", id !== null);
    toggles.forEach(function (button) {
      var pressed = button.getAttribute("data-criterion") === id;
      button.setAttribute("aria-pressed", pressed ? "true" : "false");
      button.textContent = pressed ? "Hide evidence" : "Show evidence";
    });
    return lit;
  }

  toggles.forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var id = button.getAttribute("data-criterion");
      var already = button.getAttribute("aria-pressed") === "true";
      var lit = select(already ? null : id);
      if (already) {
        status.textContent = "Evidence highlighting cleared.";
        return;
      }
      // The numbers people read (data-number), not the element ids, which count every line.
      var numbers = lit.map(function (turn) {
        return turn.getAttribute("data-number");
      });
      status.textContent =
        button.getAttribute("data-title") + ": evidence highlighted in " + numbers.length +
        (numbers.length === 1 ? " turn" : " turns") + " (" + numbers.join(", ") + ").";
      if (lit.length) {
        lit[0].scrollIntoView({ behavior: reduceMotion ? "auto" : "smooth", block: "center" });
      }
    });
  });

  // Printed reports show every piece of evidence, folded or not.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.evidence-list").forEach(function (details) {
      details.open = true;
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && transcript.classList.contains("has-selection")) {
      select(null);
      status.textContent = "Evidence highlighting cleared.";
    }
  });
})();
