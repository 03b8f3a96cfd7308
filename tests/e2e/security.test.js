// Security as agents meet it. (1) Signed in as one person with the CCP logged in as another
// Connect user: the panel says so in words (English and Japanese) and nothing is published under
// either name, which a colleague's panel, watched the whole time, confirms; the relay refuses a
// client that tries anyway. (2) A colleague whose display name, status name and chat text are
// HTML and script: every panel shows them as text, creates no element and runs nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../ccp/server.js';
import { devToken, launchAgent, online, panelFrame, relayClient, sleep, startRelay, waitFor } from './harness.js';

let world;
let watcher;
let W;
let aiko;
let A;
let tools;

before(async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sidecar-directory-')), 'directory.json');
  writeFileSync(file, JSON.stringify({
    users: [
      { id: 'aiko.sato@example.com', username: 'asato', display_name: '佐藤 愛子' },
      { id: 'kenji.tanaka@example.com', username: 'ktanaka', display_name: '田中 健二' },
      { id: 'watcher@example.com', username: 'watcher', display_name: 'Wataru Watanabe' },
    ],
  }));
  world = { sim: await startSimulator(0), relay: await startRelay({ extraArgs: ['--directory-file', file] }) };
  // A colleague whose panel is watched throughout: every row label it ever shows is recorded.
  watcher = await launchAgent(world, { email: 'watcher@example.com' });
  W = await watcher.openCcp('watcher');
  await online(W.panel);
  const frame = await panelFrame(W.page);
  await frame.evaluate(() => {
    window.rowsSeen = new Set();
    const record = () => document.querySelectorAll('li.agent').forEach((li) => window.rowsSeen.add(li.getAttribute('aria-label')));
    record();
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  aiko = await launchAgent(world, { email: 'aiko.sato@example.com' });
  // A browser whose worker only runs hand-made protocol clients (its own extension goes nowhere).
  tools = await launchAgent(world, { options: { relay_url: 'ws://127.0.0.1:9/ws', issuer: 'http://127.0.0.1:9/none', client_id: 'none' } });
});
after(async () => {
  await aiko?.close();
  await watcher?.close();
  await tools?.close();
  await world?.relay.stop();
  world?.sim.close();
});

/** Row labels the watcher's panel showed for `name` in a state other than Offline. */
async function publishedAs(name) {
  const frame = await panelFrame(W.page);
  const seen = await frame.evaluate(() => [...window.rowsSeen]);
  return seen.filter((label) => label.startsWith(`${name}: `) && label !== `${name}: Offline`);
}

const alert = (panel) => panel.getByRole('alert');

test('a CCP logged in as another Connect user is named in an alert and publishes nothing', async () => {
  A = await aiko.openCcp('ktanaka');
  await online(A.panel);
  await alert(A.panel).filter({
    hasText: 'Signed in as aiko.sato@example.com, but this CCP is logged in as Connect user ktanaka. '
      + 'Your status is not shared until they match: sign out and sign in as ktanaka, or log the CCP in as yourself.',
  }).waitFor();
  for (const state of ['Break', '管理業務中']) {
    await A.page.evaluate((s) => window.ccpSim.setState(s), state);
    await sleep(1000);
  }
  // The e-mail's local part is not enough when the directory names her Connect user (asato).
  await A.page.goto(A.page.url().replace('agent=ktanaka', 'agent=aiko.sato').replace('name=ktanaka', 'name=aiko.sato'));
  await online(A.panel);
  await alert(A.panel).filter({ hasText: 'this CCP is logged in as Connect user aiko.sato.' }).waitFor();
  await A.page.evaluate(() => window.ccpSim.setState('Break'));
  await sleep(1500);

  // A client that ignores the check is refused by the relay.
  const token = await devToken(world.relay, { email: 'eve@example.com' });
  const state = { name: 'Available', kind: 'routable' };
  const tried = await relayClient(tools.worker, {
    url: world.relay.ws, token, waitMs: 1500,
    frames: [{ type: 'set_presence', id: 1, state, since: Date.now(), username: 'watcher' }],
  });
  const refusal = tried.frames.find((f) => f.type === 'error' && f.id === 1);
  assert.equal(refusal?.error?.code, 'identity_mismatch', JSON.stringify(tried.frames));

  assert.deepEqual(await publishedAs('佐藤 愛子'), [], 'nothing under the signed-in name');
  assert.deepEqual(await publishedAs('田中 健二'), [], 'nothing under the CCP\'s Connect user');
  assert.deepEqual(await publishedAs('eve@example.com'), []);

  // Once the CCP is hers, the alert goes and her state reaches the colleague: the watch works.
  await A.page.goto(A.page.url().replace('agent=aiko.sato', 'agent=asato').replace('name=aiko.sato', 'name=asato'));
  await online(A.panel);
  await A.panel.getByLabel('My state: Available').waitFor();
  assert.equal(await alert(A.panel).count(), 0);
  await A.page.evaluate(() => window.ccpSim.setState('Break'));
  await waitFor(async () => (await publishedAs('佐藤 愛子')).includes('佐藤 愛子: Break'), 'the watcher sees her Break');
  assert.deepEqual(await publishedAs('田中 健二'), []);
});

test('the same alert reads in Japanese, and nothing is published', async () => {
  const yui = await launchAgent(world, { email: 'yui@example.com', lang: 'ja' });
  try {
    const J = await yui.openCcp('ben');
    await J.panel.getByRole('status').filter({ hasText: '接続済み' }).waitFor({ timeout: 20000 });
    await alert(J.panel).filter({
      hasText: 'yui@example.com としてサインインしていますが、この CCP には Connect ユーザー ben でログインしています。'
        + '一致するまで状態は共有されません。',
    }).waitFor();
    await J.page.evaluate(() => window.ccpSim.setState('Break'));
    await sleep(1500);
    assert.deepEqual(await publishedAs('yui@example.com'), []);
    assert.deepEqual(await publishedAs('ben'), []);
  } finally {
    await yui.close();
  }
});

test('a colleague\'s name, status and chat written as HTML and script are shown as text', async () => {
  const name = '<img src=x onerror="window.sidecarPwned=\'name\'">Mallory';
  const status = '<script>window.sidecarPwned=\'state\'</script><b>Lunch</b>';
  const text = '<img src=x onerror="window.sidecarPwned=\'chat\'"><script>window.sidecarPwned=\'chat\'</script>hi';
  const token = await devToken(world.relay, { email: 'mallory@example.com', name });
  // Mallory stays connected (so her state is shown) while the watcher's panel is checked.
  const mallory = relayClient(tools.worker, {
    url: world.relay.ws, token, waitMs: 12000, frames: [
      { type: 'set_presence', id: 1, state: { name: status, kind: 'not_routable' }, since: Date.now(), username: 'mallory' },
      { type: 'send_chat', id: 2, to: 'watcher@example.com', client_id: 'mallory-1', text },
    ],
  });
  mallory.catch(() => {});
  const frame = await panelFrame(W.page);
  const elements = () => frame.evaluate(() => ({
    pwned: window.sidecarPwned,
    images: document.querySelectorAll('img').length,
    handlers: document.querySelectorAll('[onerror]').length,
    scripts: [...document.scripts].filter((s) => s.textContent.includes('sidecarPwned')).length,
    bold: document.querySelectorAll('b').length,
  }));
  const clean = { pwned: undefined, images: 0, handlers: 0, scripts: 0, bold: 0 };
  assert.deepEqual(await elements(), clean, 'nothing before');

  await W.panel.getByRole('tab', { name: 'Status' }).click();
  const row = W.panel.getByRole('listitem', { name: `${name}: ${status}`, exact: true });
  await row.waitFor();
  assert.equal(await row.locator('.agent-name').textContent(), name);
  assert.match(await row.locator('.agent-state').textContent(), /^<script>window\.sidecarPwned='state'<\/script><b>Lunch<\/b>/);

  await row.getByRole('button', { name: `Chat with ${name}` }).click();
  const messages = W.panel.getByRole('list', { name: `Conversation with ${name}` });
  await messages.locator('.text').filter({ hasText: 'hi' }).waitFor();
  assert.deepEqual(await messages.locator('.text').allTextContents(), [text]);
  await W.panel.getByRole('button', { name: 'Back to conversations' }).click();
  const conversation = W.panel.getByRole('button', { name, exact: true });
  assert.equal(await conversation.locator('.conv-name').textContent(), name);
  assert.equal(await conversation.locator('.preview').textContent(), [...text].slice(0, 80).join(''), 'the preview, as text');

  assert.deepEqual(await elements(), clean, 'no element was made from their text and no script ran');
  assert.equal(await W.page.evaluate(() => window.sidecarPwned), undefined, 'nor in the CCP page');
  assert.equal(await W.page.locator('img[src="x"]').count(), 0);
  const { frames } = await mallory;
  assert.ok(frames.some((f) => f.type === 'chat_ack'), JSON.stringify(frames));
});
