// The trainer's YAML editor: line numbers beside the text, each line with a problem marked
// in the gutter, and every "line N: ..." problem a link that puts the cursor on its line.
// Without script the textarea and the problem list work as they are.
(function () {
  "use strict";
  var text = document.getElementById("text");
  if (!text) return;
  var bad = {};
  document.querySelectorAll(".yaml-problems li").forEach(function (item) {
    var found = /^line (\d+):/.exec(item.textContent.trim());
    if (!found) return;
    var line = parseInt(found[1], 10);
    bad[line] = (bad[line] ? bad[line] + "\n" : "") + item.textContent.trim();
    var go = document.createElement("button");
    go.type = "button";
    go.className = "button button--quiet yaml-goto";
    go.textContent = "Go to line " + line;
    go.addEventListener("click", function () { selectLine(line); });
    item.appendChild(document.createTextNode(" "));
    item.appendChild(go);
  });

  function selectLine(line) {
    var lines = text.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    var end = start + (lines[line - 1] || "").length;
    text.focus();
    text.setSelectionRange(start, end);
    var height = text.scrollHeight / Math.max(lines.length, 1);
    text.scrollTop = Math.max(0, (line - 3) * height);
    gutter.scrollTop = text.scrollTop;
  }

  var wrap = document.createElement("div");
  wrap.className = "yaml-editor";
  var gutter = document.createElement("div");
  gutter.className = "yaml-gutter";
  gutter.setAttribute("aria-hidden", "true");
  text.parentNode.insertBefore(wrap, text);
  wrap.appendChild(gutter);
  wrap.appendChild(text);
  text.setAttribute("wrap", "off");

  var shown = -1;
  var pending = null;
  function draw() {
    pending = null;
    var count = text.value.split("\n").length;
    if (count === shown) return;  // typing within a line changes nothing in the gutter
    shown = count;
    var parts = [];
    for (var n = 1; n <= count; n++) {
      var row = document.createElement("div");
      row.textContent = String(n);
      row.className = "yaml-gutter__line";
      if (bad[n]) {
        row.className += " yaml-gutter__line--bad";
        row.title = bad[n];
        row.setAttribute("data-problem-line", String(n));
      }
      parts.push(row);
    }
    gutter.replaceChildren.apply(gutter, parts);
    // As tall as the textarea, never taller: it scrolls with the text instead of growing.
    gutter.style.height = text.offsetHeight + "px";
    gutter.scrollTop = text.scrollTop;
  }
  // Redrawn a moment after typing stops, so a large paste costs one redraw, not one per key.
  text.addEventListener("input", function () {
    if (pending === null) pending = setTimeout(draw, 120);
  });
  text.addEventListener("scroll", function () { gutter.scrollTop = text.scrollTop; });
  draw();
})();
