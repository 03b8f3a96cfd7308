// The chat text limit end to end (issue 12, item 2): the panel learns the relay's limit from its
// welcome, counts characters as the relay does, says so near and over the limit and sends
// nothing over it; a message queued while the relay was away and refused when it returns (here:
// the relay came back with a smaller limit) shows in its conversation with the reason, in the
// agent's language, leaves the outbox (not resent, not "sending" forever), and Edit puts it back
// into the composer. Meanwhile the header says the relay cannot be reached and when it retries.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../ccp/server.js';
import { launchAgent, online, sleep, startRelay } from './harness.js';

let sim;
let relay;
let directory;
let aiko;
before(async () => {
  directory = join(mkdtempSync(join(tmpdir(), 'sidecar-directory-')), 'directory.json');
  writeFileSync(directory, JSON.stringify({
    users: [
      { id: 'aiko.sato@example.com', username: 'asato', display_name: '佐藤 愛子' },
      { id: 'kenji.tanaka@example.com', username: 'ktanaka', display_name: '田中 健二' },
    ],
  }));
  sim = await startSimulator(0);
  relay = await startRelay({ extraArgs: ['--directory-file', directory, '--max-text-chars', '100'] });
  aiko = await launchAgent({ sim, relay }, { email: 'aiko.sato@example.com' });
});
after(async () => {
  await aiko?.close();
  await relay?.stop();
  sim?.close();
});

test('the relay limit is counted in characters, refused before the outbox, and a later refusal shows in place', async () => {
  const { page, panel } = await aiko.openCcp('asato');
  await online(panel);
  await panel.getByRole('button', { name: 'Chat with 田中 健二' }).click();
  const box = panel.getByRole('textbox', { name: 'Message to 田中 健二' });
  const send = panel.getByRole('button', { name: 'Send' });

  // 101 characters: said, and not sent by button or Enter.
  await box.fill('あ'.repeat(101));
  await panel.getByRole('alert').filter({ hasText: '101 / 100 characters: 1 over the limit' }).waitFor();
  assert.equal(await send.isDisabled(), true);
  await box.press('Enter');
  // 100 Japanese characters (300 bytes) are within a 100-character limit, and are sent.
  await box.fill('い'.repeat(100));
  await panel.getByText('100 / 100 characters').waitFor();
  await box.press('Enter');
  const messages = panel.locator('li.message');
  await messages.filter({ hasText: 'い'.repeat(100) }).locator('time').waitFor();
  assert.equal(await messages.count(), 1, 'the message over the limit never left the panel');

  // The relay goes away: the header says so, with the retry, and a message typed now waits.
  await relay.stop();
  await panel.getByText(/^Relay unreachable — retrying (in \d+ s|now)$/).waitFor({ timeout: 20000 });
  const queued = 'う'.repeat(80);
  await box.fill(queued);
  await box.press('Enter');
  await messages.filter({ hasText: queued }).getByText('Sending…').waitFor();

  // It comes back with a 50-character limit: the queued message is refused, in place.
  relay = await startRelay({ port: relay.port, dataDir: relay.dataDir, extraArgs: ['--directory-file', directory, '--max-text-chars', '50'] });
  const failed = panel.locator('li.message.failed', { hasText: queued });
  await failed.getByText('Too long to send. Edit it to shorten it, then send again.').waitFor({ timeout: 45000 });
  assert.equal(await panel.getByText('Sending…').count(), 0, 'nothing stays "sending"');
  const { outbox } = await aiko.currentWorker().evaluate(() => chrome.storage.local.get('outbox'));
  assert.deepEqual(outbox ?? [], [], 'the refused message left the stored outbox');

  // Edit: back into the composer (now over the new limit, so the counter says so), gone below.
  await failed.getByRole('button', { name: 'Edit' }).click();
  assert.equal(await box.inputValue(), queued);
  await panel.getByRole('alert').filter({ hasText: '80 / 50 characters: 30 over the limit' }).waitFor();
  assert.equal(await panel.locator('li.message.failed').count(), 0);

  // A reload shows what the relay stored: the first message only; the refused one was not resent.
  await page.reload();
  await online(panel);
  await panel.getByRole('tab', { name: /^Chat/ }).click();
  await panel.getByRole('button', { name: /^田中 健二/ }).click();
  await messages.first().waitFor();
  await sleep(500);
  assert.deepEqual(await messages.allInnerTexts().then((t) => t.map((s) => s.split('\n')[0])), ['い'.repeat(100)]);
});
