// Coach mode beside the chat: show each note as it arrives, dismiss notes, turn it on or off.
(function () {
  "use strict";
  var panel = document.getElementById("coach");
  var chat = document.getElementById("chat");
  if (!panel || !chat) {
    return;
  }
  var list = document.getElementById("coach-notes");
  var empty = document.getElementById("coach-empty");
  var toggle = document.getElementById("coach-toggle");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = meta ? meta.getAttribute("content") : "";

  function line(className, text) {
    var p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    return p;
  }

  function dismissButton(turn) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button--quiet coach-note__dismiss";
    button.textContent = "Dismiss";
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " the note on turn " + turn;
    button.appendChild(hidden);
    return button;
  }

  function addNote(note, turn) {
    var item = document.createElement("li");
    item.className = "coach-note coach-note--" + (note.tone || "neutral");
    item.dataset.turn = String(turn);
    item.appendChild(line("coach-note__turn", "Turn " + turn));
    item.appendChild(line("coach-note__saw", (note.saw || []).join("; ")));
    if (note.alternative) {
      item.appendChild(line("coach-note__alt", "You could try: \u201c" + note.alternative + "\u201d"));
      item.appendChild(line("coach-note__why", note.why || ""));
    }
    item.appendChild(dismissButton(turn));
    list.appendChild(item);
    if (empty) {
      empty.hidden = true;
    }
  }

  document.addEventListener("rapport:coach", function (event) {
    addNote(event.detail.note, event.detail.turn);
  });

  list.addEventListener("click", function (event) {
    var button = event.target.closest(".coach-note__dismiss");
    if (button) {
      button.closest(".coach-note").remove();
    }
  });

  if (toggle) {
    toggle.addEventListener("change", async function () {
      var wanted = toggle.checked;
      toggle.disabled = true;
      try {
        var response = await fetch("/api/sessions/" + chat.dataset.sessionId + "/coach", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken },
          body: JSON.stringify({ on: wanted }),
          credentials: "same-origin",
        });
        if (!response.ok) {
          toggle.checked = !wanted;
        } else {
          panel.dataset.on = wanted ? "true" : "false";
          if (empty) {
            empty.hidden = !wanted || list.children.length > 0;
          }
        }
      } catch (err) {
        toggle.checked = !wanted;
      }
      toggle.disabled = false;
    });
  }
})();
