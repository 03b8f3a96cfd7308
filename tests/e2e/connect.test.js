// Amazon Connect's real-time data and the supervisor's actions through it, in real Chromium with
// the real extension and relay, Connect played by `connect-fake` (the relay reads its
// GetCurrentUserData every second, its directory file naming each person's Connect user id):
// an agent known only from Connect is on the supervisor's floor with the Connect marker and
// follows Connect's changes; listen-in from the floor reaches Connect as the supervisor's own
// Connect user with the agent's contact, the supervisor's CCP plays the monitoring contact, and
// an agent or a supervisor of another team is refused with nothing sent to Connect; a
// supervisor sets an agent's status in Connect from the floor; the agent then signs in with the
// extension and the floor follows the extension without flapping back to Connect's older state;
// closing the CCP while Connect keeps them Available raises the alert.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../ccp/server.js';
import { EXTENSION_ID, devToken, launchAgent, online, relayClient, startConnectFake, startRelay, waitFor } from './harness.js';

// Connect user ids follow the file's order (the stand-in's rule); the CCP usernames are not the
// e-mail addresses' local parts, and the teams are not the routing profiles.
const USERS = [
  { id: 'suzuki@example.com', username: 'isuzuki', display_name: '鈴木 一郎', team: 'tokyo', routing_profile: 'Sales' },
  { id: 'kimura@example.com', username: 'nkimura', display_name: '木村 奈緒', team: 'tokyo', routing_profile: 'Sales' },
  { id: 'mori@example.com', username: 'emori', display_name: '森 恵美', team: 'tokyo', routing_profile: 'Support' },
  { id: 'ito@example.com', username: 'hito', display_name: '伊藤 浩', team: 'osaka', routing_profile: 'Support' },
  { id: 'patel@example.com', username: 'rpatel', display_name: 'Raj Patel', team: 'osaka', routing_profile: 'Sales' },
].map((u, i) => ({ connect_user_id: `u-${String(i).padStart(6, '0')}`, ...u }));
const user = (email) => USERS.find((u) => u.id === email);
const SUPERVISOR = user('suzuki@example.com');
const KIMURA = user('kimura@example.com');
const MORI = user('mori@example.com');
const CALL = 'c0ffee00-1111-4222-8333-444455556666';

let dir;
let connect;
let world;
let boss;
let floor;
let ccp;
let kimura;
let kimuraCcp;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sidecar-connect-'));
  const directory = join(dir, 'directory.json');
  writeFileSync(directory, JSON.stringify({ users: USERS }));
  connect = await startConnectFake(directory);
  // The SDK signs its requests; the stand-in accepts any credentials.
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
  const relay = await startRelay({
    extraArgs: ['--dev-supervisors', 'suzuki@example.com,ito@example.com', '--directory-file', directory, '--roster-by', 'team',
      ...connect.relayArgs, '--connect-sync-interval-s', '0', '--connect-poll-s', '1'],
  });
  world = { sim: await startSimulator(0), relay };
  const minutesAgo = (m) => Date.now() - m * 60000;
  await connect.setAgent(KIMURA.connect_user_id, { status: 'Available', since_ms: minutesAgo(3), contacts: [] });
  await connect.setAgent(MORI.connect_user_id, { status: 'Lunch', since_ms: minutesAgo(20), contacts: [] });
  boss = await launchAgent(world, { email: SUPERVISOR.id });
  floor = await boss.context.newPage();
  await floor.goto(`chrome-extension://${EXTENSION_ID}/floor.html`);
  // The supervisor's CCP asks the stand-in for the monitoring contacts Connect gives them.
  ccp = await boss.openCcp(SUPERVISOR.username, { query: { connect: connect.url, connect_user: SUPERVISOR.connect_user_id } });
  await online(ccp.panel);
});

after(async () => {
  await kimura?.close();
  await boss?.close();
  await world?.relay.stop();
  world?.sim.close();
  connect?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const rowOf = (who) => floor.getByRole('listitem', { name: new RegExp(`^${who.display_name}: `) });
const label = async (who) => (await rowOf(who).getAttribute('aria-label', { timeout: 2000 }).catch(() => '')) || '';
const text = async (who) => (await rowOf(who).textContent({ timeout: 2000 }).catch(() => '')) || '';
const FROM_CONNECT = 'From Amazon Connect (no extension)';

test('an agent known only from Connect is on the floor with the marker and follows Connect', async () => {
  await waitFor(async () => (await label(KIMURA)).startsWith(`${KIMURA.display_name}: Available`), 'kimura Available from Connect');
  assert.ok((await label(KIMURA)).includes(FROM_CONNECT), await label(KIMURA));
  assert.equal(await rowOf(KIMURA).locator('.connect-mark').count(), 1, 'the row carries the Connect marker');
  assert.ok((await label(MORI)).startsWith(`${MORI.display_name}: Lunch`), await label(MORI));
  // Connect's data changes: the floor follows.
  await connect.setAgent(KIMURA.connect_user_id, { status: 'Available', since_ms: Date.now(), contacts: [{ contact_id: CALL, state: 'CONNECTED', since_ms: Date.now() }] });
  await waitFor(async () => (await text(KIMURA)).includes('On a call'), 'kimura on a call from Connect');
  assert.ok((await label(KIMURA)).includes(FROM_CONNECT));
});

test('listen-in from the floor reaches Connect as the supervisor with the agent\'s contact; others are refused', async () => {
  await waitFor(async () => (await text(KIMURA)).includes('On a call'), 'kimura on a call from Connect');
  await rowOf(KIMURA).getByRole('button', { name: `Listen in on ${KIMURA.display_name}` }).click();
  await floor.locator('.supervise-result', { hasText: 'Listening — your CCP has the monitoring contact' }).waitFor({ timeout: 15000 });
  const monitors = await connect.monitors(SUPERVISOR.connect_user_id);
  assert.deepEqual(monitors.map((m) => [m.contact_id, m.barge]), [[CALL, false]], 'MonitorContact for the supervisor\'s own user, the agent\'s contact');
  await ccp.page.locator('#contact-state', { hasText: /^Monitoring/ }).waitFor({ timeout: 15000 });

  // An agent, and a supervisor watching only their own team, ask the relay directly.
  const ask = { type: 'monitor_agent', id: 7, agent: KIMURA.id, barge: true };
  const agent = await relayClient(boss.currentWorker(), {
    url: world.relay.ws, token: await devToken(world.relay, { email: 'patel@example.com', name: 'Raj Patel' }), frames: [ask],
  });
  const osaka = await relayClient(boss.currentWorker(), {
    url: world.relay.ws,
    token: await devToken(world.relay, { email: 'ito@example.com', name: '伊藤 浩', groups: ['supervisors'] }),
    frames: [{ type: 'subscribe', id: 6, roster: 'osaka' }, ask],
  });
  for (const [who, answer] of [['an agent', agent], ['a supervisor of osaka', osaka]]) {
    const error = answer.frames.find((f) => f.type === 'error' && f.id === 7);
    assert.equal(error?.error.code, 'forbidden', `${who}: ${JSON.stringify(answer.frames)}`);
  }
  // The relay answers after Connect does, so nothing more can arrive at the stand-in now.
  const everyone = await Promise.all(USERS.map((u) => connect.monitors(u.connect_user_id)));
  assert.equal(everyone.flat().length, 1, 'Connect got only the supervisor\'s request');
});

test('a supervisor sets a Connect-only agent\'s status from the floor: Connect changes it, the floor follows', async () => {
  await waitFor(async () => (await label(MORI)).startsWith(`${MORI.display_name}: Lunch`), 'mori at lunch from Connect');
  // Dismiss the listen-in's outcome, so the one below is this request's.
  await floor.locator('.supervise-result').getByRole('button', { name: 'Dismiss' }).click();
  const before = (await connect.log()).filter((l) => l.operation === 'PutUserStatus').length;
  await rowOf(MORI).getByRole('combobox', { name: `Set status of ${MORI.display_name}` }).selectOption({ label: 'Training' });
  await floor.locator('.supervise-result', { hasText: `${MORI.display_name} · Status: set to Training` }).waitFor({ timeout: 15000 });
  const puts = (await connect.log()).filter((l) => l.operation === 'PutUserStatus');
  assert.deepEqual(puts.slice(before).map((l) => l.status), [200], 'one PutUserStatus, accepted');
  // The stand-in changed the agent's status; the next read brings it to the floor.
  await waitFor(async () => (await label(MORI)).startsWith(`${MORI.display_name}: Training`), 'mori in training from Connect');
  assert.ok((await label(MORI)).includes(FROM_CONNECT));
});

test('the agent signs in with the extension: the floor follows it and never flaps back to Connect', async () => {
  // Connect still says Lunch, an older state than the one the extension will report.
  await connect.setAgent(KIMURA.connect_user_id, { status: 'Lunch', since_ms: Date.now() - 60000, contacts: [] });
  await waitFor(async () => (await label(KIMURA)).startsWith(`${KIMURA.display_name}: Lunch`), 'kimura at lunch from Connect');
  // Every label kimura's row has from now on.
  await floor.evaluate((name) => {
    window.kimuraLabels = [];
    const record = () => {
      const row = [...document.querySelectorAll('li.floor-row')].find((li) => (li.getAttribute('aria-label') || '').startsWith(`${name}: `));
      const now = row ? row.getAttribute('aria-label') : '';
      if (now !== window.kimuraLabels.at(-1)) window.kimuraLabels.push(now);
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    record();
  }, KIMURA.display_name);
  kimura = await launchAgent(world, { email: KIMURA.id });
  const K = await kimura.openCcp(KIMURA.username);
  await online(K.panel);
  await K.page.evaluate(() => window.ccpSim.setState('管理業務中'));
  await waitFor(async () => (await label(KIMURA)).startsWith(`${KIMURA.display_name}: 管理業務中`), 'kimura from the extension');
  assert.ok(!(await label(KIMURA)).includes(FROM_CONNECT), await label(KIMURA));
  // Barrier: a later change of Connect's data reaches the floor, so several reads have passed.
  await connect.setAgent(MORI.connect_user_id, { status: 'Break', since_ms: Date.now(), contacts: [] });
  await waitFor(async () => (await label(MORI)).startsWith(`${MORI.display_name}: Break`), 'mori on a break from Connect');
  await connect.setAgent(MORI.connect_user_id, { status: 'Training', since_ms: Date.now(), contacts: [] });
  await waitFor(async () => (await label(MORI)).startsWith(`${MORI.display_name}: Training`), 'mori in training from Connect');
  const labels = await floor.evaluate(() => window.kimuraLabels);
  const since = labels.findIndex((l) => l.startsWith(`${KIMURA.display_name}: 管理業務中`));
  assert.ok(labels[0].startsWith(`${KIMURA.display_name}: Lunch`), `the record starts at Connect's state: ${JSON.stringify(labels)}`);
  assert.ok(since > 0, JSON.stringify(labels));
  const after = labels.slice(since).filter((l) => l.includes(FROM_CONNECT) || l.includes('Lunch'));
  assert.deepEqual(after, [], `kimura's row went back to Connect's state: ${JSON.stringify(labels)}`);
  await K.page.evaluate(() => window.ccpSim.setState('Available'));
  await waitFor(async () => (await label(KIMURA)).startsWith(`${KIMURA.display_name}: Available`), 'kimura Available from the extension');
  kimuraCcp = K;
});

test('Available in Connect with the CCP closed: the floor warns', async () => {
  await connect.setAgent(KIMURA.connect_user_id, { status: 'Available', since_ms: Date.now() - 120000, contacts: [] });
  const alert = floor.locator('.floor-alerts li', { hasText: KIMURA.display_name });
  assert.equal(await alert.count(), 0, 'no alert while the CCP is open');
  await kimuraCcp.page.close();
  await alert.filter({ hasText: 'Available in Connect but CCP closed' }).waitFor({ timeout: 20000 });
  await waitFor(async () => (await label(KIMURA)).includes('Available in Connect but CCP closed'), 'the row says so too');
});
