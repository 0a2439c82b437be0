// One run: status, actions, drawing with live step states, steps, pending input, result or
// error, and the timeline of its events, all fed by the run's WebSocket.
import { json, socket } from "./api.js";
import { h, statusBadge, when } from "./dom.js";
import { eventForm } from "./form.js";
import { drawing, startRun } from "./app.js";

const RESERVED = new Set(["StartEvent", "StopEvent", "InputRequiredEvent", "StepStateChanged",
  "StepAttemptFailed", "WorkflowIdleEvent"]);

const isA = (envelope, name) => envelope.type === name || (envelope.types || []).includes(name);
const fieldsOf = (envelope) => {
  const v = envelope.value || {};
  return v._data && typeof v._data === "object" ? { ...v._data, ...v } : v;
};

export async function runView(main, id, show) {
  let handler = await json(`/handlers/${encodeURIComponent(id)}`);
  const name = handler.workflow_name;
  const steps = new Map();  // name -> {running, runs, failed, retries, lastError}
  let pending = null, answered = -1, lastSeq = -1;

  const title = h("h1", {}, `Run ${id}`);
  const statusLine = h("p", { "aria-live": "polite" });
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel run");
  const again = h("button", { type: "button", class: "secondary" }, "Run again with the same input");
  const outcome = h("section", { "aria-labelledby": "outcome-title", class: "card", hidden: true });
  const waiting = h("section", { "aria-labelledby": "waiting-title", class: "card waiting", hidden: true });
  const stepsBody = h("tbody");
  const nowBox = h("dl", {});
  const timeline = h("ol", { class: "timeline", "aria-label": "Events" });
  const stateBox = h("pre", { "aria-label": "Current state" }, "Loading…");
  const picture = await drawing(name).catch(() => h("p", {}, "No drawing."));
  let schemas = [], responses = [];
  try {
    schemas = (await json(`/workflows/${encodeURIComponent(name)}/events`)).events;
    // The workflow's own answer types: events that are (or derive from) HumanResponseEvent,
    // its subclasses first.
    const { graph } = await json(`/workflows/${encodeURIComponent(name)}/representation`);
    responses = graph.nodes.filter((n) => n.node_type === "event" &&
      (n.event_types || []).includes("HumanResponseEvent"))
      .sort((a, b) => (a.event_type === "HumanResponseEvent") - (b.event_type === "HumanResponseEvent"))
      .map((n) => n.event_type);
  } catch { /* a workflow this server does not serve: no answer form */ }

  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try { await json(`/handlers/${encodeURIComponent(id)}/cancel`, { method: "POST" }); }
    catch (err) { statusLine.textContent = `Cancel failed: ${err.message}`; }
    await refresh();
  });
  // The server keeps every run's start event (journal) or those it started (memory stores);
  // the input this tab submitted is the fallback.
  again.addEventListener("click", async () => {
    again.disabled = true;
    try {
      const { start_event } = await json(`/handlers/${encodeURIComponent(id)}/start-event`);
      await startRun(name, start_event);
    } catch (err) {
      const saved = sessionStorage.getItem(`reflow.input.${id}`);
      if (saved) await startRun(name, JSON.parse(saved));
      else statusLine.textContent = `Cannot run again: ${err.message}`;
    } finally { again.disabled = false; }
  });

  function renderStatus() {
    statusLine.replaceChildren("Status: ", statusBadge(handler.status),
      ` · workflow ${name} · started ${when(handler.started_at)}`,
      handler.completed_at ? ` · finished ${when(handler.completed_at)}` : "");
    cancel.hidden = handler.status !== "running";
    cancel.disabled = false;
    if (handler.status !== "running") waiting.hidden = true;
    if (handler.status === "completed" && handler.result) {
      outcome.hidden = false; outcome.className = "card";
      outcome.replaceChildren(h("h2", { id: "outcome-title" }, "Result"),
        h("pre", {}, JSON.stringify(fieldsOf(handler.result), null, 2)));
    } else if (handler.status === "failed" || handler.status === "cancelled") {
      outcome.hidden = false; outcome.className = "card error-box";
      const failures = [...steps.entries()].filter(([, s]) => s.lastError);
      outcome.replaceChildren(h("h2", { id: "outcome-title" }, handler.status === "failed" ? "Error" : "Cancelled"),
        h("p", { role: handler.status === "failed" ? "alert" : null }, handler.error || handler.status),
        ...failures.map(([step, s]) => h("details", { open: true },
          h("summary", {}, `Traceback of step ${step} (attempt ${s.lastError.attempt})`),
          h("pre", {}, s.lastError.traceback || `${s.lastError.exception_type}: ${s.lastError.exception_message}`))));
    }
  }

  function renderSteps() {
    stepsBody.replaceChildren(...[...steps.entries()].map(([step, s]) => h("tr", {},
      h("th", { scope: "row" }, step), h("td", {}, stepState(s)), h("td", {}, String(s.runs)),
      h("td", {}, String(s.failed)), h("td", {}, String(s.retries)))));
    for (const [step, s] of steps) {
      const node = picture.querySelector(`g.node[data-key="step_${CSS.escape(step)}"]`);
      if (!node) continue;
      node.classList.remove("state-running", "state-done", "state-failed", "state-waiting");
      node.classList.add(`state-${stepState(s)}`);
      let label = node.querySelector("title.live");
      if (!label) { label = document.createElementNS("http://www.w3.org/2000/svg", "title"); label.classList.add("live"); node.prepend(label); }
      label.textContent = `${step}: ${stepState(s)}, ${s.runs} run(s), ${s.failed} failed attempt(s)`;
    }
    const running = [...steps.entries()].filter(([, s]) => s.running > 0).map(([n, s]) => `${n} ×${s.running}`);
    nowBox.replaceChildren(h("dt", {}, "Running steps"), h("dd", {}, running.join(", ") || "none"),
      h("dt", {}, "Waiting for input"), h("dd", {}, pending && handler.status === "running" ? "yes" : "no"),
      h("dt", {}, "Events so far"), h("dd", {}, String(lastSeq + 1)));
  }

  function stepState(s) {
    if (s.running > 0) return "running";
    if (s.lastError && s.lastError.retry_in == null && handler.status === "failed") return "failed";
    if (pending && s.runs > 0 && s.lastOutput === "InputRequiredEvent") return "waiting";
    return "done";
  }

  function renderWaiting() {
    if (!pending || handler.status !== "running" || answered >= pending.seq) { waiting.hidden = true; return; }
    const fields = fieldsOf(pending.envelope);
    const prompt = fields.prefix || fields.prompt || "This run is waiting for input.";
    const others = schemas.filter((s) => !RESERVED.has(s.title) && !responses.includes(s.title));
    const choices = [...responses.map((r) => schemas.find((s) => s.title === r)).filter(Boolean), ...others];
    const preferred = choices[0];
    if (!preferred) { waiting.hidden = true; return; }
    const select = h("select", { id: "response-type" }, ...choices.map((s) => h("option", { value: s.title }, s.title)));
    select.value = preferred.title;
    const holder = h("div");
    const build = () => {
      const schema = choices.find((s) => s.title === select.value);
      holder.replaceChildren(eventForm(schema, { submitLabel: "Send response", fallback: ["response"],
        onSubmit: async (values) => {
          await json(`/events/${encodeURIComponent(id)}`, { method: "POST",
            body: { event: { type: schema.title, value: values } } });
          answered = pending.seq;
          renderWaiting(); renderSteps();
        } }));
    };
    select.addEventListener("change", build);
    build();
    waiting.hidden = false;
    waiting.replaceChildren(h("h2", { id: "waiting-title" }, "Waiting for input"),
      h("p", { class: "prompt" }, String(prompt)),
      h("div", { class: "field" }, h("label", { for: "response-type" }, "Response event type"), select), holder);
  }

  function stepRecord(step) {
    if (!steps.has(step)) steps.set(step, { running: 0, runs: 0, failed: 0, retries: 0, lastError: null, lastOutput: null });
    return steps.get(step);
  }

  // The state store's to_dict form: its values under state_data (a DictState's under _data),
  // each stored as JSON text by the default serializer.
  function readableState(state) {
    let data = state.state_data ?? state;
    if (data && typeof data._data === "object") data = data._data;
    const out = {};
    for (const [key, value] of Object.entries(data || {})) {
      try { out[key] = typeof value === "string" ? JSON.parse(value) : value; }
      catch { out[key] = value; }
    }
    return out;
  }

  async function refreshState() {
    try {
      const { state } = await json(`/handlers/${encodeURIComponent(id)}/state`);
      stateBox.textContent = JSON.stringify(readableState(state), null, 2);
    } catch (err) { stateBox.textContent = `No state: ${err.message}`; }
  }

  function onEvent(seq, envelope, at) {
    lastSeq = Math.max(lastSeq, seq);
    const fields = fieldsOf(envelope);
    if (envelope.type === "StepStateChanged") {
      const s = stepRecord(fields.name);
      if (fields.step_state === "running") { s.running++; s.runs++; }
      else if (fields.step_state === "not_running") {
        s.running = Math.max(0, s.running - 1);
        s.lastOutput = (fields.output_event_name || "").replace(/^.*\.|'>$/g, "");
      }
      if (fields.step_state === "running" && pending) pending = null;
    } else if (envelope.type === "StepAttemptFailed") {
      const s = stepRecord(fields.step_name);
      s.failed++; if (fields.retry_in != null) s.retries++;
      s.lastError = fields;
    } else if (isA(envelope, "InputRequiredEvent")) {
      pending = { seq, envelope };
    }
    // The time the server says the event was published; older servers send none.
    const time = at ? h("time", { class: "time", datetime: at, title: at }, new Date(at).toLocaleTimeString())
      : h("span", { class: "time" }, "");
    timeline.append(h("li", {}, h("details", {},
      h("summary", {}, h("span", { class: "seq" }, `#${seq}`), envelope.type, time),
      h("pre", {}, JSON.stringify(fields, null, 2)))));
  }

  async function refresh() {
    handler = await json(`/handlers/${encodeURIComponent(id)}`);
    renderStatus(); renderSteps(); renderWaiting();
    await refreshState();
  }

  let timer = null;
  const live = socket(`/ws/handlers/${encodeURIComponent(id)}?after_sequence=-1&include_internal=true`, (msg) => {
    if (msg.type === "event") {
      if (msg.sequence <= lastSeq) return;  // a reconnect replays from the start
      onEvent(msg.sequence, msg.event, msg.at);
      clearTimeout(timer); timer = setTimeout(refresh, 80);
    } else if (msg.type === "end") {
      live.close(); refresh();
    }
  }, { onOpen: () => {} });
  const poll = setInterval(() => { if (handler.status === "running") refresh().catch(() => {}); }, 3000);

  show(`Run ${id}`, title, statusLine, h("div", { class: "actions" }, cancel, again), waiting, outcome,
    h("section", { class: "card", "aria-labelledby": "drawing-title" }, h("h2", { id: "drawing-title" }, "Drawing"), picture),
    h("section", { class: "card", "aria-labelledby": "now-title" }, h("h2", { id: "now-title" }, "Now"), nowBox),
    h("section", { class: "card", "aria-labelledby": "state-title" }, h("h2", { id: "state-title" }, "State"),
      h("details", {}, h("summary", {}, "Current state"), stateBox)),
    h("section", { class: "card", "aria-labelledby": "steps-title" }, h("h2", { id: "steps-title" }, "Steps"),
      h("table", {}, h("thead", {}, h("tr", {}, ...["Step", "State", "Runs", "Failed attempts", "Retries"].map((t) => h("th", { scope: "col" }, t)))), stepsBody)),
    h("section", { class: "card", "aria-labelledby": "timeline-title" }, h("h2", { id: "timeline-title" }, "Timeline"), timeline));
  renderStatus(); renderSteps(); refreshState();
  return () => { live.close(); clearInterval(poll); clearTimeout(timer); };
}
