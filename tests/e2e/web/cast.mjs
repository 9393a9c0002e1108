// Casting from the phone, end to end: chromium at a phone's width on
// another host of the LAN (a network namespace of the renderer test)
// searches (a Torznab fixture), chooses the TV (gmediarender, found by our
// own control point), presses Cast on the result, and the TVs page shows
// PLAYING with the position moving; Pause gives PAUSED_PLAYBACK and Stop
// stops it. Cast to a renderer that refuses it (UPnP error 714), the page
// says so in words.
//   node cast.mjs BASE QUERY TV_NAME FAULT_TV_NAME
// SCREENSHOTS=DIR keeps the search and TVs pages, at phone and desktop
// widths.
import { launch } from "./browser.mjs";
import { join } from "node:path";

const [base, query, tvName, faultName] = process.argv.slice(2);
const shots = process.env.SCREENSHOTS;
const browser = await launch();
const context = browser.context;
const step = (what) => console.log(`  … ${what}`);
let failed = false;

/// The TV card's raw state (PLAYING, PAUSED_PLAYBACK, …) and position text.
async function tvState(page, udn) {
  return page.evaluate((udn) => {
    const li = document.querySelector(`li.tv[data-udn="${CSS.escape(udn)}"]`);
    return li ? [li.querySelector(".tv-state")?.dataset.state || "", li.querySelector(".pos")?.textContent || ""] : ["", ""];
  }, udn);
}

async function waitState(page, udn, want, timeout) {
  const deadline = Date.now() + timeout;
  let seen = ["", ""];
  while (Date.now() < deadline) {
    seen = await tvState(page, udn);
    if (seen[0] === want) return seen;
    await page.waitForTimeout(250);
  }
  throw new Error(`the TV is ${seen[0] || "unknown"}, not ${want}`);
}

try {
  const page = context.pages()[0] || (await context.newPage());
  step("the TVs page finds the renderer");
  await page.goto(`${base}/tvs`, { timeout: 30_000 });
  const card = await page.waitForSelector(`li.tv:has(.name:text-is("${tvName}"))`, { timeout: 30_000 });
  const udn = await card.getAttribute("data-udn");

  step("search, for that TV");
  await page.goto(`${base}/search?q=${encodeURIComponent(query)}`, { timeout: 60_000 });
  if (!(await page.$("#providers li.provider.ok"))) throw new Error("no provider answered ok");
  await page.selectOption("#search-tv", udn);
  await page.waitForURL(/tv=/, { timeout: 60_000 });
  await page.waitForSelector("#results li .badge.yes", { timeout: 60_000 });
  if (shots) await page.screenshot({ path: join(shots, "search-phone.png"), fullPage: true });

  step("Cast on the first result, whose swarm is dead: said, and the next one offered");
  await page.click("#results li:first-child button.result-cast");
  const offer = await page.waitForSelector("#results li:first-child button.next-result", { timeout: 90_000 });
  const said = await page.textContent("#results li:first-child .result-status");
  if (!/peer|swarm|metadata/i.test(said)) throw new Error(`a dead swarm is not said: ${said}`);
  console.log(`PASS: a dead swarm is said: ${said}`);
  await offer.click();
  await page.waitForURL(/\/tvs/, { timeout: 90_000 });
  await waitState(page, udn, "PLAYING", 60_000);
  // Moving forward: two readings in a row, the second later in the video
  // (a TV that played something else before may show its old position).
  const seconds = (t) => (/^\d+(:\d\d)+$/.test(t) ? t.split(":").reduce((a, x) => a * 60 + Number(x), 0) : -1);
  const deadline = Date.now() + 30_000;
  let [, before] = await tvState(page, udn);
  let now = before;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`the position does not move forward (${before} → ${now})`);
    await page.waitForTimeout(700);
    const [state, pos] = await tvState(page, udn);
    now = pos;
    if (state !== "PLAYING") {
      before = "";
      continue;
    }
    if (seconds(before) >= 0 && seconds(now) > seconds(before)) break;
    before = now;
  }
  console.log(`PASS: cast from a search result: PLAYING, position ${before} → ${now}`);
  if (shots) await page.screenshot({ path: join(shots, "tvs-phone.png"), fullPage: true });

  const li = `li.tv[data-udn="${udn}"]`;
  await page.click(`${li} button[data-command="pause"]`);
  await waitState(page, udn, "PAUSED_PLAYBACK", 20_000);
  console.log("PASS: Pause → PAUSED_PLAYBACK");
  if (shots) {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: join(shots, "tvs-desktop.png"), fullPage: true });
  }
  await page.click(`${li} button[data-command="stop"]`);
  await waitState(page, udn, "STOPPED", 20_000);
  console.log("PASS: Stop → STOPPED");
  if (shots) {
    await page.goto(`${base}/search?q=${encodeURIComponent(query)}&tv=${encodeURIComponent(udn)}`, { timeout: 60_000 });
    await page.screenshot({ path: join(shots, "search-desktop.png"), fullPage: true });
  }

  step("Cast to a TV that refuses the file");
  await page.goto(`${base}/tvs`, { timeout: 30_000 });
  const refuser = await page.waitForSelector(`li.tv:has(.name:text-is("${faultName}"))`, { timeout: 30_000 });
  const faultUdn = await refuser.getAttribute("data-udn");
  await page.goto(`${base}/search?q=${encodeURIComponent(query)}&tv=${encodeURIComponent(faultUdn)}`, { timeout: 60_000 });
  await page.click("#results li:nth-child(2) button.result-cast");
  await page.waitForFunction(
    () => /714/.test(document.querySelector("#results li:nth-child(2) .result-status")?.textContent || ""),
    null, { timeout: 60_000 });
  const fault = await page.textContent("#results li:nth-child(2) .result-status");
  if (!/does not play this kind of file/.test(fault) || !/Illegal MIME-type/.test(fault)) {
    throw new Error(`the fault is not in words: ${fault}`);
  }
  console.log(`PASS: a 714 is shown in words: ${fault}`);
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e.message}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
