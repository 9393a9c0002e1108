// The one way the e2e scripts start a browser: Debian's chromium driven by
// Playwright (playwright-core; its own download is never used), headless,
// at a phone's size, in a fresh profile that `close` removes.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/// A browser context; `extraArgs` are more chromium flags.
export async function launch(extraArgs = []) {
  const profile = mkdtempSync(join(tmpdir(), "swarmcast-chromium-"));
  // Playwright passes the profile as --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 390, height: 844 },
    args: [
      "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-quic", "--disable-component-update", "--disable-sync",
      ...extraArgs,
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
