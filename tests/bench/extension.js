// `cargo xtask bench extension`: sizes of the two Wasm modules, the panel's time to first render
// after the CCP page's DOMContentLoaded, the time from a state change in one agent's CCP to its
// display in another agent's panel, the long tasks the extension adds to the CCP page, and the
// longest task in the panel while an agent types a search over a roster of 500 colleagues, and a
// supervisor's full-tab floor over 5,000 agents under load (`floor.js`). Prints one line of figures.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { startSimulator } from '../ccp/server.js';
import { floorFigures } from './floor.js';
import { CHROMIUM, DIST, launchAgent, online, panelFrame as findPanel, sleep, startRelay, startWorld } from '../e2e/harness.js';

const gz = (file) => (gzipSync(readFileSync(join(DIST, 'pkg', file)), { level: 9 }).length / 1024).toFixed(1);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)];

const panelFrame = (page) => page.frames().find((f) => f.url().includes('/panel.html'));

// Long tasks (> 50 ms) on the CCP page's main thread, observed from the page's start, each with
// its start and length and the scripts of the long animation frame it fell in (what it was).
const LONG_TASKS = `(() => { window.__longTasks = []; window.__frames = [];
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longTasks.push({ start: e.startTime, ms: e.duration }); })
    .observe({ type: 'longtask', buffered: true });
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__frames.push({ start: e.startTime, end: e.startTime + e.duration,
    scripts: e.scripts.map((s) => (s.sourceURL || s.invoker || '?').split('/').pop() + ' ' + Math.round(s.duration) + ' ms') }); })
    .observe({ type: 'long-animation-frame', buffered: true }); })()`;

async function panelReady(agent, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const { page } = await agent.openCcp(`ready${i}`);
    const frame = await (async () => { for (;;) { const f = panelFrame(page); if (f) return f; await sleep(10); } })();
    const ready = Number(await frame.waitForFunction(() => document.documentElement.getAttribute('data-ready')).then((h) => h.jsonValue()));
    const dcl = await page.evaluate(() => performance.timeOrigin + performance.getEntriesByType('navigation')[0].domContentLoadedEventStart);
    times.push(ready - dcl);
    await page.close();
  }
  return times;
}

async function longTasks(context, seconds, drive) {
  const page = await context.newPage();
  await page.addInitScript(LONG_TASKS);
  await page.goto('https://example-corp.my.connect.aws/ccp-v2/?agent=lt&name=lt');
  await drive(page, seconds);
  const tasks = await page.evaluate(() => {
    const dcl = performance.getEntriesByType('navigation')[0].domContentLoadedEventStart;
    return window.__longTasks.map((t) => {
      const frame = window.__frames.find((f) => f.start <= t.start + 1 && t.start < f.end);
      const scripts = frame && frame.scripts.length ? frame.scripts.join(', ') : 'no page script';
      return `${Math.round(t.ms)} ms at DOMContentLoaded${t.start >= dcl ? '+' : ''}${Math.round(t.start - dcl)} ms (${scripts})`;
    });
  });
  await page.close();
  return tasks;
}

// The longest task (PerformanceObserver `longtask`, so over 50 ms; 0 when there was none) in the
// panel's frame while an agent types a search over 500 colleagues, one character at a time, and
// deletes it again: each step changes the rows shown by up to hundreds. A relay of its own, whose
// directory seeds the 500 (Offline until they connect, as on a real floor at the start of a shift).
async function searchLongTasks() {
  const given = ['Aiko', 'Yuki', 'Haruto', 'Sota', 'Yui', 'Ren', 'Mei', 'Kaito', 'Hina', 'Riku', 'Sakura', 'Daiki', 'Emma',
    'Liam', 'Noah', 'Olivia', 'Mia', 'Lucas', 'Amira', 'Omar', 'Chen', 'Wei', 'Priya', 'Arjun', 'Sofia'];
  const family = ['Sato', 'Suzuki', 'Takahashi', 'Tanaka', 'Watanabe', 'Ito', 'Yamamoto', 'Nakamura', 'Kobayashi', 'Kato',
    'Yoshida', 'Yamada', 'Sasaki', 'Smith', 'Garcia', 'Kim', 'Nguyen', 'Singh', 'Khan', 'Silva'];
  const users = Array.from({ length: 500 }, (_, i) => ({
    id: `u${i}@corp.test`, username: `u${i}`, display_name: `${given[i % given.length]} ${family[Math.floor(i / given.length) % family.length]}`,
  }));
  const file = join(mkdtempSync(join(tmpdir(), 'sidecar-roster-')), 'directory.json');
  writeFileSync(file, JSON.stringify({ users }));
  const world = { sim: await startSimulator(0), relay: await startRelay({ extraArgs: ['--directory-file', file] }) };
  const agent = await launchAgent(world, { email: 'bench-search@example.com' });
  try {
    const { page, panel } = await agent.openCcp('bench-search');
    await online(panel);
    await panel.locator('li.agent[aria-setsize="500"]').first().waitFor({ timeout: 20000 });
    const frame = await findPanel(page);
    await frame.evaluate(() => {
      window.__searchTasks = [];
      window.__keystrokes = [];
      new PerformanceObserver((l) => window.__searchTasks.push(...l.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
      // Event Timing: each key's time from input to the next paint (in 8 ms steps), from 16 ms.
      new PerformanceObserver((l) => window.__keystrokes.push(...l.getEntries().map((e) => e.duration)))
        .observe({ type: 'event', durationThreshold: 16 });
    });
    const box = panel.getByRole('searchbox');
    for (const query of ['sato yu', 'tanaka', 'a']) {
      await box.pressSequentially(query, { delay: 150 });
      for (let i = 0; i < query.length; i++) await box.press('Backspace', { delay: 150 });
    }
    await sleep(500);
    const [tasks, keys] = await frame.evaluate(() => [window.__searchTasks, window.__keystrokes]);
    return { max: Math.round(Math.max(0, ...tasks)), count: tasks.length, slowestKey: Math.round(Math.max(0, ...keys)) };
  } finally {
    await agent.close();
    await world.relay.stop();
    world.sim.close();
  }
}

const world = await startWorld();
const a = await launchAgent(world, { email: 'bench-a@example.com' });
const b = await launchAgent(world, { email: 'bench-b@example.com' });
try {
  const A = await a.openCcp('bench-a');
  const B = await b.openCcp('bench-b');
  await online(A.panel);
  await online(B.panel);
  const ready = await panelReady(a, 10);
  await A.panel.getByRole('listitem', { name: /^bench-b@example.com/ }).waitFor();
  const frame = panelFrame(A.page);
  const states = ['管理業務中', 'Available', 'Break', 'Available'];
  const lags = [];
  for (let i = 0; i < 20; i++) {
    const state = states[i % states.length];
    const seen = frame.evaluate((expected) => new Promise((resolve) => {
      const check = () => [...document.querySelectorAll('li.agent')].some((li) => li.getAttribute('aria-label') === expected);
      const observer = new MutationObserver(() => { if (check()) { observer.disconnect(); resolve(Date.now()); } });
      observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    }), `bench-b@example.com: ${state}`);
    await sleep(50);
    const t0 = await B.page.evaluate((s) => { const t = Date.now(); window.ccpSim.setState(s); return t; }, state);
    lags.push((await seen) - t0);
    await sleep(150);
  }

  // The CCP page with and without the extension, driven the same way for the same time.
  const drive = async (page, seconds) => {
    for (let i = 0; i < seconds * 2; i++) {
      await page.evaluate((s) => window.ccpSim.setState(s), states[i % states.length]);
      await sleep(500);
    }
  };
  const withExtension = await longTasks(a.context, 10, drive);
  const plain = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', `--host-resolver-rules=MAP *.my.connect.aws:443 127.0.0.1:${world.sim.port}`, '--ignore-certificate-errors'] });
  const baseline = await longTasks(await plain.newContext({ viewport: { width: 1280, height: 800 } }), 10, drive);
  await plain.close();
  const search = await searchLongTasks();
  const floor = await floorFigures();

  console.log(`extension-bench panel_wasm_gz_kb=${gz('extension_bg.wasm')} worker_wasm_gz_kb=${gz('worker_bg.wasm')} ` +
    `panel_ready_ms=${Math.round(median(ready))} peer_status_p95_ms=${Math.round(p95(lags))} ` +
    `long_tasks=${Math.max(0, withExtension.length - baseline.length)} search_500_longest_task_ms=${search.max} ` +
    `floor_agents=${floor.agents} floor_ready_ms=${Math.round(median(floor.ready))} ` +
    `floor_update_p95_ms=${Math.round(p95(floor.lags))} floor_long_tasks=${floor.tasks.length}`);
  console.log(`  panel_ready_ms runs: ${ready.map(Math.round).join(' ')}`);
  console.log(`  peer_status_ms: median ${Math.round(median(lags))}, all ${lags.join(' ')}`);
  const list = (tasks) => (tasks.length ? `: ${tasks.join('; ')}` : '');
  console.log(`  long tasks on the CCP page in 10 s: ${withExtension.length} with the extension${list(withExtension)}; ` +
    `${baseline.length} without${list(baseline)}`);
  console.log(`  search over 500 agents: ${search.count} long tasks in the panel, the longest ${search.max} ms (0: none over 50 ms); ` +
    `slowest key to next paint ${search.slowestKey} ms (Event Timing, 0: none over 16 ms)`);
  console.log(`  floor of ${floor.agents} at 100 changes/s: floor_ready_ms runs ${floor.ready.map(Math.round).join(' ')}; ` +
    `update ms median ${median(floor.lags)}, all ${floor.lags.join(' ')}; long tasks ${floor.tasks.join(' ') || 'none'}`);
} finally {
  await a.close();
  await b.close();
  await world.relay.stop();
  world.sim.close();
}
