// Talks to the server's public HTTP and WebSocket API; owns the token and the connection banner.
const TOKEN_KEY = "reflow.token";
const banner = () => document.getElementById("banner");
let tokenWaiters = [];

export function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

export class Unreachable extends Error {}

function showBanner(text, kind) {
  const el = banner();
  el.textContent = text;
  el.className = kind || "";
  el.hidden = false;
}

export function clearBanner() { banner().hidden = true; banner().textContent = ""; }

// Asks for a token once (until the server refuses it); every caller waiting gets the same one.
function askToken(message) {
  const dialog = document.getElementById("token-dialog");
  return new Promise((resolve) => {
    tokenWaiters.push(resolve);
    if (dialog.open) return;
    document.getElementById("token-message").textContent = message;
    const form = document.getElementById("token-form");
    const input = document.getElementById("token-input");
    input.value = "";
    form.onsubmit = (e) => {
      e.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      dialog.close();
      const waiters = tokenWaiters; tokenWaiters = [];
      waiters.forEach((w) => w(value));
    };
    dialog.oncancel = (e) => e.preventDefault();  // nothing works without a token: stay open
    dialog.showModal();
    input.focus();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// fetch with the token; retries while the server is unreachable, asks again on 401.
export async function api(path, options = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = { ...(options.headers || {}) };
    const sent = token();
    if (sent) headers.Authorization = `Bearer ${sent}`;
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, { ...options, headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    } catch (err) {
      showBanner(`Cannot reach the server at ${location.host}. Retrying…`);
      await sleep(Math.min(4000, 500 * (attempt + 1)));
      continue;
    }
    if (response.status === 401) {
      if (token() === sent) sessionStorage.removeItem(TOKEN_KEY);
      if (token() && token() !== sent) continue;  // another call got a new token meanwhile
      await askToken(sent ? "The server refused that token. Enter the right one."
                          : "This server needs an access token.");
      continue;
    }
    if (response.status === 502 || response.status === 503 && path !== "/health") {
      showBanner("The server is not ready. Retrying…", "info");
      await sleep(1000);
      continue;
    }
    if (!banner().hidden) clearBanner();
    return response;
  }
}

export async function json(path, options) {
  const response = await api(path, options);
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok && response.status !== 202 && !(response.status === 500 && body && body.handler_id)) {
    const detail = body && body.detail ? body.detail : `HTTP ${response.status}`;
    throw new Error(detail);
  }
  return body;
}

// A WebSocket that reconnects (with the token as a query parameter); returns a closer.
export function socket(path, onMessage, { onOpen, retry = true } = {}) {
  let closed = false, ws = null, attempt = 0;
  const open = () => {
    const url = new URL(path, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    if (token()) url.searchParams.set("token", token());
    ws = new WebSocket(url);
    ws.onopen = () => { attempt = 0; if (onOpen) onOpen(); };
    ws.onmessage = (e) => { try { onMessage(JSON.parse(e.data)); } catch (err) { console.error(err); } };
    ws.onclose = async (e) => {
      if (closed || !retry) return;
      if (e.code !== 1000) {
        showBanner(`Lost the live connection to ${location.host}. Reconnecting…`);
        // An HTTP call tells why: it waits for the server and asks for a token it refuses.
        await api("/workflows").catch(() => {});
      }
      attempt++;
      setTimeout(() => { if (!closed) open(); }, Math.min(3000, 300 * attempt));
    };
  };
  open();
  return { close() { closed = true; if (ws) ws.close(); }, send(msg) { ws.send(JSON.stringify(msg)); } };
}
