// Managed rollout under a real policy file: the extension packaged and signed by `cargo xtask
// dist --crx`, hosted by the relay (`--extension-dir`), force-installed by Chromium's
// ExtensionSettings policy from /etc/chromium/policies/managed/ with no `--load-extension`, and
// configured by the policy's `3rdparty` section. The policy file is removed afterwards, also when
// a test fails. CI runs as root; if the policy directory cannot be written the suite fails and
// says so (it never skips).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startSimulator } from '../ccp/server.js';
import { CHROMIUM, DIST, EXTENSION_ID, devToken, online, relayClient, startRelay, waitFor } from './harness.js';

const POLICY_DIR = '/etc/chromium/policies/managed';
const POLICY = join(POLICY_DIR, 'ccp-sidecar-e2e.json');
const XTASK = process.env.SIDECAR_XTASK || new URL('../../target/debug/xtask', import.meta.url).pathname;
const KEY = new URL('../../manifest/dev-key.pem', import.meta.url).pathname;
const SATO = 'sato@example.com';

let sim;
let relay;
let packages;
let profile;
let context;

/** Signs and hosts `version` of the built extension in the relay's extension directory. */
function publish(version) {
  execFileSync(XTASK, ['dist', '--crx', '--from', DIST, '--key', KEY, '--version', version,
    '--update-url', `${relay.url}/extension/updates.xml`, '--out', packages], { stdio: 'pipe' });
}

function writePolicy(config) {
  try {
    mkdirSync(POLICY_DIR, { recursive: true });
    writeFileSync(POLICY, JSON.stringify({
      ExtensionSettings: {
        [EXTENSION_ID]: {
          installation_mode: 'force_installed',
          update_url: `${relay.url}/extension/updates.xml`,
          override_update_url: true,
          toolbar_pin: 'force_pinned',
          runtime_allowed_hosts: ['https://*.my.connect.aws'],
        },
      },
      // The test reaches the extension's worker through DevTools; an organisation need not.
      DeveloperToolsAvailability: 1,
      '3rdparty': { extensions: { [EXTENSION_ID]: config } },
    }, null, 2));
  } catch (e) {
    throw new Error(`the rollout tests write Chromium's policy to ${POLICY_DIR} and could not (${e.code}): run them as root`);
  }
}

function removePolicy() {
  try { unlinkSync(POLICY); } catch { /* not there */ }
}
process.on('exit', removePolicy);

before(async () => {
  sim = await startSimulator(0);
  packages = mkdtempSync(join(tmpdir(), 'sidecar-packages-'));
  relay = await startRelay({ extraArgs: ['--extension-dir', packages] });
  publish('1.0.0');
  writePolicy({ relay_url: relay.ws, issuer: relay.issuer, client_id: 'ccp-sidecar-dev', login_hint: SATO });
  profile = mkdtempSync(join(tmpdir(), 'sidecar-managed-'));
  context = await chromium.launchPersistentContext(profile, {
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
});

after(async () => {
  await context?.close();
  removePolicy();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await relay?.stop();
  sim?.close();
});

/** The extension's service worker, once Chromium has installed it. */
async function extensionWorker() {
  return waitFor(() => context.serviceWorkers().find((w) => w.url().startsWith(`chrome-extension://${EXTENSION_ID}/`)),
    'the policy-installed extension', 60000);
}

test('installed by policy with no user action, and the user can neither disable nor remove it', async () => {
  const worker = await extensionWorker();
  const self = await worker.evaluate(() => chrome.management.getSelf());
  assert.equal(self.installType, 'admin');
  assert.equal(self.mayDisable, false);
  assert.equal(self.enabled, true);
  assert.equal(self.version, '1.0.0', 'the hosted package, not a development build');
  // The policy's `3rdparty` section reaches managed storage a moment after the install.
  await waitFor(async () => (await worker.evaluate(() => chrome.storage.managed.get(null))).relay_url === relay.ws,
    'the relay URL from the policy in managed storage');
});

test('configured by policy alone, it signs in and works on the CCP: presence and chat with a second agent', async () => {
  const worker = await extensionWorker();
  const page = await context.newPage();
  await page.goto('https://example-corp.my.connect.aws/ccp-v2/?agent=sato&name=sato');
  const panel = page.frameLocator('#ccp-sidecar-dock iframe');
  await online(panel);
  // A second agent, Tanaka, on the same relay: available, and writes to Sato.
  const token = await devToken(relay, { email: 'tanaka@example.com' });
  const tanaka = relayClient(worker, {
    url: relay.ws, token, waitMs: 8000, frames: [
      { type: 'set_presence', id: 1, state: { name: 'Available', kind: 'routable' }, since: Date.now() },
      { type: 'send_chat', id: 2, to: SATO, client_id: 'rollout-1', text: 'Managed hello' },
    ],
  });
  await waitFor(async () => /tanaka@example\.com: Available/.test(
    (await panel.getByRole('listitem').allInnerTexts().catch(() => [])).join('\n') +
    (await panel.locator('li.agent').evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label')).join('\n')).catch(() => ''))),
  'Tanaka available in the managed panel');
  await panel.getByRole('tab', { name: /Chat/ }).click();
  await panel.getByRole('button', { name: /tanaka@example\.com/ }).click();
  await panel.getByText('Managed hello').waitFor();
  const { frames } = await tanaka;
  assert.ok(frames.some((f) => f.type === 'chat_ack' && f.id === 2), 'the relay stored Tanaka\'s message');
  await page.close();
});
