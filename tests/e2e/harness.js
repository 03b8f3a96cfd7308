// What every end-to-end test starts: the real relay binary (with its development issuer, on a
// fresh SQLite file), the CCP simulator over HTTPS, and Chromium with the built extension, one
// persistent context per agent. Everything listens on loopback and is stopped by the test.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startSimulator } from '../ccp/server.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = process.env.SIDECAR_DIST || join(root, 'dist', 'extension');
export const RELAY_BIN = process.env.SIDECAR_RELAY || join(root, 'target', 'debug', 'ccp-sidecar-relay');
export const EXTENSION_ID = 'goibjmhfiabeppgigcbjfjgoghionflh';
export const CONNECT_FAKE_BIN = process.env.SIDECAR_CONNECT_FAKE || join(root, 'target', 'debug', 'connect-fake');
export const CHROMIUM = process.env.SIDECAR_CHROMIUM || '/usr/bin/chromium';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

export async function waitFor(check, what, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last && last.message ? last.message : JSON.stringify(last)})`);
}

/**
 * Starts the relay binary; `port` and `dataDir` may be reused to restart it. `devIssuer: false`
 * leaves the development issuer off (a real OIDC provider is then named in `extraArgs`).
 */
export async function startRelay({ port, dataDir, extraArgs = [], devIssuer = true, graceMs = 1000 } = {}) {
  port = port || (await freePort());
  dataDir = dataDir || mkdtempSync(join(tmpdir(), 'sidecar-relay-'));
  const args = ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, ...(devIssuer ? ['--dev-issuer'] : []),
    '--presence-grace-ms', String(graceMs), '--allowed-origins', `chrome-extension://${EXTENSION_ID}`, ...extraArgs];
  const child = spawn(RELAY_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
  let log = '';
  child.stderr.on('data', (d) => { log = (log + d).slice(-4000); });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/readyz`)).ok, `the relay on ${port}`).catch((e) => {
    throw new Error(`${e.message}\n${log}`);
  });
  return {
    port, dataDir, url, ws: `ws://127.0.0.1:${port}/ws`, issuer: `${url}/dev/oidc`,
    log: () => log,
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
    async kill() {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    },
  };
}

/**
 * The Connect stand-in (`connect-fake`) holding the users of the directory file at `directory`
 * (user `i` of the file is Connect user `u-{i:06}`), and what drives it: an agent's real-time
 * data (`setAgent`, `removeAgent`), the monitor requests it took for a user, its request log.
 * `relayArgs` point a relay at it.
 */
export async function startConnectFake(directory) {
  const child = spawn(CONNECT_FAKE_BIN, ['--listen', '127.0.0.1:0', '--directory', directory], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [url, instance] = await new Promise((ok, fail) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const found = out.match(/connect-fake listening on (\S+) instance (\S+)/);
      if (found) ok([found[1], found[2]]);
    });
    child.once('exit', (code) => fail(new Error(`connect-fake exited (${code}) before listening`)));
  });
  const call = async (method, path, body) => {
    const answer = await fetch(`${url}${path}`, {
      method, headers: { 'content-type': 'application/json' }, body: body && JSON.stringify(body),
    });
    if (!answer.ok) throw new Error(`connect-fake ${method} ${path}: ${answer.status} ${await answer.text()}`);
    return answer.json();
  };
  return {
    url,
    relayArgs: ['--connect-instance-id', instance, '--connect-endpoint', url, '--connect-region', 'ap-northeast-1'],
    /** `{status, since_ms, contacts: [{contact_id, state, since_ms}]}` */
    setAgent: (user, now) => call('PUT', `/_fake/agents/${user}`, now),
    removeAgent: (user) => call('DELETE', `/_fake/agents/${user}`),
    monitors: (user) => call('GET', `/_fake/monitors?user=${encodeURIComponent(user)}`),
    log: () => call('GET', '/_fake/log'),
    stop() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export async function startWorld() {
  const sim = await startSimulator(0);
  const relay = await startRelay();
  return { sim, relay };
}

/**
 * One agent: a Chromium profile with the extension, configured (as the options page would) to
 * use `relay` and sign in as `email` through the development issuer, or with `options` instead.
 */
export async function launchAgent(world, { email, lang = 'en-US', configure = true, headless = true, options } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'sidecar-profile-'));
  const port = world.sim.port;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless,
    locale: lang,
    viewport: { width: 1280, height: 800 },
    args: [
      `--disable-extensions-except=${DIST}`, `--load-extension=${DIST}`, '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--host-resolver-rules=MAP *.my.connect.aws:443 127.0.0.1:${port}, MAP *.awsapps.com:443 127.0.0.1:${port}, MAP *.example.com:443 127.0.0.1:${port}`,
      '--ignore-certificate-errors', `--lang=${lang}`,
    ],
    env: { ...process.env, LANGUAGE: lang.replace('-', '_'), LANG: `${lang.replace('-', '_')}.UTF-8` },
  });
  const worker = context.serviceWorkers()[0] || (await context.waitForEvent('serviceworker'));
  if (process.env.SIDECAR_DEBUG) worker.on('console', (m) => console.error('worker:', m.text()));
  if (configure) {
    await worker.evaluate((options) => chrome.storage.local.set({ options }), options || {
      relay_url: world.relay.ws, issuer: world.relay.issuer, client_id: 'ccp-sidecar-dev', login_hint: email,
    });
  }
  return {
    context,
    worker,
    email,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
    /**
     * Opens the simulated CCP for Connect user `agent` (more of the simulator's URL parameters in
     * `query`); returns the page and the panel frame.
     */
    async openCcp(agent, { host = 'example-corp.my.connect.aws', path = '/ccp-v2/', query = {} } = {}) {
      const page = await context.newPage();
      const params = new URLSearchParams({ agent, name: agent, ...query });
      await page.goto(`https://${host}${path}?${params}`);
      const panel = page.frameLocator('#ccp-sidecar-dock iframe');
      return { page, panel };
    },
    /** The current service worker (a new one after Chrome restarted it). */
    currentWorker() {
      return context.serviceWorkers()[0];
    },
    /** Stops the extension's service worker, as Chrome does to idle workers. */
    async stopWorker(page) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('ServiceWorker.enable');
      await cdp.send('ServiceWorker.stopAllWorkers');
      await cdp.detach();
    },
  };
}

/**
 * Two agents on one world: sato@example.com and tanaka@example.com, each in their own Chromium
 * profile with the extension, on the simulated CCP, both online. `stopAgents` ends it all.
 */
export async function startAgents() {
  const world = await startWorld();
  const a = await launchAgent(world, { email: 'sato@example.com' });
  const b = await launchAgent(world, { email: 'tanaka@example.com' });
  const A = await a.openCcp('sato');
  const B = await b.openCcp('tanaka');
  await online(A.panel);
  await online(B.panel);
  return { world, a, b, A, B };
}

export async function stopAgents({ world, a, b } = {}) {
  await a?.close();
  await b?.close();
  await world?.relay.stop();
  world?.sim.close();
}

/** A colleague's row in the status view, by the start of its accessible name. */
export const row = (panel, who) => panel.getByRole('listitem', { name: new RegExp(`^${who}`) });

/** Opens the chat with `who` from the status view. */
export async function openChat(panel, who) {
  await panel.getByRole('tab', { name: /Status|ステータス/ }).click();
  await panel.getByRole('button', { name: new RegExp(`Chat with ${who}|${who} さんとチャット`) }).click();
}

/** Waits until the panel says it is connected to the relay. */
export async function online(panel) {
  await panel.getByRole('status').filter({ hasText: /Connected|接続済み/ }).first().waitFor({ timeout: 20000 });
}

/** A development-issuer token for `email` (any display name and groups), straight from the relay. */
export async function devToken(relay, { email, name, groups = [], ttl_s } = {}) {
  const answer = await fetch(`${relay.issuer}/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, name, groups, ttl_s }),
  });
  if (!answer.ok) throw new Error(`dev token for ${email}: ${answer.status} ${await answer.text()}`);
  return (await answer.json()).id_token;
}

/**
 * A protocol client of its own, run in an extension worker's context (so its Origin is the
 * extension's): sends `hello` with `token`, then `frames` once welcomed, and gathers what the
 * relay answers for `waitMs`. Resolves to {frames, close: {code, reason}}; a refused token shows
 * as a close code and no welcome.
 */
export async function relayClient(worker, { url, token, frames = [], waitMs = 1000 }) {
  return worker.evaluate(({ url, token, frames, waitMs }) => new Promise((resolve) => {
    const received = [];
    const ws = new WebSocket(url);
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', protocol: 1, token }));
    ws.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      received.push(frame);
      if (frame.type !== 'welcome') return;
      for (const f of frames) ws.send(JSON.stringify(f));
      setTimeout(() => ws.close(1000), waitMs);
    };
    ws.onclose = (event) => resolve({ frames: received, close: { code: event.code, reason: event.reason } });
  }), { url, token, frames, waitMs });
}

/** The panel's frame (for evaluating in it), once the dock has loaded it. */
export async function panelFrame(page) {
  return waitFor(() => page.frames().find((f) => f.url().startsWith(`chrome-extension://${EXTENSION_ID}/panel.html`)), 'the panel frame');
}

/** A counter from the relay's /metrics. */
export async function metric(relay, name) {
  const text = await (await fetch(`${relay.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : undefined;
}

/**
 * Serves the built panel (DIST's panel.html, pkg/, panel.css) on loopback with a stand-in for the
 * `chrome.*` the panel uses, so a test can show it any state: `panel.html?lang=ja` answers
 * `chrome.i18n` from DIST's `_locales/ja` as Chrome does (named placeholders, `$1`...), and
 * `window.sidecarStub` plays the worker: `toPanel(message)` delivers a message on the panel's
 * port, `posted` lists what the panel posted. Resolves to {url, close()}.
 */
export async function servePanel() {
  const { createServer: createHttpServer } = await import('node:http');
  const { readFileSync: read, existsSync } = await import('node:fs');
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json' };
  const { version } = JSON.parse(read(join(DIST, 'manifest.json'), 'utf8'));
  const stub = (lang, messages) => `<script>
(() => {
  const messages = ${JSON.stringify(messages)};
  const listeners = [];
  window.sidecarStub = { posted: [], toPanel: (m) => listeners.forEach((f) => f(m)) };
  const port = {
    postMessage: (m) => window.sidecarStub.posted.push(JSON.parse(JSON.stringify(m))),
    onMessage: { addListener: (f) => listeners.push(f) },
    onDisconnect: { addListener: () => {} },
  };
  const getMessage = (key, subs) => {
    const entry = messages[key];
    if (!entry) return '';
    const args = subs === undefined ? [] : [].concat(subs).map(String);
    const positional = (s) => s.replace(/\\$(\\d)/g, (_, n) => args[n - 1] ?? '');
    return entry.message.replace(/\\$([A-Za-z0-9_]+)\\$/g, (all, name) => {
      const p = entry.placeholders && entry.placeholders[name.toLowerCase()];
      return p ? positional(p.content) : all;
    }).replace(/\\$\\$/g, '$');
  };
  const storage = { get: () => Promise.resolve({}), set: () => Promise.resolve() };
  window.chrome = { runtime: { connect: () => port, getManifest: () => ({ version: ${JSON.stringify(version)} }) }, i18n: { getMessage, getUILanguage: () => ${JSON.stringify(lang)} },
    storage: { local: storage, managed: storage, onChanged: { addListener: () => {} } } };
})();
</script>`;
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const file = join(DIST, url.pathname.replace(/^\/+/, ''));
    if (!file.startsWith(DIST) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    let body = read(file);
    if (url.pathname === '/panel.html') {
      const lang = url.searchParams.get('lang') || 'en-US';
      const messages = JSON.parse(read(join(DIST, '_locales', lang.startsWith('ja') ? 'ja' : 'en', 'messages.json'), 'utf8'));
      body = String(body).replace('<head>', () => `<head>${stub(lang, messages)}`);
    }
    res.writeHead(200, { 'content-type': types[file.slice(file.lastIndexOf('.'))] || 'application/octet-stream' }).end(body);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}
