// The UI follows the browser's language: Japanese labels, state names and messages; or the one an
// agent chooses on the options page, whatever the browser's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EXTENSION_ID, launchAgent, online, startWorld } from './harness.js';

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

test('an agent chooses 日本語 on the options page of an English browser: the options page and the open panel redraw in it, and back', async () => {
  const english = await launchAgent(world, { email: 'smith@example.com', lang: 'en-US' });
  try {
    const { page, panel } = await english.openCcp('smith');
    await online(panel);
    await panel.getByRole('tab', { name: 'Caller ID' }).waitFor();
    const options = await english.context.newPage();
    await options.goto(`chrome-extension://${EXTENSION_ID}/options.html`);
    await options.getByLabel('Language').selectOption('ja');
    await options.getByRole('button', { name: 'Save' }).click();
    // Saved, the options page reads itself again in Japanese, and so does the panel on the CCP.
    await options.getByLabel('言語').waitFor();
    assert.equal(await options.getByLabel('言語').inputValue(), 'ja');
    await panel.getByRole('tab', { name: '発信者番号' }).waitFor({ timeout: 20000 });
    await panel.getByRole('status').filter({ hasText: '接続済み' }).waitFor({ timeout: 20000 });
    assert.equal(await panel.locator('.panel').getAttribute('lang'), 'ja');
    // The browser's language again: English everywhere.
    await options.getByLabel('言語').selectOption('');
    await options.getByRole('button', { name: '保存' }).click();
    await options.getByLabel('Language').waitFor();
    await panel.getByRole('tab', { name: 'Caller ID' }).waitFor({ timeout: 20000 });
    await page.close();
  } finally {
    await english.close();
  }
});
