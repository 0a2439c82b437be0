// The router and the Workflows and Runs views.
import { api, json, socket } from "./api.js";
import { h, statusBadge, when } from "./dom.js";
import { eventForm } from "./form.js";
import { runView } from "./run.js";

const main = () => document.getElementById("main");
const PAGE = 50;
let cleanup = () => {};

function show(title, ...children) {
  document.title = `${title} · reflow`;
  const m = main();
  m.replaceChildren(...children.flat());
}

export async function drawing(name) {
  const box = h("div", { class: "drawing", tabindex: 0, role: "group", "aria-label": `Drawing of ${name}` });
  const response = await api(`/workflows/${encodeURIComponent(name)}/drawing`);
  if (response.ok) box.innerHTML = await response.text();
  else box.textContent = "No drawing available.";
  return box;
}

export function startRun(name, startEvent) {
  return json(`/workflows/${encodeURIComponent(name)}/run-nowait`, { method: "POST",
    body: { start_event: startEvent } }).then((handler) => {
    sessionStorage.setItem(`reflow.input.${handler.handler_id}`, JSON.stringify(startEvent));
    location.hash = `#/runs/${encodeURIComponent(handler.handler_id)}`;
  });
}

async function workflowsView() {
  const { workflows } = await json("/workflows");
  const cards = [];
  for (const name of workflows) {
    const enc = encodeURIComponent(name);
    const schema = await json(`/workflows/${enc}/schema`);
    const form = eventForm(schema.start, { submitLabel: `Start ${name}`,
      onSubmit: (values) => startRun(name, values) });
    cards.push(h("section", { class: "card", "aria-labelledby": `wf-${enc}` },
      h("h2", { id: `wf-${enc}` }, name),
      schema.start.description ? h("p", { class: "muted" }, schema.start.description) : "",
      await drawing(name),
      h("h3", {}, `Start event: ${schema.start.title || "StartEvent"}`),
      form));
  }
  show("Workflows", h("h1", {}, "Workflows"),
    workflows.length ? cards : h("p", {}, "No workflows are registered on this server."));
}

function runsView(params) {
  const state = { status: params.get("status") || "", workflow: params.get("workflow") || "",
    q: params.get("q") || "", offset: Number(params.get("offset") || 0) };
  const status = h("select", { id: "filter-status" },
    ...["", "running", "completed", "failed", "cancelled"].map((s) =>
      h("option", { value: s }, s || "any status")));
  status.value = state.status;
  const workflow = h("select", { id: "filter-workflow" }, h("option", { value: "" }, "any workflow"));
  const search = h("input", { id: "filter-q", type: "search", value: state.q, placeholder: "id starts with…" });
  const body = h("tbody");
  const table = h("table", {}, h("caption", { class: "muted", id: "runs-caption" }, "Newest first"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Run"), h("th", { scope: "col" }, "Workflow"),
      h("th", { scope: "col" }, "Status"), h("th", { scope: "col", class: "opt" }, "Started"))),
    body);
  const prev = h("button", { class: "secondary", type: "button" }, "Newer");
  const next = h("button", { class: "secondary", type: "button" }, "Older");
  const pageInfo = h("span", { class: "muted", "aria-live": "polite" });
  const rows = new Map();
  let token = 0, refetch = null;

  const row = (handler) => {
    const tr = h("tr", { "data-id": handler.handler_id },
      h("td", { class: "id" }, h("a", { href: `#/runs/${encodeURIComponent(handler.handler_id)}` }, handler.handler_id)),
      h("td", {}, handler.workflow_name), h("td", { class: "st" }, statusBadge(handler.status)),
      h("td", { class: "opt" }, when(handler.started_at)));
    rows.set(handler.handler_id, tr);
    return tr;
  };
  const matches = (handler) => (!state.status || handler.status === state.status) &&
    (!state.workflow || handler.workflow_name === state.workflow) &&
    (!state.q || handler.handler_id.startsWith(state.q));

  async function load() {
    const mine = ++token;
    const query = new URLSearchParams({ limit: String(PAGE + 1), offset: String(state.offset) });
    if (state.status) query.set("status", state.status);
    if (state.workflow) query.set("workflow_name", state.workflow);
    if (state.q) query.set("q", state.q);
    const { handlers } = await json(`/handlers?${query}`);
    if (mine !== token) return;
    rows.clear();
    body.replaceChildren(...handlers.slice(0, PAGE).map(row));
    if (!handlers.length) body.append(h("tr", {}, h("td", { colspan: 4 }, "No runs match.")));
    prev.disabled = state.offset === 0;
    next.disabled = handlers.length <= PAGE;
    pageInfo.textContent = handlers.length
      ? `Runs ${state.offset + 1}–${state.offset + Math.min(PAGE, handlers.length)}` : "";
  }
  const changed = () => {
    state.status = status.value; state.workflow = workflow.value; state.q = search.value.trim();
    state.offset = 0;
    const q = new URLSearchParams(Object.entries(state).filter(([k, v]) => v && k !== "offset"));
    history.replaceState(null, "", `#/runs${q.toString() ? `?${q}` : ""}`);
    load();
  };
  status.addEventListener("change", changed);
  workflow.addEventListener("change", changed);
  let typing = null;
  search.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(changed, 250); });
  prev.addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); load(); });
  next.addEventListener("click", () => { state.offset += PAGE; load(); });

  const live = socket(`/ws/status?recent=${PAGE}`, (msg) => {
    if (msg.type !== "status") return;
    const handler = msg.handler;
    const existing = rows.get(handler.handler_id);
    if (existing) {
      existing.querySelector(".st").replaceChildren(statusBadge(handler.status));
      if (!matches(handler)) { clearTimeout(refetch); refetch = setTimeout(load, 300); }
    } else if (state.offset === 0 && matches(handler)) {
      clearTimeout(refetch); refetch = setTimeout(load, 150);  // a new run: reload the first page
    }
  });
  cleanup = () => live.close();

  show("Runs", h("h1", {}, "Runs"),
    h("div", { class: "filters", role: "search" },
      h("div", {}, h("label", { for: "filter-status" }, "Status"), status),
      h("div", {}, h("label", { for: "filter-workflow" }, "Workflow"), workflow),
      h("div", {}, h("label", { for: "filter-q" }, "Search by id"), search)),
    table, h("div", { class: "pager" }, prev, next, pageInfo));
  json("/workflows").then(({ workflows }) => {
    workflow.append(...workflows.map((w) => h("option", { value: w }, w)));
    workflow.value = state.workflow;
  });
  return load();
}

async function route() {
  cleanup(); cleanup = () => {};
  const [path, query] = (location.hash.slice(1) || "/workflows").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  const view = parts[0] || "workflows";
  for (const a of document.querySelectorAll("nav a"))
    a.toggleAttribute("aria-current", a.dataset.view === view) && a.setAttribute("aria-current", "page");
  try {
    if (view === "runs" && parts[1]) cleanup = await runView(main(), decodeURIComponent(parts[1]), show);
    else if (view === "runs") await runsView(params);
    else await workflowsView();
  } catch (err) {
    show("Error", h("h1", {}, "Something went wrong"), h("p", { role: "alert" }, err.message));
  }
}

window.addEventListener("hashchange", () => { route(); main().focus(); });
route();
