// Two agents, each in their own Chromium profile with the extension, on the simulated CCP, with
// the real relay: presence, chat, resilience (relay restart, worker stopped), forged messages.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { online, openChat, row, sleep, startAgents, startRelay, stopAgents, waitFor } from './harness.js';

let world;
let a;
let b;
let A;
let B;
before(async () => {
  ({ world, a, b, A, B } = await startAgents());
});
after(() => stopAgents({ world, a, b }));

async function messages(panel) {
  return panel.locator('.messages .message:not(.pending) .text').allTextContents();
}

test('each agent sees the other change state in the CCP', async () => {
  await row(A.panel, 'tanaka@example.com').waitFor();
  for (const state of ['管理業務中', 'Break', 'Available']) {
    await B.page.evaluate((s) => window.ccpSim.setState(s), state);
    await waitFor(async () => (await row(A.panel, 'tanaka@example.com').getAttribute('aria-label')).endsWith(state), `A sees ${state}`);
  }
  await A.page.evaluate(() => window.ccpSim.setState('Break'));
  await waitFor(async () => (await row(B.panel, 'sato@example.com').getAttribute('aria-label')).endsWith('Break'), 'B sees Break');
  await A.page.evaluate(() => window.ccpSim.setState('Available'));
});

test('they chat both ways, as text, and history survives a reload', async () => {
  await openChat(A.panel, 'tanaka@example.com');
  const box = A.panel.getByRole('textbox', { name: /Message to/ });
  await box.fill('<img src=x onerror="window.pwned=1">こんにちは');
  await box.press('Enter');
  await openChat(B.panel, 'sato@example.com');
  await waitFor(async () => (await messages(B.panel)).includes('<img src=x onerror="window.pwned=1">こんにちは'), 'B receives');
  assert.equal(await B.panel.locator('.messages img').count(), 0, 'chat text is never HTML');
  const reply = B.panel.getByRole('textbox', { name: /Message to/ });
  await reply.fill('line one');
  await reply.press('Shift+Enter');
  await reply.pressSequentially('line two');
  await reply.press('Enter');
  await waitFor(async () => (await messages(A.panel)).includes('line one\nline two'), 'A receives a two-line reply');

  await A.page.reload();
  await online(A.panel);
  await openChat(A.panel, 'tanaka@example.com');
  await waitFor(async () => {
    const m = await messages(A.panel);
    return m.length === 2 && m[1] === 'line one\nline two';
  }, 'history after reload');
});

test('Enter that confirms an IME conversion does not send', async () => {
  await openChat(A.panel, 'tanaka@example.com');
  const before = (await messages(B.panel)).length;
  const box = A.panel.getByRole('textbox', { name: /Message to/ });
  await box.focus();
  const cdp = await a.context.newCDPSession(A.page);
  await cdp.send('Input.imeSetComposition', { text: 'にほんご', selectionStart: 4, selectionEnd: 4 });
  await box.evaluate((el) => el.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', isComposing: true, bubbles: true, cancelable: true })));
  await box.evaluate((el) => el.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', keyCode: 229, bubbles: true, cancelable: true })));
  await cdp.send('Input.insertText', { text: '日本語' });
  await sleep(500);
  assert.equal(await box.inputValue(), '日本語');
  assert.equal((await messages(B.panel)).length, before, 'nothing was sent while composing');
  await box.press('Enter');
  await waitFor(async () => (await messages(B.panel)).includes('日本語'), 'sent after the conversion');
});

test('a message typed while the relay is down arrives once after it returns, even across a worker stop', async () => {
  const { port, dataDir } = world.relay;
  await world.relay.kill();
  await openChat(A.panel, 'tanaka@example.com');
  const box = A.panel.getByRole('textbox', { name: /Message to/ });
  await box.fill('sent while the relay was down');
  await box.press('Enter');
  await A.panel.locator('.message.pending').first().waitFor();

  // Chrome stops idle workers; do it now, while the message is only in the outbox.
  const cdp = await a.context.newCDPSession(A.page);
  await a.worker.evaluate(() => { globalThis.sidecarMarker = 1; });
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await sleep(500);

  world.relay = await startRelay({ port, dataDir });
  await online(A.panel);
  await online(B.panel);
  await openChat(B.panel, 'sato@example.com');
  await waitFor(async () => (await messages(B.panel)).includes('sent while the relay was down'), 'B receives after the restart', 30000);
  await sleep(1500);
  const got = (await messages(B.panel)).filter((t) => t === 'sent while the relay was down');
  assert.equal(got.length, 1, 'exactly once');
  await A.panel.locator('.message.pending').waitFor({ state: 'detached' });
  const worker = a.currentWorker();
  assert.equal(await worker.evaluate(() => globalThis.sidecarMarker), undefined, 'the worker really was restarted');
});

test('a message typed the moment the worker stops is not lost', async () => {
  await openChat(A.panel, 'tanaka@example.com');
  const cdp = await a.context.newCDPSession(A.page);
  await cdp.send('ServiceWorker.enable');
  const box = A.panel.getByRole('textbox', { name: /Message to/ });
  await box.fill('typed as the worker stopped');
  await Promise.all([cdp.send('ServiceWorker.stopAllWorkers'), box.press('Enter')]);
  await openChat(B.panel, 'sato@example.com');
  await waitFor(async () => (await messages(B.panel)).includes('typed as the worker stopped'), 'B receives', 30000);
  await sleep(1000);
  assert.equal((await messages(B.panel)).filter((t) => t === 'typed as the worker stopped').length, 1);
});

test('a page script posting forged hook messages changes nothing', async () => {
  await A.page.evaluate(() => {
    const forged = { type: 'agent', agent: { username: 'sato', name: 'sato', state: { name: 'Hacked', kind: 'routable' }, since: Date.now(), queues: [] } };
    window.postMessage({ ns: 'ccp-sidecar/hook', ...forged }, '*');
    window.postMessage(forged, '*');
    const channel = new MessageChannel();
    window.postMessage({ ns: 'ccp-sidecar/hook', type: 'handshake' }, '*', [channel.port2]);
    channel.port1.postMessage(forged);
  });
  await sleep(1500);
  await B.panel.getByRole('tab', { name: 'Status' }).click();
  const label = await row(B.panel, 'sato@example.com').getAttribute('aria-label');
  assert.ok(!label.includes('Hacked'), label);
  assert.ok(label.endsWith('Available'), label);
});

test('dialling through the caller-ID panel uses the chosen queue', async () => {
  await A.panel.getByRole('tab', { name: 'Caller ID' }).click();
  const caller = A.panel.getByLabel('Caller ID (outbound queue)');
  await caller.selectOption({ label: 'Osaka Support +81 6-6345-2000' });
  await A.panel.getByLabel('Phone number').fill('12');
  await A.panel.getByRole('button', { name: 'Call', exact: true }).click();
  await A.panel.getByText('That does not look like a phone number').waitFor();
  const before = await A.page.evaluate(() => window.ccpSim.requests.filter((r) => r.method === 'createOutboundContact').length);
  assert.equal(before, 0, 'nothing was dialled for an invalid number');

  await A.panel.getByLabel('Phone number').fill('+81 3-1234-5678');
  await A.panel.getByRole('button', { name: 'Call', exact: true }).click();
  const request = await waitFor(async () => A.page.evaluate(() => window.ccpSim.requests.find((r) => r.method === 'createOutboundContact')), 'createOutboundContact');
  assert.equal(request.params.queueARN, 'arn:aws:connect:ap-northeast-1:123456789012:instance/0c9f8ab3-1d2e-4f5a-8b6c-7d8e9f0a1b2c/queue/osaka-support');
  assert.equal(request.params.endpoint.phoneNumber, '+81312345678');
  await A.panel.getByText('Calling…').waitFor();
  await waitFor(async () => (await row(B.panel, 'sato@example.com').getAttribute('aria-label')).match(/Calling customer|Busy/), 'B sees the call');

  // A second call while on one: the CCP's refusal is shown in words.
  await A.panel.getByRole('button', { name: 'Call', exact: true }).click();
  await A.panel.getByText('You are already on a call.').waitFor();
  await A.page.evaluate(() => { window.ccpSim.hangup(); window.ccpSim.close(); });
});

test('transferring a call to a colleague adds their quick connect to the contact', async () => {
  await B.page.evaluate(() => window.ccpSim.setState('Available'));
  await A.panel.getByRole('tab', { name: 'Status' }).click();
  const transfer = row(A.panel, 'tanaka@example.com').getByRole('button', { name: /^Transfer/ });
  assert.equal(await transfer.isDisabled(), true, 'no call, no transfer');
  await A.page.evaluate(() => { window.ccpSim.incoming('+81398765432'); window.ccpSim.answer(); });
  await waitFor(async () => transfer.isEnabled(), 'transfer enabled on a call');
  await transfer.click();
  const added = await waitFor(async () => A.page.evaluate(
    () => window.ccpSim.requests.find((r) => r.method === 'createAdditionalConnection')), 'createAdditionalConnection');
  assert.match(JSON.stringify(added.params), /transfer-destination\/tanaka/);
  assert.ok(await A.page.evaluate(() => window.ccpSim.requests.some((r) => r.method === 'getEndpoints')));
  await A.page.evaluate(() => { window.ccpSim.hangup(); window.ccpSim.close(); });
});
