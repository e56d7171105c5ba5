// The editor's cursor-path and schema logic (frontend/static/yaml-schema.js), under Node's test
// runner. tests/test_editor.py runs this with RAPPORT_SCHEMAS naming a JSON file that holds the
// app's own persona and rubric schemas, so the cases use the real ones.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  contextAt, keyOptions, schemaAt, textLines, valueOptions,
} from "../../frontend/static/yaml-schema.js";

const { persona, rubric } = JSON.parse(readFileSync(process.env.RAPPORT_SCHEMAS, "utf8"));

// A document with "‸" where the cursor is.
function at(marked) {
  const pos = marked.indexOf("‸");
  return contextAt(marked.slice(0, pos) + marked.slice(pos + 1), pos);
}

test("a key at the top of the file", () => {
  const where = at("id: x\nversion: 1\ndiff‸");
  assert.deepEqual([where.mode, where.path, where.prefix], ["key", [], "diff"]);
  assert.deepEqual(where.present.sort(), ["id", "version"]);
  const names = keyOptions(persona, where.path).map((o) => o.name);
  assert.ok(names.includes("difficulty") && names.includes("disclosures"));
});

test("a key inside a section, with the keys it has already above and below", () => {
  const where = at("style:\n  max_sentences: 3\n  con‸\n  phrases: []\ntrust:\n  initial: 2\n");
  assert.deepEqual(where.path, ["style"]);
  assert.deepEqual(where.present.sort(), ["max_sentences", "phrases"]);
  const names = keyOptions(persona, where.path).map((o) => o.name);
  assert.ok(names.includes("conversational_style") && !names.includes("initial"));
});

test("a key of a list item, indented or not, and of a new item", () => {
  for (const doc of ["disclosures:\n  - id: a\n    title: b\n    min‸\n    says: x\n",
                     "disclosures:\n- id: a\n  title: b\n  min‸\n  says: x\n"]) {
    const where = at(doc);
    assert.deepEqual(where.path, ["disclosures", "[]"]);
    assert.deepEqual(where.present.sort(), ["id", "says", "title"]);
  }
  const fresh = at("disclosures:\n  - id: a\n    says: x\n  - ‸");
  assert.deepEqual([fresh.path, fresh.present], [["disclosures", "[]"], []]);
  const disclosure = keyOptions(persona, fresh.path);
  const minTrust = disclosure.find((o) => o.name === "min_trust");
  assert.ok(minTrust && minTrust.description.length > 0, "keys carry their descriptions");
  assert.ok(disclosure.find((o) => o.name === "id").required);
});

test("nested sections two levels down", () => {
  const where = at("client:\n  name: A\nstyle:\n  phrases: []\ntrust:\n  weights:\n    ‸");
  assert.deepEqual(where.path, ["trust", "weights"]);
});

test("values listed by the schema: enums, nullable enums, booleans and list items", () => {
  const style = at("style:\n  conversational_style: re‸");
  assert.deepEqual([style.mode, style.path, style.prefix],
                   ["value", ["style", "conversational_style"], "re"]);
  assert.ok(valueOptions(persona, style.path).some((v) => v.value === "reserved"));
  const engine = at("engine: ‸");
  assert.deepEqual(valueOptions(persona, engine.path).map((v) => v.value).sort(),
                   ["llm", "local", "scripted"]);
  const risk = at("disclosures:\n  - id: a\n    risk: ‸");
  assert.deepEqual(valueOptions(persona, risk.path).map((v) => v.value), [true, false]);
  const kind = at("boundary_tests:\n  - id: gift\n    kind: g‸");
  assert.ok(valueOptions(persona, kind.path).some((v) => v.value === "gift"));
  const basis = at("criteria:\n  - id: x\n    basis: ‸");
  assert.deepEqual(valueOptions(rubric, basis.path).map((v) => v.value).sort(),
                   ["moments", "session", "turns"]);
});

test("a flow list's next item", () => {
  const where = at("tags: [work, st‸");
  assert.deepEqual([where.mode, where.path, where.prefix], ["value", ["tags", "[]"], "st"]);
});

test("no completion inside block text, comments or quoted strings", () => {
  assert.equal(at("brief: >-\n  Sam is tir‸\nid: x\n"), null);
  assert.equal(at("# a comment about diff‸"), null);
  assert.equal(at('title: "Sam wo‸'), null);
  // After the block text ends, keys complete again.
  assert.equal(at("brief: |\n  text: that looks like a key\nver‸").mode, "key");
  assert.deepEqual(textLines(["brief: |", "  a: b", "", "  c", "id: x"]),
                   [false, true, true, true, false]);
});

test("paths the schema does not have give nothing", () => {
  assert.equal(schemaAt(persona, ["no_such_key"]), null);
  assert.deepEqual(keyOptions(persona, ["difficulty"]), []);
  assert.deepEqual(valueOptions(persona, ["brief"]), []);
});

test("rubric levels are keyed by number and indicators list their codes", () => {
  const code = at("criteria:\n  - id: x\n    indicators:\n      - code: question_‸");
  assert.deepEqual(code.path, ["criteria", "[]", "indicators", "[]", "code"]);
  assert.ok(valueOptions(rubric, code.path).some((v) => v.value === "question_open"));
  const level = at("criteria:\n  - id: x\n    levels:\n      1: Poor\n      ‸");
  assert.deepEqual(level.path, ["criteria", "[]", "levels"]);
  assert.deepEqual(keyOptions(rubric, level.path), []);
});
