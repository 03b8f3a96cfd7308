// Chromium under a real managed policy, for the rollout tests and `cargo xtask bench rollout`:
// packages signed by `cargo xtask dist --crx` in a relay's `--extension-dir`, the Linux policy
// template filled in with that relay's URLs and written to /etc/chromium/policies/managed/
// (removed by `removePolicy`, and when the process exits), and browsers with no
// `--load-extension` that install the extension by that policy.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, DIST, EXTENSION_ID, waitFor } from './harness.js';

const POLICY_DIR = '/etc/chromium/policies/managed';
const POLICY = join(POLICY_DIR, 'ccp-sidecar-e2e.json');
const XTASK = process.env.SIDECAR_XTASK || new URL('../../target/debug/xtask', import.meta.url).pathname;
export const KEY = new URL('../../manifest/dev-key.pem', import.meta.url).pathname;
const TEMPLATE = new URL('../../manifest/policies/linux-chromium.json', import.meta.url).pathname;

/** Signs `version` of the built extension with `key` into `out` (`cargo xtask dist --crx`). */
export function pack({ version, out, key = KEY, updateUrl }) {
  const args = ['dist', '--crx', '--from', DIST, '--key', key, '--version', version, '--out', out];
  if (updateUrl) args.push('--update-url', updateUrl);
  execFileSync(XTASK, args, { stdio: 'pipe' });
}

/** Signs and hosts `version` in the extension directory `packages` of `relay`. */
export function publish(relay, packages, version) {
  pack({ version, out: packages, updateUrl: `${relay.url}/extension/updates.xml` });
}

/** Writes the policy: install from `relay`'s update URL, and the extension's settings `config`. */
export function writePolicy(relay, config) {
  try {
    mkdirSync(POLICY_DIR, { recursive: true });
    // The Linux template as an administrator would fill it in: this relay's update URL and settings.
    const policy = JSON.parse(readFileSync(TEMPLATE, 'utf8'));
    policy.ExtensionSettings[EXTENSION_ID].update_url = `${relay.url}/extension/updates.xml`;
    // The tests read the extension in English (Chromium runs with --lang=en-US) unless they set
    // a language themselves: the template's own is Japanese.
    Object.assign(policy['3rdparty'].extensions[EXTENSION_ID], { ui_language: 'en' }, config);
    // The tests reach the extension's worker through DevTools; an organisation need not.
    policy.DeveloperToolsAvailability = 1;
    writeFileSync(POLICY, JSON.stringify(policy, null, 2));
  } catch (e) {
    throw new Error(`writing Chromium's policy to ${POLICY_DIR} failed (${e.code}): the rollout tests run as root`);
  }
}

export function removePolicy() {
  try { unlinkSync(POLICY); } catch { /* not there */ }
}
process.on('exit', removePolicy);

/** Chromium with a profile of its own under the policy, with no --load-extension. */
export async function launchManaged(sim) {
  const profile = mkdtempSync(join(tmpdir(), 'sidecar-managed-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    // Playwright turns extensions and background networking (the policy's download) off by default.
    ignoreDefaultArgs: ['--disable-extensions', '--disable-background-networking'],
    args: [
      '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync', '--extensions-update-frequency=5',
      `--host-resolver-rules=MAP *.my.connect.aws:443 127.0.0.1:${sim.port}`, '--ignore-certificate-errors', '--lang=en-US',
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

/** The extension's service worker in `context`, once Chromium has installed it. */
export function extensionWorker(context) {
  return waitFor(() => context.serviceWorkers().find((w) => w.url().startsWith(`chrome-extension://${EXTENSION_ID}/`)),
    'the policy-installed extension', 60000);
}

/** Waits until a worker of the extension in `context` runs `version`. */
export function running(context, version, timeoutMs = 60000) {
  return waitFor(async () => {
    for (const w of context.serviceWorkers().filter((w) => w.url().startsWith(`chrome-extension://${EXTENSION_ID}/`))) {
      if ((await w.evaluate(() => chrome.runtime.getManifest().version).catch(() => '')) === version) return true;
    }
    return false;
  }, `version ${version} running`, timeoutMs);
}
