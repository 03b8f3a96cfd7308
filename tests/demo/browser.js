// The browser half of `cargo xtask demo`: serves the CCP simulator and opens Chromium with the
// built extension on it, signed in through the relay's development issuer as the demo agent.
// With a display it opens a window to use; without one it runs headless and writes screenshots
// of the status, chat and caller-ID panels (English and Japanese, one chat message and one call
// each) and of the dock collapsed in that wide window and in a narrow CCP popup (400×700),
// collapsed with an unread message and open, and the ask-for-help form (in Japanese, the request
// sent), and the options page, into the folder it is given; the README's screenshots are these.
// With SUPERVISOR, a second profile signs in as that supervisor and shows the floor full-tab
// (and, headless, the floor's screenshots: the full tab with help requests and alerts, the chat
// a taken request opens, the dock's Floor tab, a narrow window). With CONNECT_URL (the Connect
// stand-in) the supervisor's CCP plays the monitoring contacts Connect gives them, and headless
// the floor listens in on an agent known only from Connect (the outcome on the floor and the
// monitoring contact in the supervisor's CCP).
// Runs until it is stopped.
//   node tests/demo/browser.js RELAY_URL EMAIL CONNECT_USERNAME SCREENSHOT_DIR [SUPERVISOR [CONNECT_URL]]
import { mkdirSync } from 'node:fs';
import { startSimulator } from '../ccp/server.js';
import { EXTENSION_ID, devToken, launchAgent, online, relayClient, sleep } from '../e2e/harness.js';

const [relayUrl, email, username, shots, supervisor, connectUrl] = process.argv.slice(2);
/** The demo agent on a call known only from Connect, whom the supervisor listens in on. */
const ON_A_CALL = 'Raj Patel';
if (!relayUrl || !email || !username || !shots) {
  console.error('usage: node tests/demo/browser.js RELAY_URL EMAIL CONNECT_USERNAME SCREENSHOT_DIR [SUPERVISOR]');
  process.exit(2);
}
const sim = await startSimulator(0);
const relay = { ws: `${relayUrl.replace(/^http/, 'ws')}/ws`, issuer: `${relayUrl}/dev/oidc` };
const world = { sim, relay };
const headed = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
const open = [];
const stop = async () => {
  for (const agent of open) await agent.close().catch(() => {});
  sim.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

/** Screenshots of the three panels, with one chat message to a simulated colleague. */
async function screenshots(lang) {
  const tag = lang.slice(0, 2);
  const agent = await launchAgent(world, { email, lang });
  open.push(agent);
  const { page, panel } = await agent.openCcp(username);
  await online(panel);
  await panel.getByRole('listitem').nth(3).waitFor({ timeout: 20000 });
  await sleep(1000);
  await page.screenshot({ path: `${shots}/status-${tag}.png` });
  // The ask-for-help form; in Japanese it is sent (the floor's screenshots show it).
  await panel.getByRole('button', { name: /^(✋ )?(Ask for help|ヘルプを依頼)$/ }).click();
  await panel.getByRole('combobox').selectOption({ index: 2 });
  await panel.getByRole('textbox', { name: /Note|メモ/ }).fill(tag === 'ja' ? '上長対応を希望されています。' : 'Customer wants to speak to a manager.');
  await sleep(300);
  await page.screenshot({ path: `${shots}/help-form-${tag}.png` });
  if (tag === 'ja') {
    await panel.getByRole('button', { name: '依頼する' }).click();
    await panel.locator('.help-status').waitFor();
    await sleep(500);
    await page.screenshot({ path: `${shots}/help-asked-${tag}.png` });
  } else {
    await panel.getByRole('button', { name: 'Cancel' }).click();
  }
  await panel.getByRole('button', { name: /田中|Tanaka/ }).first().click();
  const box = panel.getByRole('textbox');
  await box.fill(tag === 'ja' ? '3番の転送、お願いできますか？' : 'Can you take a transfer on line 3?');
  await box.press('Enter');
  await sleep(2500);
  await page.screenshot({ path: `${shots}/chat-${tag}.png` });
  // One call through the second caller ID, answered by the simulated customer, then hung up.
  await panel.getByRole('tab', { name: /Caller ID|発信者番号/ }).click();
  const picker = panel.getByRole('combobox');
  await picker.locator('option').nth(1).waitFor({ state: 'attached', timeout: 20000 });
  await picker.selectOption({ index: 1 });
  await panel.getByRole('textbox').fill('03-1234-5678');
  await panel.getByRole('button', { name: /^(Call|発信)$/ }).click();
  await sleep(4000);
  await page.evaluate(() => { window.ccpSim.hangup(); window.ccpSim.close(); });
  await sleep(1500);
  await panel.getByRole('textbox').fill('090-1234-5678');
  await page.screenshot({ path: `${shots}/caller-${tag}.png` });
  // The dock collapsed in the wide window, then the narrow CCP popup (400×700): collapsed, with
  // a colleague's unread message on the handle, and opened over the CCP.
  await panel.getByRole('tab', { name: /^(Status|ステータス)$/ }).click();
  const yui = await devToken(relay, { email: 'yui.suzuki@example.com', name: '鈴木 結衣' });
  await relayClient(agent.currentWorker(), {
    url: relay.ws, token: yui, waitMs: 300, frames: [{ type: 'send_chat', id: 1, to: email, client_id: `demo-${tag}-${Date.now()}`,
      text: tag === 'ja' ? '少しお時間ありますか？' : 'Have you got a minute?' }],
  });
  await page.getByRole('button', { name: /^(Collapse CCP Sidecar|CCP Sidecar を折りたたむ)$/ }).click();
  const handle = page.getByRole('button', { name: /^(Open CCP Sidecar|CCP Sidecar を開く)/ });
  await page.getByRole('button', { name: /unread|未読/ }).waitFor({ timeout: 10000 });
  await sleep(500);
  await page.screenshot({ path: `${shots}/wide-collapsed-${tag}.png` });
  await page.setViewportSize({ width: 400, height: 700 });
  await sleep(800);
  await page.screenshot({ path: `${shots}/narrow-collapsed-${tag}.png` });
  await handle.click();
  await sleep(1000);
  await page.screenshot({ path: `${shots}/narrow-open-${tag}.png` });
  // As it was, for whoever uses this browser next: a wide window, the dock open.
  await page.setViewportSize({ width: 1280, height: 800 });
  await handle.click();
  // The options page: relay and sign-in, the language, the supervisor's alert thresholds.
  const options = await agent.context.newPage();
  await options.setViewportSize({ width: 700, height: 960 });
  await options.goto(`chrome-extension://${EXTENSION_ID}/options.html`);
  await options.locator('form.options').waitFor();
  await sleep(300);
  await options.screenshot({ path: `${shots}/options-${tag}.png`, fullPage: true });
  await options.close();
  return agent;
}

/** Where the supervisor's simulated CCP asks the Connect stand-in for monitoring contacts. */
function supervisorCcp() {
  if (!connectUrl) return {};
  // The stand-in's user id of the supervisor: the demo directory's order (`u-000006`).
  return { query: { connect: connectUrl, connect_user: 'u-000006' } };
}

/** The supervisor's full-tab floor, in a profile of its own. */
async function openFloor(lang, headless = true) {
  const boss = await launchAgent(world, { email: supervisor, lang, headless });
  open.push(boss);
  const floor = await boss.context.newPage();
  await floor.goto(`chrome-extension://${EXTENSION_ID}/floor.html`);
  return { boss, floor };
}

/** The floor full-tab with the overstaying colleague's alert, the dock's Floor tab, and narrow. */
async function floorScreenshots(lang) {
  const tag = lang.slice(0, 2);
  const { boss, floor } = await openFloor(lang);
  await floor.setViewportSize({ width: 1280, height: 800 });
  await floor.locator('.floor-alerts li').first().waitFor({ timeout: 60000 });
  // The colleague whose CCP closed while Connect keeps them Available.
  if (connectUrl) await floor.locator('.floor-alerts li', { hasText: 'Maria Lopez' }).waitFor({ timeout: 60000 });
  // The demo agent's request, and the colleague's who asks within the demo's first minute.
  await floor.locator('.floor-help li').nth(1).waitFor({ timeout: 90000 });
  await sleep(1000);
  await floor.screenshot({ path: `${shots}/floor-${tag}.png` });
  // The demo agent's request taken (English) or already taken by this supervisor (Japanese): the
  // chat with the request above it.
  const mine = floor.locator('.floor-help li', { hasText: '山田 結衣' });
  const take = mine.locator('button', { hasText: /^(Take|対応する)$/ });
  if (await take.count()) await take.click();
  else await mine.locator('button', { hasText: /^(Open chat|チャットを開く)$/ }).click();
  await floor.locator('.help-context').waitFor({ timeout: 10000 });
  await sleep(800);
  await floor.screenshot({ path: `${shots}/floor-help-chat-${tag}.png` });
  if (tag === 'ja') await floor.locator('.help-context').getByRole('button').click();
  const { page, panel } = await boss.openCcp(supervisor.split('@')[0], supervisorCcp());
  await online(panel);
  if (connectUrl) {
    // Listen in from the dock's floor on the agent Connect says is on a call: the outcome under
    // the tools, and the monitoring contact in this CCP.
    await panel.getByRole('tab', { name: /^(Floor|フロア)/ }).click();
    const listen = panel.getByRole('button', { name: new RegExp(`^(Listen in on ${ON_A_CALL}|${ON_A_CALL} さんをモニタリング)$`) });
    await listen.click({ timeout: 20000 });
    await panel.locator('.supervise-result:not(.pending)').waitFor({ timeout: 20000 });
    await page.locator('#contact-state', { hasText: /^Monitoring/ }).waitFor({ timeout: 20000 });
    await sleep(500);
    await page.screenshot({ path: `${shots}/floor-listen-${tag}.png` });
  }
  await panel.getByRole('tab', { name: /^(Floor|フロア)/ }).click();
  await panel.locator('.floor-alerts li').first().waitFor({ timeout: 20000 });
  await sleep(1000);
  await page.screenshot({ path: `${shots}/floor-panel-${tag}.png` });
  await page.setViewportSize({ width: 400, height: 700 });
  await page.getByRole('button', { name: /^(Open CCP Sidecar|CCP Sidecar を開く)/ }).click();
  await sleep(1000);
  await page.screenshot({ path: `${shots}/floor-narrow-${tag}.png` });
  open.splice(open.indexOf(boss), 1);
  await boss.close();
}

if (headed) {
  const agent = await launchAgent(world, { email, headless: false });
  open.push(agent);
  const { panel } = await agent.openCcp(username);
  await online(panel);
  console.log(`demo: Chromium is open on the simulated CCP as ${email}; close it or press Ctrl-C to stop.`);
  if (supervisor) {
    await openFloor('en-US', false);
    console.log(`demo: a second Chromium shows the supervisor's floor as ${supervisor}.`);
  }
  agent.context.on('close', stop);
} else {
  mkdirSync(shots, { recursive: true });
  const english = await screenshots('en-US');
  const japanese = await screenshots('ja');
  open.splice(open.indexOf(japanese), 1);
  await japanese.close();
  if (supervisor) {
    await floorScreenshots('en-US');
    await floorScreenshots('ja');
  }
  console.log(`demo: no display, so Chromium runs headless; screenshots of the panels are in ${shots}/`);
  console.log(`demo: ${email} stays signed in on the simulated CCP (https://example-corp.my.connect.aws/ccp-v2/ inside that browser)`);
  void english;
}
