// Where the cursor is in a block-style YAML file, and what the file's JSON Schema allows there.
// No CodeMirror here (tests/js runs it under Node): yaml-editor.js turns the answers into
// completions. The path is read from indentation, line by line, rather than from a parse
// tree, because the file is half-typed most of the time the question is asked.

const KEY = /^("[^"]*"|'[^']*'|[^\s#'"{[\]},&*!|>%@`-][^#]*?|-[^\s#][^#]*?)\s*:(?=\s|$)/;
const BLOCK_SCALAR = /^[|>][-+0-9]*\s*(#.*)?$/;
const WORD = /^[\w-]*$/;

function unquote(text) {
  const first = text[0];
  return (first === '"' || first === "'") && text.endsWith(first) ? text.slice(1, -1) : text;
}

/** The structure a line opens: its "- " items and its key, each with its column. */
export function lineEntries(line) {
  const entries = [];
  let i = 0;
  while (line[i] === " ") i++;
  if (i === line.length || line[i] === "#") return null;  // blank or a comment: no structure
  for (;;) {
    if (line[i] === "-" && (i + 1 === line.length || line[i + 1] === " ")) {
      entries.push({ kind: "item", col: i });
      i += 1;
      while (line[i] === " ") i++;
      continue;
    }
    break;
  }
  const rest = line.slice(i);
  const found = KEY.exec(rest);
  if (found) {
    const value = rest.slice(found[0].length).replace(/(^|\s)#.*$/, "").trim();
    entries.push({ kind: "key", col: i, key: unquote(found[1].trim()), value });
  } else if (rest) {
    entries.push({ kind: "scalar", col: i });
  }
  return entries;
}

/** For each line, whether it is the text of a block scalar (`key: |` or `>-` and what follows). */
export function textLines(lines, upTo = lines.length) {
  const text = new Array(Math.min(upTo, lines.length)).fill(false);
  let owner = -1;  // the column of the key or item that opened the block scalar, or -1
  for (let n = 0; n < text.length; n++) {
    const line = lines[n];
    const indent = line.length - line.trimStart().length;
    if (owner >= 0) {
      if (!line.trim() || indent > owner) { text[n] = true; continue; }
      owner = -1;
    }
    const entries = lineEntries(line);
    const last = entries && entries[entries.length - 1];
    if (last && last.kind === "key" && BLOCK_SCALAR.test(last.value)) owner = last.col;
    else if (last && last.kind === "item" && BLOCK_SCALAR.test(line.slice(last.col + 1).trim())) {
      owner = last.col;
    }
  }
  return text;
}

/**
 * What is being typed at `pos` in `doc`:
 *   {mode: "key", path, prefix, from, present}  a key of the mapping at `path`
 *   {mode: "value", path, prefix, from}         a value of the field at `path`
 * or null (inside a comment, a block scalar or a quoted string). `path` is a list of keys and
 * "[]" (any item of a list); `present` lists the keys the mapping has already.
 */
export function contextAt(doc, pos) {
  const lines = doc.split("\n");
  let start = 0;
  let row = 0;
  while (row < lines.length - 1 && start + lines[row].length < pos) {
    start += lines[row].length + 1;
    row++;
  }
  const line = lines[row];
  const before = line.slice(0, pos - start);
  if (textLines(lines, row + 1)[row]) return null;
  if (/(^|\s)#/.test(before)) return null;

  // The current line up to the cursor: its items, then a key and a value, or a word.
  const own = [];
  let i = 0;
  while (before[i] === " ") i++;
  while (before[i] === "-" && (before[i + 1] === " " || i + 1 === before.length)) {
    own.push({ kind: "item", col: i });
    i += 1;
    while (before[i] === " ") i++;
  }
  const rest = before.slice(i);
  const keyed = KEY.exec(rest);
  let mode;
  let key = null;
  let prefix;
  if (keyed) {
    let value = rest.slice(keyed[0].length).replace(/^\s+/, "");
    key = unquote(keyed[1].trim());
    if (/^["']/.test(value)) return null;
    let flow = false;
    if (value.startsWith("[")) {  // a flow list: complete its current item
      flow = true;
      value = value.slice(value.lastIndexOf(",") + 1).replace(/^[\s[]+/, "");
    }
    if (!WORD.test(value)) return null;
    mode = "value";
    prefix = value;
    if (flow) key = [key, "[]"];
  } else if (WORD.test(rest)) {
    mode = "key";
    prefix = rest;
  } else {
    return null;
  }
  const col = before.length - (mode === "key" ? prefix.length : rest.length);

  // Up the file: every key or item to the left of where this line's key starts is a parent.
  // Until the first parent, keys at this line's column belong to the same mapping.
  const text = textLines(lines, row);
  const path = [];
  const present = new Set();
  let need = col;
  let afterItem = false;  // a list may sit at its key's own indentation
  let same = true;
  const take = (entries) => {
    for (let k = entries.length - 1; k >= 0; k--) {
      const entry = entries[k];
      if (entry.kind === "scalar") continue;
      if (entry.col < need || (afterItem && entry.kind === "key" && entry.col === need)) {
        path.unshift(entry.kind === "item" ? "[]" : entry.key);
        need = entry.col;
        afterItem = entry.kind === "item";
        same = false;
      } else if (same && entry.kind === "key" && entry.col === col) {
        present.add(entry.key);
      }
    }
  };
  take(own);
  for (let n = row - 1; n >= 0 && (need > 0 || afterItem || same); n--) {
    const entries = text[n] ? null : lineEntries(lines[n]);
    if (entries) take(entries);
  }
  if (mode === "key") {
    // Keys below the cursor in the same mapping count too, until the mapping ends.
    const below = textLines(lines);
    for (let n = row + 1; n < lines.length; n++) {
      if (below[n]) continue;
      const entries = lineEntries(lines[n]);
      if (!entries) continue;
      if (entries[0].col < col) break;
      const first = entries.find((e) => e.kind !== "scalar");
      if (first && first.kind === "key" && first.col === col) present.add(first.key);
    }
  }
  if (mode === "value") path.push(...[].concat(key));
  return { mode, path, prefix, from: pos - prefix.length, present: [...present], col };
}

// ---- the schema -------------------------------------------------------------------------------

function deref(root, schema) {
  let seen = 0;
  while (schema && schema.$ref && seen++ < 32) {
    const name = schema.$ref.replace(/^#\/(\$defs|definitions)\//, "");
    schema = (root.$defs || root.definitions || {})[name];
  }
  return schema || null;
}

/** The alternatives a schema allows (anyOf, oneOf and allOf flattened), null type left out. */
export function variants(root, schema) {
  const found = [];
  const visit = (s, depth) => {
    s = deref(root, s);
    if (!s || depth > 16) return;
    const parts = [].concat(s.anyOf || [], s.oneOf || [], s.allOf || []);
    if (parts.length) parts.forEach((p) => visit(p, depth + 1));
    if (s.type === "null") return;
    if (!parts.length || s.properties || s.items || s.enum) found.push(s);
  };
  visit(schema, 0);
  return found;
}

function child(root, schema, segment) {
  for (const s of variants(root, schema)) {
    if (segment === "[]") {
      if (s.items && typeof s.items === "object") return s.items;
      continue;
    }
    if (s.properties && segment in s.properties) return s.properties[segment];
    if (s.additionalProperties && typeof s.additionalProperties === "object") {
      return s.additionalProperties;
    }
    const patterns = Object.values(s.patternProperties || {});
    if (patterns.length) return patterns[0];
  }
  return null;
}

/** The schema of what sits at `path` in a document of `root`, or null if it allows nothing. */
export function schemaAt(root, path) {
  let schema = root;
  for (const segment of path) {
    schema = child(root, schema, segment);
    if (!schema) return null;
  }
  return schema;
}

function typeOf(root, schema) {
  const kinds = new Set();
  for (const s of variants(root, schema)) {
    if (s.enum) kinds.add("choice");
    else if (s.const !== undefined) kinds.add("choice");
    else if (s.type) [].concat(s.type).forEach((t) => t !== "null" && kinds.add(t));
    else if (s.properties) kinds.add("object");
  }
  return [...kinds];
}

function describe(root, schema) {
  const own = deref(root, schema) || {};
  if (own.description) return own.description;
  const described = variants(root, schema).find((s) => s.description);
  return described ? described.description : "";
}

/** The keys a mapping at `path` may have, each with its description, type and whether required. */
export function keyOptions(root, path) {
  const schema = schemaAt(root, path);
  if (!schema) return [];
  const options = [];
  const seen = new Set();
  for (const s of variants(root, schema)) {
    const required = new Set(s.required || []);
    for (const [name, field] of Object.entries(s.properties || {})) {
      if (seen.has(name)) continue;
      seen.add(name);
      options.push({ name, description: describe(root, field), types: typeOf(root, field),
                     required: required.has(name) });
    }
  }
  return options;
}

/** The values the schema lists for the field at `path` (enums, constants, true and false). */
export function valueOptions(root, path) {
  const schema = schemaAt(root, path);
  if (!schema) return [];
  const values = [];
  const description = describe(root, schema);
  for (const s of variants(root, schema)) {
    for (const value of s.enum || (s.const !== undefined ? [s.const] : [])) {
      if (!values.some((v) => v.value === value)) values.push({ value, description });
    }
    if (s.type === "boolean") {
      for (const value of [true, false]) {
        if (!values.some((v) => v.value === value)) values.push({ value, description });
      }
    }
  }
  return values;
}
