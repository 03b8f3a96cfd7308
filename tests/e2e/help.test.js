// Help requests in real Chromium with the real extension, the real relay and the CCP simulator:
// an agent asks with a reason and a note; two supervisors (each on the full-tab floor, no CCP of
// their own) see it and are notified; one takes it and the chat opens with the note; the other
// sees who took it; the agent sees who is on it; closing ends it everywhere. Requests are
// durable: a relay restart loses none, a supervisor who connects later sees only open ones, a
// cancel reaches every supervisor, and the day's figures count every ask.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator } from '../ccp/server.js';
import { EXTENSION_ID, launchAgent, online, startRelay, waitFor } from './harness.js';

const SUZUKI = 'suzuki@example.com';
const YAMADA = 'yamada@example.com';
const KATO = 'kato@example.com';
let world;
let a;
let b;
let s1;
let s2;
let A;
let B;

const relayArgs = ['--dev-supervisors', [SUZUKI, YAMADA, KATO].join(',')];

before(async () => {
  const sim = await startSimulator(0);
  const relay = await startRelay({ extraArgs: relayArgs, graceMs: 10000 });
  world = { sim, relay };
  a = await launchAgent(world, { email: 'sato@example.com' });
  b = await launchAgent(world, { email: 'tanaka@example.com' });
  s1 = await launchAgent(world, { email: SUZUKI });
  s2 = await launchAgent(world, { email: YAMADA });
  A = await a.openCcp('sato');
  B = await b.openCcp('tanaka');
  await online(A.panel);
  await online(B.panel);
  // Both supervisors' workers are signed in and watch the floor before anyone asks (the count
  // the agent is told is of the supervisors watching at that moment): each floor shows Sato.
  for (const s of [s1, s2]) {
    const floor = await openFloor(s);
    await waitFor(async () => (await floor.getByRole('listitem', { name: /^sato@example\.com/ }).count()) > 0, `sato on ${s.email}'s floor`, 30000);
    await floor.close();
  }
});

after(async () => {
  for (const p of [a, b, s1, s2]) await p?.close();
  await world?.relay.stop();
  world?.sim.close();
});

/** The full-tab floor of a supervisor's profile. */
async function openFloor(profile) {
  const page = await profile.context.newPage();
  await page.goto(`chrome-extension://${EXTENSION_ID}/floor.html`);
  await page.locator('.floor-help').waitFor();
  return page;
}

const requests = (floor) => floor.locator('.floor-help li');
const requestText = async (floor) => (await requests(floor).allInnerTexts()).join('\n');
const helpNotifications = async (profile) =>
  Object.keys(await profile.currentWorker().evaluate(() => chrome.notifications.getAll())).filter((id) => id.startsWith('help:'));
const card = (panel) => panel.locator('.help-card');

/** The agent asks for help with `reason` (an option's label) and `note`. */
async function ask(panel, reason, note) {
  await panel.getByRole('button', { name: 'Ask for help' }).click();
  await panel.getByLabel('Reason').selectOption({ label: reason });
  await panel.getByLabel('Note (optional)').fill(note);
  await panel.getByRole('button', { name: 'Send request' }).click();
}

test('asked, seen by both supervisors, taken by one: the chat opens with the note, the other sees who', async () => {
  // Suzuki looks at his floor; Yamada has none open (his worker alone is signed in).
  const f1 = await openFloor(s1);
  await s2.currentWorker().evaluate(() => chrome.runtime.getURL('floor.html'));
  await ask(A.panel, 'Customer complaint', 'wants a refund for order 1234');
  await waitFor(async () => /Sent to 2 supervisor/.test(await card(A.panel).innerText()), 'the agent is told two supervisors have it');
  await waitFor(async () => /sato@example\.com · Customer complaint/.test(await requestText(f1)), 'the request on the floor');
  assert.match(await requestText(f1), /wants a refund for order 1234/);
  // Yamada, not looking at a floor, is notified once; Suzuki, looking at his, is not.
  await waitFor(async () => (await helpNotifications(s2)).length === 1, 'a notification for the supervisor not looking');
  assert.equal(await s2.currentWorker().evaluate(() => chrome.action.getBadgeText({})), '1', 'the badge counts the open request');
  assert.deepEqual(await helpNotifications(s1), [], 'none while the floor is looked at');
  const f2 = await openFloor(s2);
  await waitFor(async () => /wants a refund for order 1234/.test(await requestText(f2)), 'the request on the second floor');

  // Suzuki takes it: his floor page switches to the chat with Sato, the note above it.
  await f1.getByRole('button', { name: "Take sato@example.com's request" }).click();
  await waitFor(async () => /wants a refund/.test(await f1.locator('.help-context').innerText().catch(() => '')), 'the chat opens with the note');
  assert.equal(await f1.locator('.conv-title').innerText(), 'sato@example.com');

  // Yamada sees who took it, on the request and on Sato's row; no Take for him.
  await waitFor(async () => /suzuki@example\.com is on it/.test(await requestText(f2)), 'the other supervisor sees it taken');
  assert.equal(await f2.getByRole('button', { name: /^Take / }).count(), 0);
  await waitFor(async () => /suzuki@example\.com is on it/.test(await f2.locator('.help-mark').first().innerText().catch(() => '')), "the taker's name on the agent's row");
  // The agent sees who is on it.
  await waitFor(async () => /suzuki@example\.com is on it/.test(await card(A.panel).innerText()), 'the agent sees who took it');

  // Suzuki closes it: gone everywhere; the agent may ask again.
  await f1.locator('.help-context').getByRole('button', { name: /^Close/ }).click();
  await waitFor(async () => (await requests(f2).count()) === 0, 'closed for the other supervisor');
  await A.panel.getByRole('button', { name: 'Ask for help' }).waitFor();
  // The day's figures count it, with its wait.
  await waitFor(async () => /Today: 1 requests/.test(await f2.locator('.help-day summary').innerText()), "the day's count");
  await f1.close();
  await f2.close();
});

test('requests are durable: a restart loses none, a later supervisor sees only open ones, a cancel reaches all', async () => {
  const f2 = await openFloor(s2);
  await ask(B.panel, 'Escalation', 'manager wanted');
  await ask(A.panel, 'Other', '');
  await waitFor(async () => (await requests(f2).count()) === 2, 'two open requests');

  // Tanaka cancels: gone for the supervisor watching.
  await B.panel.getByRole('button', { name: 'Cancel request' }).click();
  await waitFor(async () => (await requests(f2).count()) === 1, 'the cancel reaches the supervisor');
  await B.panel.getByRole('button', { name: 'Ask for help' }).waitFor();

  // The relay restarts with Sato's request open: it is still there, for the agent and the floor.
  const { port, dataDir } = world.relay;
  await world.relay.stop();
  world.relay = await startRelay({ port, dataDir, extraArgs: relayArgs, graceMs: 10000 });
  await online(A.panel);
  await waitFor(async () => /sato@example\.com · Other/.test(await requestText(f2)), 'the open request after the restart');
  assert.match(await card(A.panel).innerText(), /Help requested: Other/);

  // A supervisor who signs in now sees the open request only (not the cancelled or closed ones).
  const s3 = await launchAgent(world, { email: KATO });
  try {
    const f3 = await openFloor(s3);
    await waitFor(async () => (await requests(f3).count()) === 1, 'the later supervisor sees the open request');
    assert.match(await requestText(f3), /sato@example\.com · Other/);
    // The day's figures: three asked today (one closed, one cancelled, one open).
    await waitFor(async () => /Today: 3 requests/.test(await f3.locator('.help-day summary').innerText()), "the day's count for a later supervisor");
    // Kato takes it after the restart; Yamada sees it taken, Sato sees Kato on it.
    await f3.getByRole('button', { name: "Take sato@example.com's request" }).click();
    await waitFor(async () => /kato@example\.com is on it/.test(await requestText(f2)), 'taken after the restart');
    await waitFor(async () => /kato@example\.com is on it/.test(await card(A.panel).innerText()), 'the agent sees Kato');
    await f3.locator('.help-context').getByRole('button', { name: /^Close/ }).click();
    await waitFor(async () => (await requests(f2).count()) === 0, 'closed for everyone');
    await f2.locator('.help-day summary').click();
    await waitFor(async () => /Today: 3 requests/.test(await f2.locator('.help-day summary').innerText()), "three asked today");
    const table = await f2.locator('.help-day table').innerText();
    assert.match(table, /\*|Team/, `a table of the day per team: ${table}`);
  } finally {
    await s3.close();
  }
});
