// swarmcast web app: adding, live progress (server-sent events), delete,
// casting to a TV and its controls (state and position pushed the same way).
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

function wireKeep() {
  const box = $("#keep");
  if (!box) return;
  box.addEventListener("change", async () => {
    const keep = box.checked;
    box.disabled = true;
    try {
      const resp = await fetch("/api/torrents/" + box.dataset.ih, {
        method: "PATCH", body: JSON.stringify({ keep }), headers: { "content-type": "application/json" },
      });
      if (resp.ok) {
        say($("#keep-status"), keep ? "Kept: never evicted for the disk budget." : "It may be evicted when the disk budget needs room.");
      } else {
        box.checked = !keep;
        say($("#keep-status"), await errorOf(resp), true);
      }
    } catch (e) {
      box.checked = !keep;
      say($("#keep-status"), "The server did not answer: " + e.message, true);
    }
    box.disabled = false;
  });
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

async function post(path, body) {
  const init = { method: "POST" };
  if (body !== undefined) { init.body = JSON.stringify(body); init.headers = { "content-type": "application/json" }; }
  return fetch(path, init);
}

function wireCast() {
  for (const button of document.querySelectorAll("button.cast")) {
    button.addEventListener("click", async () => {
      const box = button.closest(".cast-to");
      const status = $(".cast-status", box);
      const renderer = $(".tv-pick", box).value;
      button.disabled = true;
      say(status, "Sending it to the TV…");
      try {
        const resp = await post("/api/cast", { renderer, info_hash: button.dataset.torrent, index: Number(button.dataset.index) });
        if (resp.ok) { location.href = "/tvs#" + encodeURIComponent(renderer); return; }
        say(status, await errorOf(resp), true);
      } catch (e) {
        say(status, "The server did not answer: " + e.message, true);
      }
      button.disabled = false;
    });
  }
}

// A result whose swarm gave nothing: a button that does the same with the
// next result.
function offerNext(row, button, status) {
  const next = row.nextElementSibling;
  const same = next && next.querySelector("button." + [...button.classList].find((c) => c.startsWith("result-")));
  if (!same || $(".next-result", row)) return;
  const offer = document.createElement("button");
  offer.type = "button";
  offer.className = "next-result";
  offer.textContent = (button.classList.contains("result-cast") ? "Cast" : "Play") + " the next result instead";
  offer.addEventListener("click", () => { offer.remove(); same.click(); });
  status.after(offer);
}

// Search results: "Play here" and "Cast" add the result (its torrent,
// waiting for the swarm's file list), then play the file Play best would.
function wireResults() {
  const pick = $("#search-tv");
  if (pick) pick.addEventListener("change", () => { if ($("#search-form").q.value.trim()) $("#search-form").submit(); });
  for (const button of document.querySelectorAll("button.result-play, button.result-cast")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const row = button.closest("li");
      const status = $(".result-status", row);
      const casting = button.classList.contains("result-cast");
      button.disabled = true;
      say(status, "Asking the swarm for its files…");
      try {
        let resp = await post("/api/search/" + button.dataset.saved + "/" + button.dataset.ih + "/add");
        if (!resp.ok) {
          say(status, await errorOf(resp), true);
          offerNext(row, button, status);
          button.disabled = false;
          return;
        }
        const added = await resp.json();
        if (added.index === null) { say(status, "It holds nothing to play.", true); return; }
        if (!casting) { location.href = "/watch/" + added.info_hash + "/" + added.index; return; }
        say(status, "Sending it to the TV…");
        resp = await post("/api/cast", { renderer: button.dataset.tv, info_hash: added.info_hash, index: added.index });
        if (resp.ok) { location.href = "/tvs#" + encodeURIComponent(button.dataset.tv); return; }
        say(status, await errorOf(resp), true);
      } catch (e) {
        say(status, "The server did not answer: " + e.message, true);
      }
      button.disabled = false;
    });
  }
}

function clock(ms) {
  if (ms === null || ms === undefined) return "–";
  const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(r).padStart(2, "0");
}

const STATES = {
  PLAYING: "▶ playing", PAUSED_PLAYBACK: "❚❚ paused", STOPPED: "■ stopped",
  TRANSITIONING: "… loading", NO_MEDIA_PRESENT: "nothing to play",
};

function tvCard(list, r) {
  let li = list.querySelector('li[data-udn="' + CSS.escape(r.udn) + '"]');
  if (!li) {
    li = $("#tv-card").content.firstElementChild.cloneNode(true);
    li.dataset.udn = r.udn;
    list.appendChild(li);
    wireTvCard(li);
  }
  $(".name", li).textContent = r.name;
  $(".model", li).textContent = [r.manufacturer, r.model].filter(Boolean).join(" ");
  $(".address", li).textContent = r.address;
  $(".tv-plays", li).textContent = r.plays;
  $(".volume", li).hidden = !r.volume;
  return li;
}

function wireTvCard(li) {
  const message = $(".tv-message", li);
  const send = async (command, body) => {
    say(message, "");
    try {
      const resp = await post("/api/cast/" + encodeURIComponent(li.dataset.udn) + "/" + command, body);
      if (!resp.ok) say(message, await errorOf(resp), true);
    } catch (e) {
      say(message, "The server did not answer: " + e.message, true);
    }
  };
  for (const b of li.querySelectorAll("button[data-command]")) {
    b.addEventListener("click", () => send(b.dataset.command));
  }
  const seek = $(".seek", li), vol = $(".vol", li);
  seek.addEventListener("change", () => { li.dataset.busy = ""; send("seek", { seconds: Number(seek.value) }); });
  seek.addEventListener("input", () => { li.dataset.busy = "1"; });
  vol.addEventListener("change", () => { li.dataset.busy = ""; send("volume", { volume: Number(vol.value) }); });
  vol.addEventListener("input", () => { li.dataset.busy = "1"; });
}

function wireTvs() {
  const list = $("#tvs");
  if (!list) return;
  for (const li of list.querySelectorAll("li.tv")) wireTvCard(li);
  const events = new EventSource("/web/tvs");
  events.onmessage = (ev) => {
    let data;
    try { data = JSON.parse(ev.data); } catch (_) { return; }
    const seen = new Set();
    for (const r of data.renderers) { seen.add(r.udn); tvCard(list, r); }
    for (const li of list.querySelectorAll("li.tv")) if (!seen.has(li.dataset.udn)) li.remove();
    $("#no-tvs").hidden = data.renderers.length > 0;
    for (const s of data.states) {
      const li = list.querySelector('li[data-udn="' + CSS.escape(s.udn) + '"]');
      if (!li) continue;
      const state = $(".tv-state", li);
      state.textContent = s.error ? "not answering" : (STATES[s.state] || s.state || "…");
      state.dataset.state = s.state;
      $(".tv-title", li).textContent = s.title ? "— " + s.title : "";
      $(".pos", li).textContent = clock(s.position_ms);
      $(".dur", li).textContent = clock(s.duration_ms);
      const message = $(".tv-message", li);
      if (s.error) say(message, s.error, true);
      else if (message.classList.contains("error") && message.dataset.from === "state") say(message, "");
      message.dataset.from = s.error ? "state" : "";
      if (!li.dataset.busy) {
        const seek = $(".seek", li);
        seek.max = Math.floor((s.duration_ms || 0) / 1000);
        seek.value = Math.floor((s.position_ms || 0) / 1000);
        if (s.volume !== null && s.volume !== undefined) $(".vol", li).value = s.volume;
      }
    }
  };
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

// Over plain HTTP with the HTTPS listener on, every page points at the
// secure address and says what it adds (the settings page says it itself).
function wireHttps() {
  const port = document.body.dataset.httpsPort;
  if (!port || window.isSecureContext || $("#https-offer")) return;
  const url = `https://${location.hostname}:${port}${location.pathname}${location.search}`;
  const p = document.createElement("p");
  p.className = "note https-offer";
  p.id = "https-banner";
  p.append("At the secure address this app installs, opens magnet links and takes shared links: ");
  const a = document.createElement("a");
  a.href = url;
  a.textContent = `https://${location.hostname}:${port}/`;
  p.append(a);
  const main = $("main");
  if (main) main.prepend(p);
}

document.addEventListener("DOMContentLoaded", () => {
  wireWorker();
  wireHttps();
  wireAdd();
  wireProgress();
  wireKeep();
  wireDelete();
  wireSearches();
  wireCast();
  wireResults();
  wireTvs();
  wireContext();
});
