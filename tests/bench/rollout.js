// `cargo xtask bench rollout`: the managed rollout's figures, under a real policy file (as root).
// - install_s: from Chromium's start under the policy (no --load-extension) to the panel docked
//   and signed in on the CCP, the median of 3 fresh profiles;
// - update_s: from a new version in updates.xml (and the extension's update check) to the new
//   version running, the median of 3 updates;
// - lost / duplicated: of 20 messages typed while the chat relay was down, before an update,
//   those never delivered after it and those delivered twice.
// Prints one line of figures.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../ccp/server.js';
import { devToken, online, relayClient, startRelay, waitFor } from '../e2e/harness.js';
import * as managed from '../e2e/managed.js';

const SATO = 'sato@example.com';
const MESSAGES = 20;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const sim = await startSimulator(0);
const packages = mkdtempSync(join(tmpdir(), 'sidecar-packages-'));
const relay = await startRelay({ extraArgs: ['--extension-dir', packages] });
let chat = await startRelay();
const settings = () => ({ relay_url: chat.ws, issuer: chat.issuer, client_id: 'ccp-sidecar-dev', login_hint: SATO });
let version = 0;
const next = () => `1.0.${++version}`;

/** Opens the CCP (again, until the extension is installed and docks) and waits for the panel, signed in. */
async function docked(context) {
  const page = await context.newPage();
  await waitFor(async () => {
    await page.goto('https://example-corp.my.connect.aws/ccp-v2/?agent=sato&name=sato');
    return (await page.locator('#ccp-sidecar-dock').count()) > 0;
  }, 'the dock on the CCP', 60000);
  const panel = page.frameLocator('#ccp-sidecar-dock iframe');
  await online(panel);
  return { page, panel };
}

try {
  managed.publish(relay, packages, next());
  managed.writePolicy(relay, settings());
  const installs = [];
  for (let i = 0; i < 3; i++) {
    const started = Date.now();
    const browser = await managed.launchManaged(sim);
    // The CCP is opened at once, as an agent's start page would be; the dock comes once installed.
    await docked(browser.context);
    installs.push((Date.now() - started) / 1000);
    await browser.close();
  }

  const browser = await managed.launchManaged(sim);
  const context = browser.context;
  const updates = [];
  try {
    await docked(context);
    for (let i = 0; i < 3; i++) {
      const v = next();
      const worker = await managed.extensionWorker(context);
      const started = Date.now();
      managed.publish(relay, packages, v);
      await worker.evaluate(() => chrome.runtime.requestUpdateCheck()).catch(() => {});
      await managed.running(context, v);
      updates.push((Date.now() - started) / 1000);
    }
  } finally {
    await browser.close();
  }

  // Messages typed while the chat relay is down, then an update, then the relay back.
  const fresh = await managed.launchManaged(sim);
  let lost;
  let duplicated;
  try {
    const worker = await managed.extensionWorker(fresh.context);
    const token = await devToken(chat, { email: 'tanaka@example.com' });
    await relayClient(worker, { url: chat.ws, token, waitMs: 200, frames: [
      { type: 'send_chat', id: 1, to: SATO, client_id: 'bench-hello', text: 'hello' }] });
    const { panel } = await docked(fresh.context);
    await panel.getByRole('tab', { name: /Chat/ }).click();
    await panel.getByRole('button', { name: /tanaka@example\.com/ }).click();
    await panel.getByText('hello', { exact: true }).waitFor();
    const { port, dataDir } = chat;
    await chat.stop();
    const box = panel.getByRole('textbox');
    for (let i = 0; i < MESSAGES; i++) {
      await box.fill(`queued ${i}`);
      await box.press('Enter');
    }
    const v = next();
    managed.publish(relay, packages, v);
    await worker.evaluate(() => chrome.runtime.requestUpdateCheck()).catch(() => {});
    await managed.running(fresh.context, v);
    chat = await startRelay({ port, dataDir });
    const again = await devToken(chat, { email: 'tanaka@example.com' });
    let texts = [];
    await waitFor(async () => {
      const { frames } = await relayClient(await managed.extensionWorker(fresh.context), {
        url: chat.ws, token: again, waitMs: 300, frames: [{ type: 'history', id: 1, peer: SATO, limit: 100 }] });
      texts = (frames.find((f) => f.type === 'history')?.messages || []).map((m) => m.text).filter((t) => t.startsWith('queued '));
      return new Set(texts).size === MESSAGES;
    }, 'every queued message delivered', 60000).catch(() => {});
    lost = MESSAGES - new Set(texts).size;
    duplicated = texts.length - new Set(texts).size;
  } finally {
    await fresh.close();
  }

  console.log(`rollout-bench install_s=${median(installs).toFixed(1)} update_s=${median(updates).toFixed(1)} lost=${lost} duplicated=${duplicated}`);
  console.log(`  install_s runs: ${installs.map((s) => s.toFixed(1)).join(' ')}; update_s runs: ${updates.map((s) => s.toFixed(1)).join(' ')}`);
} finally {
  managed.removePolicy();
  await chat.stop();
  await relay.stop();
  sim.close();
}
