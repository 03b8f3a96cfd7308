// Caller ID and outbound history: the relay's directory offers two outbound queues with
// different caller IDs; the agent picks one and dials a national-format number; the simulator
// receives createOutboundContact with that queue's ARN and the number in E.164; the call
// appears in the history with its outcome; redial uses the same queue; an invalid number and a
// refusal by the CCP are shown in words (English and Japanese) and nothing is dialled.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../ccp/server.js';
import { launchAgent, online, sleep, startRelay, waitFor } from './harness.js';

const INSTANCE = 'arn:aws:connect:ap-northeast-1:123456789012:instance/0c9f8ab3-1d2e-4f5a-8b6c-7d8e9f0a1b2c';
const TOKYO = `${INSTANCE}/queue/tokyo-sales`;
const OSAKA = `${INSTANCE}/queue/osaka-support`;

let world;
let agent;
let A;
before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-directory-'));
  const file = join(dir, 'directory.json');
  writeFileSync(file, JSON.stringify({
    users: [
      { id: 'caller@example.com', username: 'caller', display_name: 'Caller', routing_profile: 'tokyo-voice' },
      { id: 'kaito@example.com', username: 'kaito', display_name: '加藤 海斗', routing_profile: 'tokyo-voice' },
    ],
    routing_profiles: [{
      id: 'tokyo-voice', name: 'Tokyo Voice', default_queue_arn: TOKYO, caller_ids: [
        { queue_arn: TOKYO, queue_name: 'Tokyo Sales', name: 'Example Corp', number: '+81345781000' },
        { queue_arn: OSAKA, queue_name: 'Osaka Support', name: 'Example Corp Support', number: '+81663452000' },
      ],
    }],
  }));
  world = { sim: await startSimulator(0), relay: await startRelay({ extraArgs: ['--directory-file', file] }) };
  agent = await launchAgent(world, { email: 'caller@example.com' });
  A = await agent.openCcp('caller');
  await online(A.panel);
  await A.panel.getByRole('tab', { name: 'Caller ID' }).click();
});
after(async () => {
  await agent?.close();
  await world?.relay.stop();
  world?.sim.close();
});

const dials = (page) => page.evaluate(() => window.ccpSim.requests.filter((r) => r.method === 'createOutboundContact'));
const history = (panel) => panel.getByRole('list', { name: 'Recent calls' }).getByRole('listitem');

test('the relay\'s caller IDs are offered, with the default selected', async () => {
  const caller = A.panel.getByLabel('Caller ID (outbound queue)');
  await waitFor(async () => (await caller.locator('option').count()) === 2, 'two caller IDs from the relay');
  const labels = await caller.locator('option').allTextContents();
  assert.deepEqual(labels, ['Tokyo Sales · +81345781000 (default)', 'Osaka Support · +81663452000']);
  assert.equal(await caller.inputValue(), TOKYO);
});

test('an invalid number is refused in words before anything is dialled', async () => {
  await A.panel.getByLabel('Phone number').fill('03-1234');
  await A.panel.getByRole('button', { name: 'Call', exact: true }).click();
  await A.panel.getByText('This number cannot be dialled').waitFor();
  assert.equal((await dials(A.page)).length, 0);
});

test('the chosen caller ID dials, the call lands in history, and redial uses the same queue', async () => {
  await A.panel.getByLabel('Caller ID (outbound queue)').selectOption(OSAKA);
  await A.panel.getByLabel('Phone number').fill('03-1234-5678');
  await A.panel.getByRole('button', { name: 'Call', exact: true }).click();
  const first = await waitFor(async () => (await dials(A.page))[0], 'createOutboundContact');
  assert.equal(first.params.queueARN, OSAKA);
  assert.equal(first.params.endpoint.phoneNumber, '+81312345678', 'normalised to E.164 by the relay');
  // The simulated customer answers after 1.5 s; talk a moment, then hang up.
  await waitFor(async () => (await history(A.panel).first().textContent()).includes('In progress'), 'the call in history');
  await sleep(2500);
  await A.page.evaluate(() => { window.ccpSim.hangup(); });
  await sleep(300);
  await A.page.evaluate(() => { window.ccpSim.close(); });
  const row = history(A.panel).first();
  await waitFor(async () => (await row.textContent()).includes('Answered'), 'the call answered in history');
  const text = await row.textContent();
  assert.match(text, /\+81312345678/);
  assert.match(text, /shown as \+81663452000/, 'the caller ID the customer saw');

  // Remembered for this agent after a reload.
  await A.page.reload();
  await online(A.panel);
  await A.panel.getByRole('tab', { name: 'Caller ID' }).click();
  await waitFor(async () => (await A.panel.getByLabel('Caller ID (outbound queue)').inputValue()) === OSAKA, 'the choice remembered');
  await waitFor(async () => (await history(A.panel).count()) === 1, 'history after a reload');

  await A.panel.getByLabel('Phone number').fill('');
  await history(A.panel).first().getByRole('button', { name: /Call \+81312345678 again/ }).click();
  // (The reloaded simulator keeps a fresh request log.)
  const second = await waitFor(async () => (await dials(A.page))[0], 'the redial');
  assert.equal(second.params.queueARN, OSAKA);
  assert.equal(second.params.endpoint.phoneNumber, '+81312345678');
  await waitFor(async () => (await history(A.panel).count()) === 2, 'the redial in history');

  // A refusal from the CCP while on that call, in words.
  await A.panel.getByRole('button', { name: 'Call', exact: true }).click();
  await A.panel.getByText('You are already on a call.').waitFor();
  await A.page.evaluate(() => { window.ccpSim.hangup(); window.ccpSim.close(); });
  await waitFor(async () => (await history(A.panel).first().textContent()).match(/Answered|Not answered/), 'the redial ended');
});

test('the same refusal reads in Japanese', async () => {
  const ja = await launchAgent(world, { email: 'kaito@example.com', lang: 'ja' });
  try {
    const J = await ja.openCcp('kaito');
    await online(J.panel);
    await J.panel.getByRole('tab', { name: '発信者番号' }).click();
    await J.panel.getByLabel(/発信者番号/).first().waitFor();
    await J.panel.getByLabel('電話番号').fill('03-1234');
    await J.panel.getByRole('button', { name: '発信', exact: true }).click();
    await J.panel.getByText('この番号には発信できません').waitFor();
    assert.equal((await dials(J.page)).length, 0, 'an invalid number never reaches the CCP');
    await J.page.evaluate(() => window.ccpSim.setState('Offline'));
    await J.panel.getByLabel('電話番号').fill('090-1234-5678');
    await J.panel.getByRole('button', { name: '発信', exact: true }).click();
    await J.panel.getByText('オフライン中は発信できません').waitFor();
  } finally {
    await ja.close();
  }
});
