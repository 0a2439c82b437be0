// Builds a form from an event's JSON schema: one labelled control per field, with its type,
// default and required mark, and validation messages next to the field.
import { h } from "./dom.js";

let counter = 0;

// The schema of one property, with `$ref`s resolved and `Optional[...]` unwrapped.
function resolve(spec, root) {
  if (spec && spec.$ref) {
    const name = spec.$ref.split("/").pop();
    return resolve(((root.$defs || root.definitions || {})[name]) || {}, root);
  }
  const options = spec && (spec.anyOf || spec.oneOf);
  if (options) {
    const real = options.filter((o) => o.type !== "null");
    if (real.length === 1) return { ...resolve(real[0], root), nullable: true, default: spec.default,
      title: spec.title, description: spec.description };
  }
  return spec || {};
}

function kindOf(spec) {
  if (spec.enum) return "enum";
  const t = Array.isArray(spec.type) ? spec.type.find((x) => x !== "null") : spec.type;
  if (["string", "integer", "number", "boolean"].includes(t)) return t;
  return "json";
}

// Fields for `schema`; `fallback` names fields to offer when the schema declares none
// (dict-like events such as HumanResponseEvent accept any field).
export function eventForm(schema, { submitLabel, onSubmit, fallback = [] }) {
  const id = `f${++counter}`;
  const props = { ...(schema.properties || {}) };
  const required = new Set(schema.required || []);
  if (!Object.keys(props).length) for (const name of fallback) props[name] = { type: "string", title: name };
  const fields = [];
  const form = h("form", { class: "fields", novalidate: true });
  for (const [name, raw] of Object.entries(props)) {
    const spec = resolve(raw, schema);
    const kind = kindOf(spec);
    const inputId = `${id}-${name}`;
    const errorId = `${inputId}-error`;
    const label = h("label", { for: inputId }, spec.title || name,
      required.has(name) ? h("span", { class: "req" }, " (required)") : "");
    let input;
    if (kind === "boolean") {
      input = h("input", { type: "checkbox", id: inputId, name });
      input.checked = spec.default === true;
    } else if (kind === "enum") {
      input = h("select", { id: inputId, name },
        ...(required.has(name) ? [] : [h("option", { value: "" }, "—")]),
        ...spec.enum.map((v) => h("option", { value: JSON.stringify(v) }, String(v))));
      if (spec.default !== undefined) input.value = JSON.stringify(spec.default);
    } else if (kind === "json") {
      input = h("textarea", { id: inputId, name, rows: 3 });
      if (spec.default !== undefined) input.value = JSON.stringify(spec.default, null, 2);
    } else {
      input = h("input", { type: kind === "string" ? "text" : "number", id: inputId, name,
        step: kind === "integer" ? "1" : "any" });
      if (spec.default !== undefined && spec.default !== null) input.value = String(spec.default);
    }
    if (required.has(name)) input.setAttribute("aria-required", "true");
    const typeText = kind === "json" ? `JSON${spec.type ? ` (${spec.type})` : ""}` : kind;
    const hint = h("div", { class: "hint", id: `${inputId}-hint` },
      [typeText, spec.description].filter(Boolean).join(" — "));
    const error = h("p", { class: "error", id: errorId, hidden: true });
    input.setAttribute("aria-describedby", `${inputId}-hint ${errorId}`);
    form.append(h("div", { class: "field" }, label, input, hint, error));
    fields.push({ name, kind, spec, input, error, required: required.has(name) });
  }
  const status = h("p", { class: "error", role: "status" });
  const button = h("button", { type: "submit" }, submitLabel);
  form.append(h("div", { class: "actions" }, button), status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values = {};
    let firstBad = null;
    for (const f of fields) {
      const message = read(f, values);
      f.error.hidden = !message;
      f.error.textContent = message || "";
      f.input.setAttribute("aria-invalid", message ? "true" : "false");
      if (message && !firstBad) firstBad = f.input;
    }
    if (firstBad) { status.textContent = "Fix the fields marked above."; firstBad.focus(); return; }
    status.textContent = "";
    button.disabled = true;
    try { await onSubmit(values); } catch (err) { status.textContent = err.message; }
    finally { button.disabled = false; }
  });
  return form;
}

// Reads one field into `values`; returns an error message or null.
function read(f, values) {
  const label = f.spec.title || f.name;
  if (f.kind === "boolean") { values[f.name] = f.input.checked; return null; }
  const text = f.input.value.trim();
  if (!text) {
    if (f.required) return `${label} is required.`;
    return null;
  }
  if (f.kind === "integer" || f.kind === "number") {
    const n = Number(text);
    if (!Number.isFinite(n)) return `${label} must be a number.`;
    if (f.kind === "integer" && !Number.isInteger(n)) return `${label} must be a whole number.`;
    if (f.spec.minimum !== undefined && n < f.spec.minimum) return `${label} must be at least ${f.spec.minimum}.`;
    if (f.spec.maximum !== undefined && n > f.spec.maximum) return `${label} must be at most ${f.spec.maximum}.`;
    values[f.name] = n; return null;
  }
  if (f.kind === "enum" || f.kind === "json") {
    try { values[f.name] = JSON.parse(text); } catch { return `${label} must be valid JSON.`; }
    return null;
  }
  if (f.spec.minLength !== undefined && text.length < f.spec.minLength)
    return `${label} must be at least ${f.spec.minLength} characters.`;
  values[f.name] = f.input.value;
  return null;
}
