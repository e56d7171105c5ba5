/* Rapport: the chat on the session page, and the print button on the transcript.
 *
 * Data from the server arrives through data- attributes and JSON; everything a person wrote is
 * put on the page with textContent, never innerHTML.
 */
(function () {
  "use strict";

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });

  // With accounts on, every state-changing call carries the CSRF token the page was given.
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrfMeta ? csrfMeta.content : "";

  var chat = document.getElementById("chat");
  if (!chat) {
    return;
  }

  var sessionId = chat.dataset.sessionId;
  var clientName = chat.dataset.clientName || "The client";
  var maxChars = parseInt(chat.dataset.maxChars, 10) || 4000;
  var transcriptUrl = chat.dataset.transcriptUrl;
  var apiBase = "/api/sessions/" + encodeURIComponent(sessionId);
  var draftKey = "rapport:draft:" + sessionId;

  var conversation = document.getElementById("conversation");
  var turnsList = document.getElementById("turns");
  var typing = document.getElementById("typing");
  var errorBox = document.getElementById("chat-error");
  var errorText = document.getElementById("chat-error-text");
  var retryButton = document.getElementById("retry");
  var form = document.getElementById("composer");
  var fields = document.getElementById("composer-fields");
  var textarea = document.getElementById("message");
  var sendButton = document.getElementById("send");
  var charCount = document.getElementById("char-count");
  var endForm = document.getElementById("end-form");
  var replyStatus = document.getElementById("reply-status");

  var busy = false;
  // The message in flight: its text, its id (so a resend never makes a second turn) and
  // whether the server has confirmed saving it.
  var pending = null;

  // ---- small helpers -------------------------------------------------------------------

  function newMessageId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; plain http on a LAN address still gets a v4 UUID.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
      hex.slice(20)].join("-");
  }

  function storage(action, value) {
    try {
      if (action === "get") {
        return window.sessionStorage.getItem(draftKey) || "";
      }
      if (action === "set" && value) {
        window.sessionStorage.setItem(draftKey, value);
      } else {
        window.sessionStorage.removeItem(draftKey);
      }
    } catch (err) {
      // Storage can be off (private mode); the draft then lives only in the textarea.
    }
    return "";
  }

  function formatCount(n) {
    return n.toLocaleString("en-GB");
  }

  function updateCount() {
    if (!charCount || !textarea) {
      return;
    }
    var n = textarea.value.length;
    charCount.textContent = formatCount(n) + " / " + formatCount(maxChars);
    charCount.classList.toggle("char-count--over", n > maxChars);
  }

  function scrollToEnd(el) {
    if (el && typeof el.scrollIntoView === "function") {
      el.scrollIntoView({ block: "nearest" });
    }
  }

  // The message box and Send stay in view: after each reply the page scrolls so the composer's
  // bottom edge is on screen, with the newest reply just above it.
  function keepComposerInView() {
    var target = form || errorBox;
    if (target && typeof target.scrollIntoView === "function") {
      target.scrollIntoView({ block: "end" });
    }
  }

  function announce(text) {
    if (replyStatus) {
      replyStatus.textContent = "";
      // A fresh text node after a tick, so the same words said twice are announced twice.
      window.setTimeout(function () {
        replyStatus.textContent = text;
      }, 50);
    }
  }

  function findTurn(index) {
    return turnsList.querySelector('[data-index="' + String(index) + '"]');
  }

  // Bidirectional overrides and isolates shown as visible markers, so a message cannot read
  // differently on screen from what was typed (as app/bidi.py does on the server).
  var BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g;
  function reveal(text) {
    return (text || "").replace(BIDI_CONTROLS, function (c) {
      return "[U+" + c.charCodeAt(0).toString(16).toUpperCase() + "]";
    });
  }

  function makeTurn(speaker, text, index) {
    var li = document.createElement("li");
    li.className = "turn " + (speaker === "counsellor" ? "turn--student" : "turn--client");
    li.dataset.speaker = speaker;
    if (index !== undefined && index !== null) {
      li.dataset.index = String(index);
    }
    var who = document.createElement("p");
    who.className = "turn__speaker";
    who.textContent = speaker === "counsellor" ? "You" : clientName;
    var body = document.createElement("p");
    body.className = "turn__text";
    body.textContent = reveal(text);
    li.appendChild(who);
    li.appendChild(body);
    turnsList.appendChild(li);
    scrollToEnd(li);
    return li;
  }

  function setBusy(value) {
    busy = value;
    if (sendButton) {
      // aria-disabled, not disabled: a disabled button drops keyboard focus to <body> while
      // the reply streams. `busy` already refuses a second send.
      sendButton.setAttribute("aria-disabled", value ? "true" : "false");
    }
    if (textarea) {
      // Until the server confirms it saved the message, the text stays put and unedited.
      textarea.readOnly = value && pending !== null && !pending.confirmed;
    }
  }

  function showTyping(value) {
    typing.hidden = !value;
  }

  function hideError() {
    errorBox.hidden = true;
    errorText.textContent = "";
    retryButton.hidden = true;
    var link = errorBox.querySelector("a");
    if (link) {
      link.remove();
    }
  }

  function showError(message, options) {
    var opts = options || {};
    errorText.textContent = message;
    retryButton.hidden = !opts.retry;
    var old = errorBox.querySelector("a");
    if (old) {
      old.remove();
    }
    if (opts.transcript) {
      var link = document.createElement("a");
      link.href = transcriptUrl;
      link.className = "button";
      link.textContent = "Open the transcript";
      errorBox.appendChild(link);
    }
    errorBox.hidden = false;
    scrollToEnd(form || errorBox);
  }

  async function readDetail(response) {
    try {
      var body = await response.json();
      if (body && typeof body.detail === "string") {
        return body;
      }
      return { detail: "The server answered " + response.status + "." };
    } catch (err) {
      return { detail: "The server answered " + response.status + "." };
    }
  }

  async function sessionState() {
    try {
      var response = await fetch(apiBase, { headers: { Accept: "application/json" } });
      return response.ok ? await response.json() : null;
    } catch (err) {
      return null;
    }
  }

  // ---- Server-Sent Events over fetch (EventSource cannot POST) ---------------------------

  function dispatch(block, onEvent) {
    var name = "message";
    var data = [];
    block.split("\n").forEach(function (line) {
      if (!line || line.charAt(0) === ":") {
        return;
      }
      var colon = line.indexOf(":");
      var field = colon === -1 ? line : line.slice(0, colon);
      var value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.charAt(0) === " ") {
        value = value.slice(1);
      }
      if (field === "event") {
        name = value;
      } else if (field === "data") {
        data.push(value);
      }
    });
    if (!data.length) {
      return;
    }
    var payload;
    try {
      payload = JSON.parse(data.join("\n"));
    } catch (err) {
      payload = { text: data.join("\n") };
    }
    onEvent(name, payload);
  }

  async function readEvents(body, onEvent) {
    var reader = body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) {
        break;
      }
      buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, "\n");
      var sep = buffer.indexOf("\n\n");
      while (sep !== -1) {
        dispatch(buffer.slice(0, sep), onEvent);
        buffer = buffer.slice(sep + 2);
        sep = buffer.indexOf("\n\n");
      }
    }
    buffer += decoder.decode();
    if (buffer.trim()) {
      dispatch(buffer, onEvent);
    }
  }

  // ---- one exchange --------------------------------------------------------------------

  function confirmStudent(turn) {
    if (!findTurn(turn.index)) {
      makeTurn("counsellor", turn.text, turn.index);
    }
    if (pending) {
      pending.confirmed = true;
    }
    // The server has the message now: the draft can go.
    if (textarea && pending && textarea.value === pending.text) {
      textarea.value = "";
      storage("clear");
      updateCount();
    }
    if (textarea) {
      textarea.readOnly = false;
    }
  }

  async function handleHttpError(response, isRetry) {
    var body = await readDetail(response);
    var detail = body.detail;
    if (response.status === 409) {
      var state = await sessionState();
      if (isRetry && state && !state.awaiting_reply) {
        // The reply arrived after all (another tab, or a retry that raced): show it.
        window.location.reload();
        return;
      }
      if (state && state.status === "ended") {
        showError(detail, { transcript: true });
        if (sendButton) {
          sendButton.disabled = true;
        }
        return;
      }
      showError(detail, { retry: Boolean(state && state.awaiting_reply) });
      return;
    }
    var retry = response.status >= 500 && body.retryable !== false;
    showError(detail, { retry: retry });
  }

  async function exchange(url, payload, isRetry) {
    setBusy(true);
    hideError();
    var bubble = null;
    var outcome = "open";
    try {
      var response = await fetch(url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "text/event-stream",
          "X-CSRF-Token": csrfToken,
        },
        body: payload ? JSON.stringify(payload) : null,
        credentials: "same-origin",
      });
      if (!response.ok) {
        outcome = "refused";
        await handleHttpError(response, isRetry);
        return;
      }
      showTyping(true);
      await readEvents(response.body, function (name, data) {
        if (name === "student") {
          confirmStudent(data);
        } else if (name === "coach") {
          // Coach mode's note on the student's turn (coach.js shows it beside the chat).
          document.dispatchEvent(new CustomEvent("rapport:coach", {
            detail: { note: data, turn: turnsList.querySelectorAll(".turn--student").length },
          }));
        } else if (name === "delta" || name === "replace") {
          if (!bubble) {
            bubble = makeTurn("client", "");
            bubble.classList.add("turn--streaming");
            conversation.setAttribute("aria-busy", "true");
          }
          var text = bubble.querySelector(".turn__text");
          text.textContent = name === "delta" ? text.textContent + reveal(data.text)
            : reveal(data.text);
          scrollToEnd(bubble);
        } else if (name === "done") {
          var turn = data.client_turn;
          if (!bubble) {
            bubble = findTurn(turn.index) || makeTurn("client", "");
          }
          bubble.querySelector(".turn__text").textContent = reveal(turn.text);
          bubble.dataset.index = String(turn.index);
          bubble.classList.remove("turn--streaming");
          outcome = "done";
          pending = null;
          announce(clientName + ": " + turn.text);
        } else if (name === "error") {
          outcome = "error";
          if (bubble) {
            bubble.remove();
            bubble = null;
          }
          showError(
            clientName + " could not reply just now. " + (data.message || "") +
              " Your message is saved.",
            { retry: data.retryable !== false }
          );
        }
      });
      if (outcome === "open") {
        throw new Error("the reply stopped before it finished");
      }
    } catch (err) {
      if (bubble) {
        bubble.remove();
      }
      var saved = pending && !pending.confirmed
        ? " Your message is still in the box below."
        : " Your message is saved.";
      showError(
        "The connection dropped before " + clientName + " could answer." + saved +
          " Check your connection, then press Retry.",
        { retry: true }
      );
    } finally {
      conversation.removeAttribute("aria-busy");
      showTyping(false);
      setBusy(false);
      if (outcome === "done" && textarea &&
          (document.activeElement === document.body || document.activeElement === sendButton)) {
        textarea.focus({ preventScroll: true });
      }
      if (outcome === "done") {
        keepComposerInView();
      }
    }
  }

  function send() {
    if (busy || !textarea) {
      return;
    }
    var text = textarea.value;
    if (!text.trim()) {
      showError("Write a message before sending.", {});
      textarea.focus();
      return;
    }
    if (text.length > maxChars) {
      showError(
        "Your message is " + formatCount(text.length) + " characters; the limit is " +
          formatCount(maxChars) + ". Shorten it and send again.",
        {}
      );
      return;
    }
    pending = { text: text, id: newMessageId(), confirmed: false };
    // Typing goes on in the box while the client answers: keep focus there, not on Send.
    textarea.focus({ preventScroll: true });
    exchange(apiBase + "/turns", { text: text, client_message_id: pending.id }, false);
  }

  function retry() {
    if (busy) {
      return;
    }
    if (pending && !pending.confirmed) {
      // Same id: if the first attempt did reach the server, this cannot add a second turn.
      exchange(apiBase + "/turns", { text: pending.text, client_message_id: pending.id }, false);
    } else {
      exchange(apiBase + "/retry", null, true);
    }
  }

  // ---- wiring --------------------------------------------------------------------------

  retryButton.addEventListener("click", retry);

  if (form && textarea) {
    var draft = storage("get");
    var students = turnsList.querySelectorAll(".turn--student .turn__text");
    var lastStudent = students.length ? students[students.length - 1].textContent : "";
    // A draft that the server already saved (reload right after sending) is not restored.
    if (draft && draft.trim() !== lastStudent.trim() && !textarea.value) {
      textarea.value = draft;
    } else if (draft) {
      storage("clear");
    }
    fields.disabled = false;
    updateCount();
    // Ready to type on arrival, with the newest turn and the box in view.
    if (chat.dataset.status === "active") {
      textarea.focus({ preventScroll: true });
      keepComposerInView();
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      send();
    });
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey &&
          !event.metaKey && !event.isComposing) {
        event.preventDefault();
        send();
      }
    });
    textarea.addEventListener("input", function () {
      storage("set", textarea.value);
      updateCount();
    });
  }

  if (endForm) {
    endForm.addEventListener("submit", async function (event) {
      // Step out shares the form (its own formaction): it is a plain post to the support page
      // and must never end the session.
      if (event.submitter && event.submitter.id === "step-out") {
        return;
      }
      event.preventDefault();
      var button = document.getElementById("end-session");
      button.disabled = true;
      try {
        var response = await fetch(apiBase + "/end", {
          method: "POST",
          headers: { Accept: "application/json", "X-CSRF-Token": csrfToken },
          credentials: "same-origin",
        });
        if (response.ok) {
          // The grade is made as the session ends: the report is the next thing to read.
          window.location.assign(chat.dataset.reportUrl || transcriptUrl);
          return;
        }
        showError((await readDetail(response)).detail, {});
      } catch (err) {
        showError("The session could not be ended: the server did not answer. Try again.", {});
      }
      button.disabled = false;
    });
  }
})();
