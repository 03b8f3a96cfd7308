// Presence follows the CCP, not the worker's socket: an agent who closes every CCP tab goes
// Offline for colleagues; a reloaded tab or a relay restart shows no Offline in between; a relay
// that is down at the start of a shift is shown as unreachable and signed in to by itself when it
// returns; chat cursors are kept under the account's own key.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchAgent, online, openChat, panelFrame, row, startAgents, startRelay, stopAgents, waitFor } from './harness.js';

let world;
let a;
let b;
let A;
let B;
before(async () => {
  ({ world, a, b, A, B } = await startAgents());
});
after(() => stopAgents({ world, a, b }));

const label = async (panel, who) => (await row(panel, who).getAttribute('aria-label')) || '';

/**
 * Records, in B's panel, every label A's row takes from now on (a MutationObserver, so a
 * flicker of a few milliseconds is seen too). `stop()` returns them.
 */
async function recordRow(page, who) {
  const frame = await panelFrame(page);
  await frame.evaluate((who) => {
    globalThis.seen = [];
    const note = () => {
      for (const el of document.querySelectorAll('[aria-label]')) {
        const text = el.getAttribute('aria-label');
        if (text.startsWith(who) && globalThis.seen.at(-1) !== text) globalThis.seen.push(text);
      }
    };
    note();
    globalThis.observer = new MutationObserver(note);
    globalThis.observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  }, who);
  return {
    async stop() {
      return frame.evaluate(() => {
        globalThis.observer.disconnect();
        return globalThis.seen;
      });
    },
  };
}

test('closing every CCP tab takes the agent Offline for colleagues; a reload does not flap', async () => {
  await A.page.evaluate(() => window.ccpSim.setState('Available'));
  await waitFor(async () => (await label(B.panel, 'sato@example.com')).endsWith('Available'), 'B sees A Available');

  // A reloads the CCP: no Offline in between (the barrier is the state A sets afterwards).
  const recording = await recordRow(B.page, 'sato@example.com');
  await A.page.reload();
  await online(A.panel);
  await A.page.evaluate(() => window.ccpSim.setState('Break'));
  await waitFor(async () => (await label(B.panel, 'sato@example.com')).endsWith('Break'), 'B sees A on Break');
  const seen = await recording.stop();
  assert.ok(!seen.some((l) => /Offline/.test(l)), `no Offline during a reload: ${JSON.stringify(seen)}`);

  // A closes the CCP; the worker (and its socket, for chat) stays. A goes Offline after the grace.
  await A.page.close();
  await waitFor(async () => (await label(B.panel, 'sato@example.com')).endsWith('Offline'), 'B sees A Offline', 20000);
  // Chat still reaches A's worker: its unread count grows without a CCP open.
  const unread = () => a.currentWorker().evaluate(() => chrome.action.getBadgeText({}));
  await openChat(B.panel, 'sato@example.com');
  const box = B.panel.getByRole('textbox', { name: /Message to/ });
  await box.fill('are you still there?');
  await box.press('Enter');
  await waitFor(async () => (await unread()) !== '', 'A is told of the message without a CCP open');

  // A opens the CCP again: present again.
  A = await a.openCcp('sato');
  await online(A.panel);
  await B.panel.getByRole('tab', { name: /Status/ }).click();
  await waitFor(async () => !(await label(B.panel, 'sato@example.com')).endsWith('Offline'), 'B sees A back');
});

test('a relay restart shows every colleague who comes back in their last state throughout', async () => {
  await A.page.evaluate(() => window.ccpSim.setState('管理業務中'));
  await waitFor(async () => (await label(B.panel, 'sato@example.com')).endsWith('管理業務中'), 'B sees 管理業務中');
  const recording = await recordRow(B.page, 'sato@example.com');
  const { port, dataDir } = world.relay;
  await world.relay.stop();
  // The production grace (10 s): the suite's 1 s one is shorter than a reconnect's second
  // backoff step, so a slow restart would show Offline for a reason no relay has.
  world.relay = await startRelay({ port, dataDir, graceMs: 10000 });
  await online(A.panel);
  await online(B.panel);
  await A.page.evaluate(() => window.ccpSim.setState('Available'));
  await waitFor(async () => (await label(B.panel, 'sato@example.com')).endsWith('Available'), 'B sees Available after the restart');
  const seen = await recording.stop();
  assert.ok(!seen.some((l) => /Offline/.test(l)), `no Offline across the restart: ${JSON.stringify(seen)}`);
});

test('chat cursors are kept under the account\'s key, which is not the e-mail', async () => {
  const worker = a.currentWorker();
  const keys = await waitFor(async () => {
    const all = await worker.evaluate(() => chrome.storage.local.get(null));
    const cursors = Object.keys(all).filter((k) => k.startsWith('cursors:'));
    return cursors.length ? cursors : undefined;
  }, 'cursors saved');
  const session = await worker.evaluate(() => chrome.storage.session.get('session'));
  const sub = JSON.parse(Buffer.from(session.session.id_token.split('.')[1], 'base64url').toString()).sub;
  assert.notEqual(sub, 'sato@example.com', 'the issuer\'s subject is not the e-mail');
  assert.deepEqual(keys, [`cursors:${sub}`], 'saved under the key they are read from');
});

test('a relay down at the start of a shift is shown as unreachable, and the sign-in follows when it returns', async () => {
  const { port, dataDir } = world.relay;
  await world.relay.stop();
  const c = await launchAgent(world, { email: 'suzuki@example.com' });
  try {
    const C = await c.openCcp('suzuki');
    // The countdown under the header (not a live region: it changes every second).
    await C.panel.getByText(/Relay unreachable — retrying/).first().waitFor({ timeout: 20000 });
    const said = (await C.panel.getByRole('status').allTextContents()).join(' | ');
    assert.doesNotMatch(said, /Signed out/, said);
    assert.equal(await C.panel.getByRole('button', { name: /^Sign in$/ }).count(), 0, 'nothing asks the agent to sign in');
    world.relay = await startRelay({ port, dataDir });
    // The retry comes by itself, within the longest backoff.
    await C.panel.getByRole('status').filter({ hasText: /Connected/ }).first().waitFor({ timeout: 40000 });
  } finally {
    await c.close();
  }
});
