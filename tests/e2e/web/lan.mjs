// The web app from another machine on the LAN (a network namespace of the
// renderer test), as a phone would open it: over plain HTTP from a LAN
// address, which is no secure context.
//   node lan.mjs BASE MAGNET INFO_HASH
// The library lists the torrent; the page says plainly what needs HTTPS;
// the form's change passes the permission layer from a LAN origin.
import { launch } from "./browser.mjs";

const [base, magnet, infoHash] = process.argv.slice(2);
const browser = await launch();
const context = browser.context;
let failed = false;
try {
  const page = context.pages()[0] || (await context.newPage());
  await page.goto(`${base}/`, { timeout: 30_000 });
  if (!(await page.$(`li[data-ih="${infoHash}"]`))) throw new Error("the library does not list the torrent");
  if (await page.evaluate(() => window.isSecureContext)) throw new Error("a LAN address over HTTP is a secure context?");
  await page.goto(`${base}/settings`, { timeout: 30_000 });
  const says = await page.textContent("#insecure-context");
  if (!(await page.isVisible("#insecure-context")) || !/need HTTPS/.test(says)) {
    throw new Error(`the settings page does not say what needs HTTPS: ${says}`);
  }
  await page.goto(`${base}/`, { timeout: 30_000 });
  await page.fill("#uri", magnet);
  await page.click("form#add button");
  await page.waitForFunction(() => /Already here/.test(document.querySelector("#add-status")?.textContent || ""), null, {
    timeout: 60_000,
  });
  console.log("PASS: from a LAN address: listed, HTTPS-only features explained, the form's change let through");
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e.message}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
