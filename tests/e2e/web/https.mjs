// The web app over HTTPS from another machine on the LAN (the phone's
// namespace of the renderer test): with swarmcast's self-signed
// certificate trusted, a LAN address is a secure context, so what plain
// HTTP cannot have works — the service worker, the installable manifest
// with its share target, the `magnet:` handler.
//   node https.mjs HTTPS_BASE SPKI_HASH MAGNET [FINGERPRINT]
// SPKI_HASH is base64(SHA-256(the certificate's SubjectPublicKeyInfo)):
// chromium trusts that one key (--ignore-certificate-errors-spki-list),
// never every certificate (--ignore-certificate-errors would also leave
// the page without a service worker). FINGERPRINT, if given, is what the
// settings page must show (SHA-256 of the certificate, AA:BB:…).
import { launch } from "./browser.mjs";

const [base, spki, magnet, fingerprint] = process.argv.slice(2);
if (!base || !spki || !magnet) {
  console.error("usage: node https.mjs HTTPS_BASE SPKI_HASH MAGNET [FINGERPRINT]");
  process.exit(2);
}
if (!base.startsWith("https://")) {
  console.error(`FAIL: ${base} is not an https:// address`);
  process.exit(2);
}

/// `promise`, or an error naming `what` after `ms`.
function bounded(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const browser = await launch([`--ignore-certificate-errors-spki-list=${spki}`]);
const context = browser.context;
let failed = false;
const pageErrors = [];
const cookies = [];
try {
  const page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => pageErrors.push(e.message));
  // Whatever cookie the server sets over HTTPS is checked at the end.
  page.on("response", async (resp) => {
    const set = await resp.headerValue("set-cookie").catch(() => null);
    if (set) cookies.push({ url: resp.url(), set });
  });

  await page.goto(`${base}/`, { timeout: 30_000 });
  if (!(await page.evaluate(() => window.isSecureContext))) {
    throw new Error(`${base}/ is no secure context (was the certificate trusted?)`);
  }
  console.log(`PASS: ${base}/ is a secure context with the self-signed certificate's key trusted`);

  // app.js registers /sw.js in a secure context; ready resolves once it
  // is active.
  const scope = await page.evaluate(() => {
    const late = new Promise((_, reject) =>
      setTimeout(() => reject(new Error("navigator.serviceWorker.ready: nothing after 20 s")), 20_000));
    return Promise.race([navigator.serviceWorker.ready.then((r) => r.scope), late]);
  });
  if (scope !== `${base}/`) throw new Error(`the service worker's scope is ${scope}, expected ${base}/`);
  console.log(`PASS: the service worker is active, scope ${scope}`);

  const manifest = await page.evaluate(async () => {
    const resp = await fetch("/manifest.webmanifest");
    return { status: resp.status, text: await resp.text() };
  });
  if (manifest.status !== 200) throw new Error(`/manifest.webmanifest: HTTP ${manifest.status}`);
  let m;
  try {
    m = JSON.parse(manifest.text);
  } catch (e) {
    throw new Error(`/manifest.webmanifest is no JSON: ${e.message}`);
  }
  if (m.share_target?.action !== "/add" || m.share_target?.params?.url !== "url") {
    throw new Error(`the manifest's share_target is ${JSON.stringify(m.share_target)}`);
  }
  console.log("PASS: the manifest's share target is /add with the shared url as `url`");

  // Registering a `magnet:` handler needs a secure context; it throws
  // (SecurityError) where the page is none.
  const registered = await page.evaluate(() => {
    try {
      navigator.registerProtocolHandler("magnet", location.origin + "/add?uri=%s");
      return "ok";
    } catch (e) {
      return `${e.name}: ${e.message}`;
    }
  });
  if (registered !== "ok") throw new Error(`registerProtocolHandler('magnet', …) threw ${registered}`);
  console.log("PASS: registerProtocolHandler('magnet', …) accepted over HTTPS");

  // Android's share sheet opens the share target with the link as `url`:
  // the library comes with it in the add form (never added by itself).
  await page.goto(`${base}/add?url=${encodeURIComponent(magnet)}`, { timeout: 30_000 });
  const prefilled = await page.inputValue("#uri");
  if (prefilled !== magnet) throw new Error(`#uri holds ${JSON.stringify(prefilled)}, expected the magnet`);
  console.log("PASS: /add?url=MAGNET puts the magnet in the add form");

  await page.goto(`${base}/settings`, { timeout: 30_000 });
  const shown = ((await page.textContent("#tls-fingerprint").catch(() => null)) || "").trim();
  if (!shown) throw new Error("the settings page shows no #tls-fingerprint");
  if (fingerprint && !shown.toUpperCase().includes(fingerprint.toUpperCase())) {
    throw new Error(`#tls-fingerprint is ${shown}, expected ${fingerprint}`);
  }
  console.log(`PASS: the settings page shows the certificate's fingerprint ${shown}`);
  // The page's own button for the same registration, where it shows.
  if (await page.isVisible("#magnet-handler")) {
    const before = pageErrors.length;
    await page.click("#magnet-handler");
    await page.waitForTimeout(500);
    if (pageErrors.length > before) throw new Error(`#magnet-handler: ${pageErrors.slice(before).join("; ")}`);
    console.log("PASS: the settings page's magnet-handler button works without a page error");
  } else {
    console.log("NOTE: the settings page over HTTPS shows no #magnet-handler button");
  }

  // A cookie set over HTTPS (with web.token: the session) keeps script
  // and other sites away from it.
  for (const { url, set } of cookies) {
    for (const line of set.split("\n")) {
      if (!/;\s*HttpOnly/i.test(line) || !/;\s*SameSite=Strict/i.test(line)) {
        throw new Error(`${url} sets a cookie without HttpOnly and SameSite=Strict: ${line}`);
      }
      if (!/;\s*Secure/i.test(line)) console.log(`NOTE: ${url} sets a cookie without Secure over HTTPS: ${line}`);
    }
  }
  if (cookies.length) console.log(`PASS: ${cookies.length} cookie(s) set over HTTPS, each HttpOnly and SameSite=Strict`);
  if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join("; ")}`);
  console.log("PASS: over HTTPS from a LAN address: secure context, service worker, share target, magnet handler");
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e.message}`);
} finally {
  await bounded(browser.close(), 15_000, "closing the browser").catch((e) => console.error(e.message));
}
process.exit(failed ? 1 : 0);
