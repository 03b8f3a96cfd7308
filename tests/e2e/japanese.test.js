// The UI follows the browser's language: Japanese labels, state names and messages.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchAgent, startWorld } from './harness.js';

let world;
let agent;
before(async () => {
  world = await startWorld();
  agent = await launchAgent(world, { email: 'yamada@example.com', lang: 'ja' });
});
after(async () => {
  await agent?.close();
  await world?.relay.stop();
  world?.sim.close();
});

test('a Japanese browser gets the Japanese UI', async () => {
  const { page, panel } = await agent.openCcp('yamada');
  await panel.getByRole('status').filter({ hasText: '接続済み' }).waitFor({ timeout: 20000 });
  for (const name of ['ステータス', 'チャット', '発信者番号']) {
    await panel.getByRole('tab', { name }).waitFor();
  }
  await page.evaluate(() => window.ccpSim.setState('Available'));
  await panel.getByLabel('自分の状態: 受付可').waitFor();
  await panel.getByRole('tab', { name: '発信者番号' }).click();
  await panel.getByLabel('電話番号').fill('abc');
  await panel.getByRole('button', { name: '発信' }).click();
  await panel.getByText('電話番号として正しくありません').waitFor();
  assert.equal(await panel.locator('.panel').getAttribute('lang'), 'ja');
});
