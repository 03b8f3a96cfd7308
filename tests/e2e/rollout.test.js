// Managed rollout under a real policy file: the extension packaged and signed by `cargo xtask
// dist --crx`, hosted by the relay (`--extension-dir`), force-installed by Chromium's
// ExtensionSettings policy from /etc/chromium/policies/managed/ (the Linux template of
// manifest/policies/ with this relay's URLs) with no `--load-extension`, and configured by the
// policy's `3rdparty` section. The policy file is removed afterwards, also when
// a test fails. CI runs as root; if the policy directory cannot be written the suite fails and
// says so (it never skips).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../ccp/server.js';
import { EXTENSION_ID, devToken, online, relayClient, startRelay, waitFor } from './harness.js';
import * as managed from './managed.js';

const SATO = 'sato@example.com';
const SUZUKI = 'suzuki@example.com';

let sim;
let relay;
let packages;
let browser;
let context;
const servers = [];

const publish = (version) => managed.publish(relay, packages, version);
const writePolicy = (config) => managed.writePolicy(relay, config);
const extensionWorker = (c = context) => managed.extensionWorker(c);

before(async () => {
  sim = await startSimulator(0);
  packages = mkdtempSync(join(tmpdir(), 'sidecar-packages-'));
  relay = await startRelay({ extraArgs: ['--extension-dir', packages] });
  publish('1.0.0');
  writePolicy({ relay_url: relay.ws, issuer: relay.issuer, client_id: 'ccp-sidecar-dev', login_hint: SATO });
  browser = await managed.launchManaged(sim);
  context = browser.context;
});

after(async () => {
  for (const s of servers) s.close();
  await browser?.close();
  managed.removePolicy();
  await relay?.stop();
  sim?.close();
});

test('installed by policy with no user action, and the user can neither disable nor remove it', async () => {
  const worker = await extensionWorker();
  const self = await worker.evaluate(() => chrome.management.getSelf());
  assert.equal(self.installType, 'admin');
  assert.equal(self.mayDisable, false);
  assert.equal(self.enabled, true);
  assert.equal(self.version, '1.0.0', 'the hosted package, not a development build');
  // The policy's `3rdparty` section reaches managed storage a moment after the install.
  await waitFor(async () => (await worker.evaluate(() => chrome.storage.managed.get(null))).relay_url === relay.ws,
    'the relay URL from the policy in managed storage');
});

test('configured by policy alone, it signs in and works on the CCP: presence and chat with a second agent', async () => {
  const worker = await extensionWorker();
  const page = await context.newPage();
  await page.goto('https://example-corp.my.connect.aws/ccp-v2/?agent=sato&name=sato');
  const panel = page.frameLocator('#ccp-sidecar-dock iframe');
  await online(panel);
  // A second agent, Tanaka, on the same relay: available, and writes to Sato.
  const token = await devToken(relay, { email: 'tanaka@example.com' });
  const tanaka = relayClient(worker, {
    url: relay.ws, token, waitMs: 8000, frames: [
      { type: 'set_presence', id: 1, state: { name: 'Available', kind: 'routable' }, since: Date.now() },
      { type: 'send_chat', id: 2, to: SATO, client_id: 'rollout-1', text: 'Managed hello' },
    ],
  });
  await waitFor(async () => /tanaka@example\.com: Available/.test(
    (await panel.getByRole('listitem').allInnerTexts().catch(() => [])).join('\n') +
    (await panel.locator('li.agent').evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label')).join('\n')).catch(() => ''))),
  'Tanaka available in the managed panel');
  await panel.getByRole('tab', { name: /Chat/ }).click();
  await panel.getByRole('button', { name: /tanaka@example\.com/ }).click();
  await panel.getByText('Managed hello').waitFor();
  const { frames } = await tanaka;
  assert.ok(frames.some((f) => f.type === 'chat_ack' && f.id === 2), 'the relay stored Tanaka\'s message');
  await page.close();
});

test('a policy change while Chromium runs moves it to a second relay, without a restart', async () => {
  const second = await startRelay();
  try {
    const page = await context.newPage();
    await page.goto('https://example-corp.my.connect.aws/ccp-v2/?agent=sato&name=sato');
    const panel = page.frameLocator('#ccp-sidecar-dock iframe');
    await online(panel);
    writePolicy({ relay_url: second.ws, issuer: second.issuer, client_id: 'ccp-sidecar-dev', login_hint: SATO });
    // Chromium notices the file, the worker the managed storage change: it signs in to the second
    // relay and publishes Sato's presence there.
    const token = await devToken(second, { email: 'tanaka@example.com' });
    const worker = await extensionWorker();
    await waitFor(async () => {
      const { frames } = await relayClient(worker, { url: second.ws, token, waitMs: 300, frames: [{ type: 'subscribe', id: 1 }] });
      return frames.filter((f) => f.type === 'roster').flatMap((f) => f.agents).some((p) => p.principal === SATO && p.online);
    }, 'Sato online on the second relay', 60000);
    await online(panel);
    await page.close();
  } finally {
    writePolicy({ relay_url: relay.ws, issuer: relay.issuer, client_id: 'ccp-sidecar-dev', login_hint: SATO });
    await second.stop();
  }
});

test("Chromium's schema check drops values the schema refuses; the options page shows the ones in force, locked; the policy's country reads typed numbers", async () => {
  const base = { relay_url: relay.ws, issuer: relay.issuer, client_id: 'ccp-sidecar-dev', login_hint: SATO };
  const stored = async () => (await extensionWorker()).evaluate(() => chrome.storage.managed.get(null));
  try {
    // A country that is not two letters and a threshold that is not a number, beside good values;
    // the new help reason is the barrier that this policy has arrived.
    writePolicy({ ...base, default_country: 'USA', alerts: { hold_minutes: 'three', acw_minutes: 4 }, help_reasons: ['Schema check'] });
    await waitFor(async () => (await stored()).help_reasons?.[0] === 'Schema check', 'the new policy in managed storage', 30000);
    const seen = await stored();
    assert.equal(seen.default_country, undefined, 'the country the pattern refuses is dropped');
    // Chromium drops a setting whole when any part of it does not fit: the thresholds with it.
    assert.equal(seen.alerts, undefined, 'the thresholds with one that is not a number are dropped');
    assert.equal(seen.relay_url, relay.ws, 'the other settings stay');

    const options = await context.newPage();
    await options.goto(`chrome-extension://${EXTENSION_ID}/options.html`);
    // The note is read only where there is one: a locator that matches nothing would wait out
    // Playwright's timeout before saying so.
    const locked = async (id) => ({
      value: await options.locator(`#${id}`).inputValue(),
      readonly: (await options.locator(`#${id}`).getAttribute('readonly')) !== null,
      note: (await options.locator(`#${id}-locked`).count()) ? await options.locator(`#${id}-locked`).innerText() : '',
    });
    await waitFor(async () => (await locked('relay_url')).value === relay.ws, 'the relay URL on the options page');
    assert.deepEqual(await locked('relay_url'), { value: relay.ws, readonly: true, note: 'Set by your organisation' });
    assert.deepEqual(await locked('acw_minutes'), { value: '', readonly: false, note: '' }, 'a dropped value leaves the field to the agent');
    assert.deepEqual(await locked('default_country'), { value: '', readonly: false, note: '' });

    // A valid country, in lower case: in force, shown locked as the code it is.
    writePolicy({ ...base, default_country: 'us', alerts: { acw_minutes: 4 }, help_reasons: ['Country'] });
    await waitFor(async () => (await stored()).default_country === 'us', 'the country in managed storage', 30000);
    await options.reload();
    await waitFor(async () => (await locked('default_country')).value === 'US', 'the country on the options page');
    assert.deepEqual(await locked('default_country'), { value: 'US', readonly: true, note: 'Set by your organisation' });
    assert.deepEqual(await locked('acw_minutes'), { value: '4', readonly: true, note: 'Set by your organisation' });
    assert.deepEqual(await locked('hold_minutes'), { value: '', readonly: false, note: '' }, 'a threshold the policy leaves out stays editable');
    await options.close();

    // Typed without +, a number is read in the policy's country: ten digits are a US number.
    const page = await context.newPage();
    await page.goto('https://example-corp.my.connect.aws/ccp-v2/?agent=sato&name=sato');
    const panel = page.frameLocator('#ccp-sidecar-dock iframe');
    await online(panel);
    await panel.getByRole('tab', { name: 'Caller ID' }).click();
    await panel.getByLabel('Phone number').fill('212 555 0100');
    await panel.getByRole('button', { name: 'Call', exact: true }).click();
    const dial = await waitFor(async () => (await page.evaluate(() => window.ccpSim.requests.filter((r) => r.method === 'createOutboundContact')))[0], 'the call');
    assert.equal(dial.params.endpoint.phoneNumber, '+12125550100');
    await page.evaluate(() => { window.ccpSim.hangup(); });
    await page.close();
  } finally {
    writePolicy(base);
  }
});

test("the policy's language and teams: a supervisor's floor and options in Japanese in an English Chromium, on the policy's teams only; changed at run time, both follow without a restart", async () => {
  // A relay whose directory puts Sato in 東京 and Kato in 大阪, rosters by team, Suzuki a supervisor.
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-teams-'));
  const file = join(dir, 'directory.json');
  writeFileSync(file, JSON.stringify({
    users: [
      { id: SATO, display_name: 'Sato Ken', team: '東京' },
      { id: 'kato@example.com', display_name: 'Kato Aoi', team: '大阪' },
      { id: SUZUKI, display_name: 'Suzuki Mei', team: '東京' },
    ],
  }));
  const teams = await startRelay({ extraArgs: ['--directory-file', file, '--roster-by', 'team', '--dev-supervisors', SUZUKI] });
  const base = { relay_url: relay.ws, issuer: relay.issuer, client_id: 'ccp-sidecar-dev', login_hint: SATO };
  const stored = async () => (await extensionWorker()).evaluate(() => chrome.storage.managed.get(null));
  try {
    const supervisor = { relay_url: teams.ws, issuer: teams.issuer, client_id: 'ccp-sidecar-dev', login_hint: SUZUKI };
    writePolicy({ ...supervisor, roster: ['大阪'], ui_language: 'ja' });
    await waitFor(async () => (await stored()).roster?.[0] === '大阪', 'the teams in managed storage', 30000);

    const floor = await context.newPage();
    await floor.goto(`chrome-extension://${EXTENSION_ID}/floor.html`);
    const row = (name) => floor.getByRole('listitem', { name: new RegExp(`^${name}`) });
    await floor.getByRole('searchbox', { name: '名前でエージェントを検索' }).waitFor({ timeout: 30000 });
    await row('Kato Aoi').waitFor({ timeout: 30000 });
    // The relay's snapshot of the policy's rosters is whole: Kato in it, Tokyo's Sato not.
    assert.equal(await row('Sato Ken').count(), 0, 'a team outside the policy is not on the floor');
    assert.equal(await floor.locator('.panel').first().getAttribute('lang'), 'ja', 'dates and names follow the language too');

    const options = await context.newPage();
    await options.goto(`chrome-extension://${EXTENSION_ID}/options.html`);
    await options.locator('#roster').waitFor();
    assert.match(await options.locator('#roster').innerText(), /フロアのチーム: 大阪\s*組織によって設定/);
    assert.equal(await options.locator('#ui_language').inputValue(), 'ja');
    assert.equal(await options.locator('#ui_language').isDisabled(), true, 'the language is locked');
    assert.equal(await options.locator('#ui_language-locked').innerText(), '組織によって設定');
    await options.close();

    // At run time: Tokyo instead, in English. The floor page reads itself again in English and
    // the worker subscribes to Tokyo, without a new sign-in or a restart.
    writePolicy({ ...supervisor, roster: ['東京'], ui_language: 'en' });
    await floor.getByRole('searchbox', { name: 'Search agents by name' }).waitFor({ timeout: 30000 });
    await row('Sato Ken').waitFor({ timeout: 30000 });
    assert.equal(await row('Kato Aoi').count(), 0, 'the team the policy no longer names left the floor');
    await floor.close();
  } finally {
    writePolicy(base);
    await waitFor(async () => (await stored()).login_hint === SATO, 'the first policy back', 30000);
    await teams.stop();
  }
});

test('a new version in updates.xml is installed while Chromium runs, and a message waiting in the outbox is delivered once after it', async () => {
  // The chat relay is a second one, so it can be down while the first serves the update.
  let chat = await startRelay();
  const { port, dataDir } = chat;
  try {
    writePolicy({ relay_url: chat.ws, issuer: chat.issuer, client_id: 'ccp-sidecar-dev', login_hint: SATO });
    const page = await context.newPage();
    await page.goto('https://example-corp.my.connect.aws/ccp-v2/?agent=sato&name=sato');
    const panel = page.frameLocator('#ccp-sidecar-dock iframe');
    const worker = await extensionWorker();
    const tanakaToken = await devToken(chat, { email: 'tanaka@example.com' });
    await waitFor(async () => {
      const { frames } = await relayClient(worker, { url: chat.ws, token: tanakaToken, waitMs: 300, frames: [{ type: 'subscribe', id: 1 }] });
      return frames.filter((f) => f.type === 'roster').flatMap((f) => f.agents).some((p) => p.principal === SATO && p.online);
    }, 'Sato on the chat relay', 60000);
    // Tanaka writes first, so Sato has the conversation to answer in.
    await waitFor(async () => (await relayClient(worker, { url: chat.ws, token: tanakaToken, waitMs: 200, frames: [
      { type: 'send_chat', id: 1, to: SATO, client_id: 'before-update', text: 'Are you there?' }] })).frames
      .some((f) => f.type === 'chat_ack'), 'Tanaka\'s message stored');
    await panel.getByRole('tab', { name: /Chat/ }).click();
    await panel.getByRole('button', { name: /tanaka@example\.com/ }).click();
    await panel.getByText('Are you there?').waitFor({ timeout: 30000 });

    // The chat relay goes down; Sato's answer waits in the outbox.
    await chat.stop();
    const box = panel.getByRole('textbox');
    await box.fill('Answer typed before the update');
    await box.press('Enter');
    await panel.getByText('Sending…').waitFor();

    // Version 1.0.1 is published; Chromium finds it and the worker moves to it (no contact).
    publish('1.0.1');
    // The worker asks Chromium to check now (it also checks every 5 s: --extensions-update-frequency).
    await worker.evaluate(() => chrome.runtime.requestUpdateCheck()).catch(() => {});
    await managed.running(context, '1.0.1');
    // The page open across the update says so; reloaded, it docks the new version.
    await page.locator('#ccp-sidecar-dock').getByRole('status').filter({ hasText: /updated/ }).waitFor({ timeout: 20000 });

    // The chat relay is back: the answer is delivered, once.
    chat = await startRelay({ port, dataDir });
    const again = await devToken(chat, { email: 'tanaka@example.com' }); // a restarted dev issuer has a new key
    const tanaka = await waitFor(async () => {
      const { frames } = await relayClient(await extensionWorker(), { url: chat.ws, token: again, waitMs: 300,
        frames: [{ type: 'history', id: 1, peer: SATO }] });
      const history = frames.find((f) => f.type === 'history');
      return history?.messages.some((m) => m.text === 'Answer typed before the update') && history;
    }, 'the answer delivered after the update', 60000).catch(async (e) => {
      const workers = context.serviceWorkers().map((w) => w.url());
      const state = await (await extensionWorker()).evaluate(async () => JSON.stringify({
        local: await chrome.storage.local.get(null), session: Object.keys(await chrome.storage.session.get(null)) })).catch((x) => String(x));
      throw new Error(`${e.message}\nworkers: ${workers}\nstate: ${state.slice(0, 3000)}\nrelay: ${chat.log().slice(-1500)}`);
    });
    assert.equal(tanaka.messages.filter((m) => m.text === 'Answer typed before the update').length, 1, 'once');
    await page.reload();
    const frame = await waitFor(() => page.frames().find((f) => f.url().startsWith(`chrome-extension://${EXTENSION_ID}/panel.html`)), 'the new panel');
    const version = await frame.waitForFunction(() => document.documentElement.getAttribute('data-version')).then((h) => h.jsonValue());
    assert.equal(version, '1.0.1', 'the panel reports the new version');
    await page.close();
  } finally {
    writePolicy({ relay_url: relay.ws, issuer: relay.issuer, client_id: 'ccp-sidecar-dev', login_hint: SATO });
    await chat.stop();
  }
});

test('a package signed with another key for the same id is refused; the next good one is installed', async () => {
  // A browser of its own: Chromium throttles an extension's update checks per session.
  const own = await managed.launchManaged(sim);
  const context = own.context;
  const worker = await extensionWorker(context);
  const before = await worker.evaluate(() => chrome.runtime.getManifest().version);
  // Versions seen running from now on (a refused package must never run).
  const seen = new Set([before]);
  let watching = true;
  const watch = (async () => {
    while (watching) {
      for (const w of context.serviceWorkers().filter((w) => w.url().startsWith(`chrome-extension://${EXTENSION_ID}/`))) {
        const v = await w.evaluate(() => chrome.runtime.getManifest().version).catch(() => null);
        if (v) seen.add(v);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    // 2.0.0 signed with a stranger's key, under the organisation's id in updates.xml.
    const stranger = join(packages, 'stranger.pem');
    execFileSync('openssl', ['genrsa', '-out', stranger, '2048'], { stdio: 'pipe' });
    const other = mkdtempSync(join(tmpdir(), 'sidecar-other-'));
    managed.pack({ version: '2.0.0', out: other, key: stranger });
    // Served from a host of its own that counts the downloads.
    const bad = readFileSync(join(other, 'ccp-sidecar-2.0.0.crx'));
    let downloads = 0;
    const host = createServer((req, res) => {
      downloads += 1;
      res.writeHead(200, { 'content-type': 'application/x-chrome-extension' });
      res.end(bad);
    });
    await new Promise((r) => host.listen(0, '127.0.0.1', r));
    servers.push(host);
    writeFileSync(join(packages, 'updates.xml'), `<?xml version='1.0' encoding='UTF-8'?>
<gupdate xmlns='http://www.google.com/update2/response' protocol='2.0'>
  <app appid='${EXTENSION_ID}'><updatecheck codebase='http://127.0.0.1:${host.address().port}/ccp-sidecar-2.0.0.crx' version='2.0.0' /></app>
</gupdate>`);
    await worker.evaluate(() => chrome.runtime.requestUpdateCheck()).catch(() => {});
    await waitFor(() => downloads > 0, 'Chromium downloading the stranger\'s package', 60000);
    // Then a good 2.0.1: it is installed, and 2.0.0 never ran.
    publish('2.0.1');
    const statuses = [];
    await waitFor(async () => {
      const w = await extensionWorker(context);
      statuses.push((await w.evaluate(() => chrome.runtime.requestUpdateCheck()).catch((e) => ({ status: String(e) }))).status);
      await new Promise((r) => setTimeout(r, 2000));
      return seen.has('2.0.1');
    }, 'the good 2.0.1 running', 60000)
      .catch((e) => { throw new Error(`${e.message}: seen ${[...seen]}; checks ${statuses}; stranger's package downloaded ${downloads} times`); });
    assert.ok(!seen.has('2.0.0'), `the package signed with another key never ran: ${[...seen]}`);
  } finally {
    watching = false;
    await watch;
    await own.close();
  }
});
