// The supervisor's floor in real Chromium with the real extension, the real relay and the CCP
// simulator: a supervisor (made one by the development issuer's --dev-supervisors) watches two
// agents on the full-tab floor without a CCP of their own; an agent's state reaches the floor;
// an after-call-work threshold set in the options (3 s) raises an alert, one notification and the
// badge, turns red without a second notification, and ends by itself; a hold is reported from its
// own start; an agent has no Floor tab and is refused every roster.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator } from '../ccp/server.js';
import { EXTENSION_ID, devToken, launchAgent, online, relayClient, sleep, startRelay, waitFor } from './harness.js';

const SUPERVISOR = 'suzuki@example.com';
let world;
let a;
let b;
let s;
let A;
let B;

before(async () => {
  const sim = await startSimulator(0);
  const relay = await startRelay({ extraArgs: ['--dev-supervisors', SUPERVISOR] });
  world = { sim, relay };
  a = await launchAgent(world, { email: 'sato@example.com' });
  b = await launchAgent(world, { email: 'tanaka@example.com' });
  s = await launchAgent(world, {
    email: SUPERVISOR,
    options: {
      relay_url: relay.ws, issuer: relay.issuer, client_id: 'ccp-sidecar-dev', login_hint: SUPERVISOR,
      alerts: { acw_minutes: 0.05 },
    },
  });
  A = await a.openCcp('sato');
  B = await b.openCcp('tanaka');
  await online(A.panel);
  await online(B.panel);
});

after(async () => {
  await a?.close();
  await b?.close();
  await s?.close();
  await world?.relay.stop();
  world?.sim.close();
});

/** The full-tab floor of the supervisor's profile. */
async function openFloor() {
  const page = await s.context.newPage();
  await page.goto(`chrome-extension://${EXTENSION_ID}/floor.html`);
  return page;
}

const agentRow = (page, who) => page.getByRole('listitem', { name: new RegExp(`^${who}`) });
const rowLabel = async (page, who) => (await agentRow(page, who).getAttribute('aria-label', { timeout: 2000 }).catch(() => '')) || '';
const worker = () => s.currentWorker();
const notifications = async () => Object.keys(await worker().evaluate(() => chrome.notifications.getAll()));
const badge = async () => worker().evaluate(() => chrome.action.getBadgeText({}));

test('the full-tab floor shows every agent without a CCP of its own, with counts, and their changes', async () => {
  const floor = await openFloor();
  await waitFor(async () => (await rowLabel(floor, 'sato@example.com')) !== '', 'sato on the floor');
  await waitFor(async () => (await rowLabel(floor, 'tanaka@example.com')) !== '', 'tanaka on the floor');

  await A.page.evaluate(() => window.ccpSim.setState('Break'));
  await waitFor(async () => /: Break/.test(await rowLabel(floor, 'sato@example.com')), 'sato on Break on the floor');
  await waitFor(async () => /Break 1/.test(await floor.locator('.floor-total').innerText()), 'the total counts one on Break');

  // Sorted by time in state and searched by name, the floor still finds its agent.
  await floor.getByRole('searchbox').fill('tanaka');
  await waitFor(async () => (await agentRow(floor, 'sato@example.com').count()) === 0, 'the search hides sato');
  assert.equal(await agentRow(floor, 'tanaka@example.com').count(), 1);
  await floor.close();
});

test('after-call work over its threshold: one notification, the badge, red later, and it ends by itself', async () => {
  // Nobody looks at a floor: the worker alone raises the alert.
  await A.page.evaluate(() => window.ccpSim.setState('Available'));
  await A.page.evaluate(() => window.ccpSim.incoming('+81312345678'));
  await A.page.evaluate(() => window.ccpSim.answer());
  await A.page.evaluate(() => window.ccpSim.hangup());
  await waitFor(async () => (await notifications()).length === 1, 'one notification for the alert', 20000);
  await waitFor(async () => (await badge()) === '1', 'the badge counts the alert');

  // The floor lists it; the row turns red at twice the threshold (an update, not a new episode).
  const floor = await openFloor();
  await waitFor(async () => /sato@example\.com/.test(await floor.locator('.floor-alerts').innerText()), 'the alert in the list');
  await waitFor(async () => /\bred\b/.test(await floor.locator('.floor-alerts li').first().getAttribute('class')), 'the alert turns red');
  assert.equal((await notifications()).length, 1, 'no second notification for the same episode');

  // The agent leaves after-call work: the alert ends everywhere.
  await A.page.evaluate(() => window.ccpSim.close());
  await waitFor(async () => (await floor.locator('.floor-alerts li').count()) === 0, 'the alert ends by itself');
  await waitFor(async () => (await badge()) === '', 'the badge is cleared');
  await floor.close();
});

test('a hold is reported from its own start, not from when the call connected', async () => {
  await A.page.evaluate(() => window.ccpSim.incoming('+81312345678'));
  await A.page.evaluate(() => window.ccpSim.answer());
  await sleep(1500);
  const holding = Date.now();
  await A.page.evaluate(() => window.ccpSim.hold());
  const token = await devToken(world.relay, { email: SUPERVISOR, groups: ['supervisors'] });
  let contact;
  await waitFor(async () => {
    const { frames } = await relayClient(a.worker, {
      url: world.relay.ws, token, frames: [{ type: 'subscribe', id: 1, roster: '*' }], waitMs: 300,
    });
    const agents = frames.filter((f) => f.type === 'roster').flatMap((f) => f.agents);
    contact = agents.find((p) => p.principal === 'sato@example.com')?.contact;
    return contact?.state === 'on_hold';
  }, 'sato on hold at the relay');
  assert.ok(contact.since >= holding - 50, `the hold's start (${contact.since}), not the call's (before ${holding})`);
  await A.page.evaluate(() => window.ccpSim.close());
});

test('an agent has no Floor tab, and the relay refuses them every roster', async () => {
  await A.panel.getByRole('tab', { name: /Status|ステータス/ }).waitFor();
  assert.equal(await A.panel.getByRole('tab', { name: /Floor|フロア/ }).count(), 0);
  const token = await devToken(world.relay, { email: 'sato@example.com' });
  const answer = await relayClient(a.worker, {
    url: world.relay.ws, token, frames: [{ type: 'subscribe', id: 7, roster: '*' }],
  });
  const refusal = answer.frames.find((f) => f.type === 'error' && f.id === 7);
  assert.equal(refusal?.error.code, 'forbidden', JSON.stringify(answer.frames));

  // The supervisor's own CCP has the tab.
  const S = await s.openCcp('suzuki');
  await online(S.panel);
  await S.panel.getByRole('tab', { name: /Floor|フロア/ }).waitFor();
});
