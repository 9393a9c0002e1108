// The web app in a real browser: Playwright (playwright-core) drives
// Debian's chromium against a running swarmcast.
//   node web.mjs BASE MAGNET INFO_HASH [SCREENSHOT_DIR]
// Adds MAGNET through the library's form and waits for its progress bar to
// reach 100 %; opens the torrent's page until its subtitles are listed;
// plays the video in <video> until currentTime passes 1.5 s with the
// subtitle track's cues loaded. Fails on any Content-Security-Policy
// violation or page error. Every wait is bounded.
import { launch } from "./browser.mjs";
import { join } from "node:path";

const [base, magnet, infoHash, shots] = process.argv.slice(2);
if (!base || !magnet || !infoHash) {
  console.error("usage: node web.mjs BASE MAGNET INFO_HASH [SCREENSHOT_DIR]");
  process.exit(2);
}

const browser = await launch(["--autoplay-policy=no-user-gesture-required"]);
const context = browser.context;
const problems = [];
let failed = false;
try {
  const page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });

  // 1. Add through the form; the progress bar reaches 100 %.
  await page.goto(`${base}/`, { timeout: 30_000 });
  await page.fill("#uri", magnet);
  await page.click("form#add button");
  const bar = `li[data-ih="${infoHash}"] progress`;
  await page.waitForSelector(bar, { timeout: 120_000 });
  await page.waitForFunction((sel) => document.querySelector(sel)?.value >= 1000, bar, {
    timeout: 120_000,
  });
  console.log("PASS: added through the form; its progress bar reached 100 %");
  // 127.0.0.1 is a secure context: the service worker registers.
  const worker = await page.evaluate(async () => {
    const ready = navigator.serviceWorker.ready.then((r) => r.active && r.active.scriptURL);
    const late = new Promise((resolve) => setTimeout(() => resolve(null), 15000));
    return Promise.race([ready, late]);
  });
  if (!worker || !worker.endsWith("/sw.js")) throw new Error(`no service worker: ${worker}`);
  console.log("PASS: the service worker is active");
  if (shots) await page.screenshot({ path: join(shots, "library-phone.png"), fullPage: true });

  // 2. The torrent's page lists the video's subtitles once they are found.
  const deadline = Date.now() + 60_000;
  for (;;) {
    await page.goto(`${base}/torrent/${infoHash}`, { timeout: 30_000 });
    if (await page.$(".subs")) break;
    if (Date.now() > deadline) throw new Error("no subtitles on the torrent's page within 60 s");
    await page.waitForTimeout(500);
  }
  console.log("PASS: the torrent's page lists its subtitles");
  // Keep its data whatever the disk budget: the box says so to the API.
  await page.check("#keep");
  await page.waitForFunction(() => /Kept/.test(document.querySelector("#keep-status").textContent), null, { timeout: 10_000 });
  const kept = await page.evaluate(async (ih) => (await (await fetch(`/api/torrents/${ih}`)).json()).keep, infoHash);
  if (kept !== true) throw new Error(`keep not set: ${kept}`);
  console.log("PASS: the torrent's page marks it kept");
  if (shots) await page.screenshot({ path: join(shots, "torrent-phone.png"), fullPage: true });

  // 3. Play it here, with the WebVTT track loaded.
  await page.click("a.button");
  await page.waitForSelector("video", { timeout: 30_000 });
  await page.waitForFunction(() => {
    const v = document.querySelector("video");
    const t = v && v.textTracks[0];
    return v && v.currentTime > 1.5 && t && t.mode === "showing" && t.cues && t.cues.length > 0;
  }, null, { timeout: 90_000, polling: 250 });
  const state = await page.evaluate(() => {
    const v = document.querySelector("video");
    const t = v.textTracks[0];
    return { time: v.currentTime, lang: t.language, cues: t.cues.length, first: t.cues[0].getCueAsHTML().textContent };
  });
  if (!/Café für Tom & Jerry/.test(state.first)) throw new Error(`first cue: ${state.first}`);
  console.log(`PASS: <video> at ${state.time.toFixed(1)} s, track ${state.lang} with ${state.cues} cues`);
  if (shots) {
    await page.screenshot({ path: join(shots, "watch-phone.png") });
    await page.setViewportSize({ width: 1280, height: 800 });
    for (const [name, path] of [["library", "/"], ["torrent", `/torrent/${infoHash}`], ["settings", "/settings"]]) {
      await page.goto(`${base}${path}`, { timeout: 30_000 });
      await page.screenshot({ path: join(shots, `${name}-desktop.png`), fullPage: true });
    }
  }
  if (problems.length) throw new Error(problems.join("\n"));
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e.message}`);
  if (problems.length) console.error(problems.join("\n"));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
