// swarmcast web app: adding, live progress (server-sent events), delete.
// Plain JavaScript, no build step; every change goes to the JSON API,
// which the server's one permission layer guards.
"use strict";

function $(sel, root) { return (root || document).querySelector(sel); }

function say(el, text, isError) {
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("error", !!isError);
}

async function errorOf(resp) {
  try { return (await resp.json()).error || resp.statusText; } catch (_) { return resp.statusText; }
}

async function add(body, contentType) {
  const status = $("#add-status");
  say(status, "Adding… a magnet waits for the swarm to send its file list.");
  try {
    const resp = await fetch("/api/torrents", { method: "POST", body, headers: { "content-type": contentType } });
    if (!resp.ok) { say(status, await errorOf(resp), true); return; }
    const t = await resp.json();
    say(status, (resp.status === 201 ? "Added: " : "Already here: ") + t.name);
    if (!document.querySelector('[data-ih="' + t.info_hash + '"]')) location.reload();
  } catch (e) {
    say(status, "The server did not answer: " + e.message, true);
  }
}

function wireAdd() {
  const form = $("#add");
  if (form) {
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const uri = $("#uri").value.trim();
      if (uri) add(JSON.stringify({ uri }), "application/json");
    });
  }
  const file = $("#torrent-file");
  if (file) {
    file.addEventListener("change", async () => {
      const f = file.files[0];
      if (f) add(await f.arrayBuffer(), "application/x-bittorrent");
      file.value = "";
    });
  }
}

function wireProgress() {
  if (!document.querySelector("[data-ih]") && !$("#torrents")) return;
  const events = new EventSource("/web/progress");
  events.onmessage = (ev) => {
    let list;
    try { list = JSON.parse(ev.data); } catch (_) { return; }
    for (const t of list) {
      for (const el of document.querySelectorAll('[data-ih="' + t.info_hash + '"]')) {
        const bar = $("progress", el);
        if (bar) bar.value = t.permille;
        const set = (cls, text) => { const x = $("." + cls, el); if (x) x.textContent = text; };
        set("pct", t.percent);
        set("peers", t.peers);
        set("rate", t.rate);
        set("state", t.state);
        set("streaming", t.streaming ? "▶ streaming " + t.streaming : "");
      }
    }
    const known = new Set(list.map((t) => t.info_hash));
    // A torrent's page whose torrent was deleted elsewhere says so.
    for (const el of document.querySelectorAll("section[data-ih]")) {
      if (!known.has(el.dataset.ih)) {
        const state = $(".state", el);
        if (state) state.textContent = "deleted";
      }
    }
    const shown = [...document.querySelectorAll("#torrents [data-ih]")].map((el) => el.dataset.ih);
    if ($("#torrents") && (shown.some((ih) => !known.has(ih)) || list.some((t) => !shown.includes(t.info_hash)))) {
      location.reload();
    }
  };
}

function wireDelete() {
  const button = $("#delete");
  if (!button) return;
  button.addEventListener("click", async () => {
    if (!confirm("Delete this torrent and its downloaded data?")) return;
    button.disabled = true;
    try {
      const resp = await fetch("/api/torrents/" + button.dataset.ih, { method: "DELETE" });
      if (resp.ok) { location.href = "/"; return; }
      say($("#delete-status"), await errorOf(resp), true);
    } catch (e) {
      say($("#delete-status"), "The server did not answer: " + e.message, true);
    }
    button.disabled = false;
  });
}

function wireSearches() {
  const form = $("#save-search");
  if (form) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { query: $("#query").value.trim() };
      for (const key of ["category", "max_size", "language"]) {
        const v = $("#" + key).value.trim();
        if (v) body[key] = v;
      }
      const seeders = $("#min_seeders").value.trim();
      if (seeders) body.min_seeders = Number(seeders);
      const status = $("#save-status");
      const resp = await fetch("/api/saved-searches", {
        method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" },
      });
      if (resp.ok) location.reload();
      else say(status, await errorOf(resp), true);
    });
  }
  for (const button of document.querySelectorAll("button.forget")) {
    button.addEventListener("click", async () => {
      const resp = await fetch("/api/saved-searches/" + button.dataset.id, { method: "DELETE" });
      if (resp.ok) location.reload();
      else say($("#save-status"), await errorOf(resp), true);
    });
  }
}

function wireContext() {
  const secure = $("#secure-context"), insecure = $("#insecure-context");
  if (!secure || !window.isSecureContext) return;
  secure.hidden = false;
  if (insecure) insecure.hidden = true;
  const handler = $("#magnet-handler");
  if (handler && navigator.registerProtocolHandler) {
    handler.addEventListener("click", () => {
      navigator.registerProtocolHandler("magnet", location.origin + "/add?uri=%s");
    });
  } else if (handler) {
    handler.hidden = true;
  }
}

// The service worker (the app's shell, for installing it): only where the
// browser allows one, a secure context.
function wireWorker() {
  if (window.isSecureContext && "serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(() => {});
  }
}

document.addEventListener("DOMContentLoaded", () => {
  wireWorker();
  wireAdd();
  wireProgress();
  wireDelete();
  wireSearches();
  wireContext();
});
