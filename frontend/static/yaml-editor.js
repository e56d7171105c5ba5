// The trainer's YAML editor: CodeMirror 6 (vendored, named by the page's import map) in place
// of the textarea, which stays the form field and is kept in step with every change. As you
// type it completes keys and listed values from the file's JSON Schema, and a moment after you
// stop it asks the server to check the text (the same loader as Check and Save) and marks each
// problem on its line. Without script, or in a browser without import maps, the textarea and
// the problem list below it work as they are.
import { EditorState } from "@codemirror/state";
import {
  EditorView, drawSelection, highlightActiveLine, highlightActiveLineGutter, keymap,
  lineNumbers,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  bracketMatching, defaultHighlightStyle, indentOnInput, indentUnit, syntaxHighlighting,
} from "@codemirror/language";
import { autocompletion, completionKeymap } from "@codemirror/autocomplete";
import { forceLinting, lintGutter, lintKeymap, linter, setDiagnostics } from "@codemirror/lint";
import { yaml } from "@codemirror/lang-yaml";
import { contextAt, keyOptions, valueOptions } from "rapport/yaml-schema";

const CHECK_DELAY_MS = 600;

const textarea = document.getElementById("text");
const form = document.getElementById("yaml-form");
const kindField = document.getElementById("kind");

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// ---- completion from the JSON Schema ----------------------------------------------------------

const schemas = {};
function schemaFor(kind) {
  if (!schemas[kind]) {
    schemas[kind] = fetch(form.dataset.schemaUrl.replace("{kind}", kind), {
      headers: { Accept: "application/json" }, credentials: "same-origin",
    }).then((answer) => (answer.ok ? answer.json() : null)).catch(() => null);
  }
  return schemas[kind];
}

function keyText(option, col) {
  const inner = " ".repeat(col + 2);
  if (option.types.includes("object")) return `${option.name}:\n${inner}`;
  if (option.types.includes("array")) return `${option.name}:\n${inner}- `;
  return `${option.name}: `;
}

function typeLabel(option) {
  const kinds = option.types.map((t) => ({ object: "section", array: "list", choice: "choice" }[t] || t));
  return (option.required ? "required · " : "") + kinds.join(" or ");
}

async function schemaCompletions(context) {
  const schema = await schemaFor(kindField.value);
  const where = schema && contextAt(context.state.doc.toString(), context.pos);
  if (!where || (!where.prefix && !context.explicit)) return null;
  let options = [];
  if (where.mode === "key") {
    options = keyOptions(schema, where.path)
      .filter((o) => !where.present.includes(o.name))
      .map((o) => ({
        label: o.name, type: "property", detail: typeLabel(o), info: o.description || undefined,
        apply: keyText(o, where.col), boost: o.required ? 1 : 0,
      }));
  }
  if (!options.length) {
    // A value of a listed kind: after `key: `, or a `- ` item of a list of choices.
    options = valueOptions(schema, where.path).map((v) => ({
      label: String(v.value), type: "enum", info: v.description || undefined,
    }));
  }
  return options.length ? { from: where.from, options, validFor: /^[\w-]*$/ } : null;
}

// ---- checking by the server ----------------------------------------------------------------------

const status = document.getElementById("editor-status");

function say(text) {
  if (status && status.textContent !== text) status.textContent = text;
}

// A problem on its whole line: the loader knows the line, not the column.
function diagnostic(doc, problem) {
  const line = doc.line(Math.min(Math.max(problem.line, 1), doc.lines));
  const where = problem.field && problem.field !== "-" ? `${problem.field}: ` : "";
  return { from: line.from, to: line.to, severity: "error", source: `line ${problem.line}`,
           message: where + problem.message };
}

async function serverCheck(view) {
  const text = view.state.doc.toString();
  let verdict;
  try {
    const answer = await fetch(form.dataset.checkUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRF-Token": csrfToken() },
      body: JSON.stringify({ kind: kindField.value, text }),
    });
    if (!answer.ok) throw new Error(`the server answered ${answer.status}`);
    verdict = await answer.json();
  } catch (error) {
    say(`Not checked as you type (${error.message}); Check still works.`);
    return [];
  }
  const found = verdict.problems.map((p) => diagnostic(view.state.doc, p));
  // Save names the file it would keep once the text is valid (the server checks it again).
  const save = document.getElementById("save-draft");
  if (save) save.textContent = verdict.valid ? `Save as a draft of ${verdict.id}` : "Save as a draft";
  const count = found.length;
  say(count ? `${count} problem${count === 1 ? "" : "s"}, marked on ${count === 1 ? "its line" : "their lines"} (F8 goes to the next).`
    : `No problems: a valid ${kindField.value}${verdict.id ? ` (${verdict.id})` : ""}.`);
  return found;
}

// ---- the editor ----------------------------------------------------------------------------------

function build() {
  const nonceFrom = document.getElementById("yaml-editor-script");
  const holder = document.createElement("div");
  holder.className = "yaml-codemirror";
  textarea.parentNode.insertBefore(holder, textarea);
  const described = ["editor-hint", textarea.getAttribute("aria-describedby")].filter(Boolean);
  const view = new EditorView({
    parent: holder,
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        // CodeMirror writes its styles into a <style> element: the policy allows this nonce.
        EditorView.cspNonce.of(nonceFrom ? nonceFrom.nonce : ""),
        lineNumbers(), highlightActiveLineGutter(), highlightActiveLine(), history(),
        drawSelection(), indentOnInput(), bracketMatching(), EditorView.lineWrapping,
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        EditorState.tabSize.of(2), indentUnit.of("  "),
        yaml(),
        autocompletion({ override: [schemaCompletions], icons: false }),
        linter(serverCheck, { delay: CHECK_DELAY_MS }), lintGutter(),
        // Tab indents; Escape then Tab leaves the editor (CodeMirror's own escape hatch).
        keymap.of([...completionKeymap, ...lintKeymap, ...defaultKeymap, ...historyKeymap,
                   indentWithTab]),
        EditorView.contentAttributes.of({
          "aria-labelledby": "text-label", "aria-describedby": described.join(" "),
          spellcheck: "false", autocapitalize: "off", autocorrect: "off",
          // Focusable as it is (contenteditable); said outright so that checkers such as axe
          // see keyboard access to the scrolling area around it.
          tabindex: "0",
        }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) textarea.value = update.state.doc.toString();
        }),
      ],
    }),
  });
  textarea.hidden = true;
  textarea.dataset.editor = "codemirror";
  const hint = document.getElementById("editor-hint");
  if (hint) hint.hidden = false;
  document.getElementById("text-label").addEventListener("click", (event) => {
    event.preventDefault();
    view.focus();
  });
  kindField.addEventListener("change", () => forceLinting(view));
  // The page's own problem list (from Check or Save): marked on their lines at once, until the
  // check as you type answers; each gets a button that puts the cursor on its line.
  const listed = [];
  document.querySelectorAll("#draft-problems li").forEach((item) => {
    const found = /^line (\d+): ([^:]*): (.*)$/s.exec(item.textContent.trim());
    if (!found) return;
    const number = parseInt(found[1], 10);
    listed.push(diagnostic(view.state.doc, { line: number, field: found[2], message: found[3] }));
    const go = document.createElement("button");
    go.type = "button";
    go.className = "button button--quiet yaml-goto";
    go.textContent = `Go to line ${number}`;
    go.addEventListener("click", () => {
      const line = view.state.doc.line(Math.min(number, view.state.doc.lines));
      view.dispatch({ selection: { anchor: line.from, head: line.to }, scrollIntoView: true });
      view.focus();
    });
    item.append(" ", go);
  });
  if (listed.length) view.dispatch(setDiagnostics(view.state, listed));
}

if (textarea && form && kindField) build();
