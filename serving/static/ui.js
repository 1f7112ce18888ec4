// The web app's login and data loading. The API key the user types in is kept in this tab's
// sessionStorage only (gone when the tab closes, never in a cookie or a URL) and sent as
// X-API-Key with every request. Pages are shells; their data comes as HTML fragments that
// the server renders (and escapes) from the API's answers; changes are plain API calls.
"use strict";

// One scope per script: both run in the same page.
(() => {

  const KEY_STORAGE = "bg-api-key";

  const bg = {
    key: () => sessionStorage.getItem(KEY_STORAGE) || "",

    say(message, isError = false) {
      const status = document.getElementById("status");
      status.textContent = message;
      status.className = isError ? "error" : "";
    },

    async request(path, options = {}) {
      const headers = { "X-API-Key": bg.key(), ...(options.headers || {}) };
      if (options.body) headers["Content-Type"] = "application/json";
      const response = await fetch(path, { ...options, headers });
      if (response.status === 401) {
        bg.disconnect("That API key is not valid (or was revoked): log in again.");
      }
      return response;
    },

    async api(path, options = {}) {
      const response = await bg.request(path, { ...options, headers: { Accept: "application/json" } });
      const body = await response.json().catch(() => null);
      if (!response.ok) throw problem(response, body);
      return body;
    },

    disconnect(message) {
      sessionStorage.removeItem(KEY_STORAGE);
      showSession(false);
      for (const node of document.querySelectorAll("[data-fragment]")) node.replaceChildren();
      document.dispatchEvent(new CustomEvent("bg:disconnected"));
      if (message) bg.say(message, true);
    },
  };
  window.bg = bg;

  function problem(response, body) {
    const detail = body && (body.detail || body.title);
    const error = new Error(detail || `HTTP ${response.status}`);
    error.status = response.status;
    return error;
  }

  function showSession(connected) {
    document.getElementById("connect").hidden = connected;
    document.getElementById("session").hidden = !connected;
    document.getElementById("login-hint").hidden = connected;
    document.body.classList.toggle("connected", connected);
  }

  // --- fragments ---------------------------------------------------------------------------

  async function loadFragment(node) {
    let path = node.dataset.fragment;
    if (node.hasAttribute("data-with-query")) path += window.location.search;
    node.setAttribute("aria-busy", "true");
    try {
      const response = await bg.request(path, { headers: { Accept: "text/html" } });
      if (response.status === 401) return;
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        throw problem(response, body);
      }
      // The server escapes every value it writes; the policy (CSP) refuses inline scripts.
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      node.replaceChildren(...page.body.childNodes);
      node.dataset.loaded = String(Date.now());
      await loadFragments(node);
    } catch (error) {
      const message = document.createElement("p");
      message.className = "error";
      message.setAttribute("role", "alert");
      message.textContent = `Could not load this part: ${error.message}`;
      node.replaceChildren(message);
    } finally {
      node.setAttribute("aria-busy", "false");
    }
  }

  async function loadFragments(root = document) {
    const nodes = [...root.querySelectorAll("[data-fragment]")];
    await Promise.all(nodes.map(loadFragment));
  }

  // --- changes: a form with data-api-method sends its fields as JSON to data-api-path ---------

  function formBody(form) {
    const body = {};
    const fields = new FormData(form);
    const inPath = form.dataset.apiPath.match(/\{(\w+)\}/g) || [];
    const pathFields = inPath.map((p) => p.slice(1, -1));
    for (const [name, value] of fields.entries()) {
      if (!pathFields.includes(name)) body[name] = value;
    }
    const blankIsNull = form.dataset.nullBlank;
    if (blankIsNull && body[blankIsNull] === "") body[blankIsNull] = null;
    if (form.dataset.extraSource) body.source = form.dataset.extraSource;
    return body;
  }

  function formPath(form) {
    const fields = new FormData(form);
    return form.dataset.apiPath.replace(/\{(\w+)\}/g, (_, name) =>
      encodeURIComponent(fields.get(name) || ""),
    );
  }

  async function submitApiForm(event) {
    const form = event.target.closest("form[data-api-method]");
    if (!form) return;
    event.preventDefault();
    const method = form.dataset.apiMethod;
    const body = method === "DELETE" ? null : JSON.stringify(formBody(form));
    const buttons = [...form.querySelectorAll("button")];
    for (const button of buttons) button.disabled = true;
    try {
      await bg.api(formPath(form), { method, body });
      bg.say(form.dataset.done || "Saved");
      const fragment = form.closest("[data-fragment]");
      if (fragment) await loadFragment(fragment);
    } catch (error) {
      bg.say(`Not saved: ${error.message}`, true);
      for (const button of buttons) button.disabled = false;
    }
  }

  // --- the groups filter: a GET form; empty fields are left out of the address ---------------

  function submitFilters(event) {
    const form = event.target.closest("form.filters[method=get]");
    if (!form) return;
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form).entries()) {
      if (String(value).trim()) query.append(name, String(value).trim());
    }
    const search = query.toString();
    window.location.assign(form.getAttribute("action") + (search ? `?${search}` : ""));
  }

  // --- downloads: fetched with the key, handed to the browser as a file ----------------------

  async function download(event) {
    const button = event.target.closest("button[data-download]");
    if (!button) return;
    const path = button.dataset.download + window.location.search;
    try {
      const response = await bg.request(path, { headers: { Accept: "text/csv" } });
      if (!response.ok) throw problem(response, await response.json().catch(() => null));
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = "buying-groups.csv";
      document.body.append(link);
      link.click();
      link.remove();
      bg.say("CSV downloaded.");
    } catch (error) {
      bg.say(`No CSV: ${error.message}`, true);
    }
  }

  // --- login -------------------------------------------------------------------------------

  async function connect(event) {
    event.preventDefault();
    const key = document.getElementById("api-key").value.trim();
    sessionStorage.setItem(KEY_STORAGE, key);
    try {
      await bg.api("/v1/solution-interests");
    } catch (error) {
      if (error.status !== 401) bg.say(`Could not log in: ${error.message}`, true);
      return;
    }
    document.getElementById("api-key").value = "";
    bg.say("Logged in.");
    start();
  }

  function start() {
    showSession(true);
    document.dispatchEvent(new CustomEvent("bg:connected"));
    loadFragments();
  }

  function init() {
    document.getElementById("connect").addEventListener("submit", connect);
    document.getElementById("disconnect").addEventListener("click", () => {
      bg.disconnect();
      bg.say("Logged out.");
    });
    document.addEventListener("submit", (event) => {
      submitApiForm(event);
      submitFilters(event);
    });
    document.addEventListener("click", download);
    if (bg.key()) start();
    else showSession(false);
  }

  document.addEventListener("DOMContentLoaded", init);
})();
