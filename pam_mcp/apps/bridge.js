"use strict";
// The app's side of MCP Apps (io.modelcontextprotocol/ui, 2026-01-26): JSON-RPC 2.0 over
// postMessage with the host, which proxies tools/call to pam-mcp. Written for PAM's two apps;
// no SDK, nothing fetched. Usage: pam.start({onToolInput, onToolResult, onContext}).
const pam = (() => {
  const PROTOCOL_VERSION = "2026-01-26";
  const REQUEST_TIMEOUT_MS = 20000; // a host that never answers must not leave "Loading…" for ever
  const pending = new Map();
  let nextId = 1;
  let handlers = {};
  const context = { locale: undefined, timeZone: undefined, theme: undefined };

  function send(message) {
    window.parent.postMessage(message, "*");
  }

  function request(method, params) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error("The host did not answer in time."));
      }, REQUEST_TIMEOUT_MS);
      pending.set(id, { resolve, reject, timer });
      send({ jsonrpc: "2.0", id, method, params });
    });
  }

  function notify(method, params) {
    send({ jsonrpc: "2.0", method, params: params || {} });
  }

  // The host's variables win; the stylesheet's light-dark() defaults cover the rest.
  function applyContext(ctx) {
    if (!ctx) return;
    const root = document.documentElement;
    if (ctx.theme === "light" || ctx.theme === "dark") {
      context.theme = ctx.theme;
      root.dataset.theme = ctx.theme;
      root.style.colorScheme = ctx.theme;
    }
    const variables = (ctx.styles && ctx.styles.variables) || {};
    for (const [name, value] of Object.entries(variables)) {
      if (name.startsWith("--") && typeof value === "string") root.style.setProperty(name, value);
    }
    if (typeof ctx.locale === "string") {
      context.locale = ctx.locale;
      root.lang = ctx.locale;
    }
    if (typeof ctx.timeZone === "string") context.timeZone = ctx.timeZone;
    if (handlers.onContext) handlers.onContext(context);
  }

  function onMessage(event) {
    if (event.source !== window.parent) return;
    const message = event.data;
    if (!message || message.jsonrpc !== "2.0") return;
    if (message.method === undefined) {
      const waiting = pending.get(message.id);
      if (!waiting) return;
      pending.delete(message.id);
      clearTimeout(waiting.timer);
      if (message.error) waiting.reject(new Error(message.error.message || "The host refused the request."));
      else waiting.resolve(message.result);
      return;
    }
    const params = message.params || {};
    if (message.id !== undefined) {
      // Requests from the host: answer the ones the protocol defines, refuse the rest.
      if (message.method === "ping" || message.method === "ui/resource-teardown") {
        send({ jsonrpc: "2.0", id: message.id, result: {} });
      } else {
        send({ jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "Method not found" } });
      }
      return;
    }
    if (message.method === "ui/notifications/tool-input" && handlers.onToolInput) {
      handlers.onToolInput(params.arguments || {});
    } else if (message.method === "ui/notifications/tool-result" && handlers.onToolResult) {
      handlers.onToolResult(params);
    } else if (message.method === "ui/notifications/tool-cancelled" && handlers.onCancelled) {
      handlers.onCancelled(params.reason || "");
    } else if (message.method === "ui/notifications/host-context-changed") {
      applyContext(params);
    }
  }

  function reportSize() {
    const root = document.documentElement;
    let last = "";
    const observer = new ResizeObserver(() => {
      const size = { width: Math.ceil(root.scrollWidth), height: Math.ceil(root.getBoundingClientRect().height) };
      const key = `${size.width}x${size.height}`;
      if (key !== last) {
        last = key;
        notify("ui/notifications/size-changed", size);
      }
    });
    observer.observe(root);
  }

  async function start(appHandlers) {
    handlers = appHandlers;
    window.addEventListener("message", onMessage);
    try {
      const result = await request("ui/initialize", {
        protocolVersion: PROTOCOL_VERSION,
        appInfo: { name: "pam-mcp", version: "1" },
        appCapabilities: { availableDisplayModes: ["inline"] },
      });
      applyContext(result && result.hostContext);
    } catch (error) {
      if (handlers.onError) handlers.onError(error);
      return;
    }
    notify("ui/notifications/initialized");
    reportSize();
  }

  // A tool on pam-mcp, through the host. Resolves with the structured result; rejects with the
  // tool's own message (written for people: a rate limit says how long to wait).
  async function callTool(name, args) {
    const result = await request("tools/call", { name, arguments: args });
    if (!result || result.isError) {
      const text = result && result.content && result.content[0] && result.content[0].text;
      throw new Error(text || `${name} failed.`);
    }
    return result.structuredContent || {};
  }

  // -- formatting in the person's locale -----------------------------------------------------
  function money(amount, currency) {
    const value = Number(amount);
    if (!currency) return value.toLocaleString(context.locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    try {
      return new Intl.NumberFormat(context.locale, { style: "currency", currency }).format(value);
    } catch (_) {
      return `${currency} ${value.toFixed(2)}`;
    }
  }

  // A calendar date (YYYY-MM-DD) is the person's own day: format it as is, never shifted by a zone.
  function day(isoDate, options) {
    const [y, m, d] = String(isoDate).split("-").map(Number);
    const date = new Date(Date.UTC(y, (m || 1) - 1, d || 1));
    return new Intl.DateTimeFormat(context.locale, { ...(options || { day: "numeric", month: "short" }), timeZone: "UTC" }).format(date);
  }

  // An instant (ISO 8601 with offset), shown in the host's time zone when it gave one.
  function instant(iso, options) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return String(iso);
    const opts = { ...(options || { dateStyle: "medium", timeStyle: "short" }) };
    if (context.timeZone) opts.timeZone = context.timeZone;
    try {
      return new Intl.DateTimeFormat(context.locale, opts).format(date);
    } catch (_) {
      return date.toISOString();
    }
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  return { start, callTool, money, day, instant, el, svg, context };
})();
