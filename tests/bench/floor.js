// The supervisor's full-tab floor under a floor's load, for `cargo xtask bench extension`:
// 5,000 agents on the relay (the load generator's `floor-load`, in 20 teams), 100 state changes
// a second spread over them, and a supervisor's floor.html. Three figures:
// - floor_ready_ms: from opening floor.html (navigation start) to the first full render (the
//   total line counts every agent and the list shows its first rows); the median of 5 openings
//   after a first one;
// - floor_update_p95_ms: from the moment the load generator sends a state change of the probe
//   agent (first on screen) to its row showing it, over 40 changes, amid the load;
// - floor_long_tasks: main-thread tasks over 50 ms in the floor page during 10 s of the load.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startSimulator } from '../ccp/server.js';
import { EXTENSION_ID, launchAgent, sleep, startRelay, waitFor } from '../e2e/harness.js';

const LOAD = process.env.SIDECAR_FLOOR_LOAD || 'target/release/floor-load';
const AGENTS = 5000;
const TEAMS = 20;
const BOSS = 'boss@corp.test';
const PROBE = 'AAA Probe';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)];

function directory(dir) {
  const given = ['Aiko', 'Yuki', 'Haruto', 'Sota', 'Yui', 'Ren', 'Mei', 'Kaito', 'Hina', 'Riku', 'Emma', 'Liam', 'Noah', 'Mia'];
  const family = ['Sato', 'Suzuki', 'Takahashi', 'Tanaka', 'Watanabe', 'Ito', 'Yamamoto', 'Nakamura', 'Kato', 'Smith', 'Garcia', 'Kim'];
  const users = Array.from({ length: AGENTS }, (_, i) => ({
    id: `a${String(i).padStart(4, '0')}@corp.test`,
    username: `a${i}`,
    display_name: i === 0 ? PROBE : `${given[i % given.length]} ${family[Math.floor(i / given.length) % family.length]} ${i}`,
    team: `team-${String(i % TEAMS).padStart(2, '0')}`,
  }));
  users.push({ id: BOSS, username: 'boss', display_name: 'Boss', team: 'team-00' });
  const file = join(dir, 'directory.json');
  writeFileSync(file, JSON.stringify({ users }));
  const agents = join(dir, 'agents.txt');
  writeFileSync(agents, users.filter((u) => u.id !== BOSS).map((u) => u.id).join('\n'));
  return { file, agents };
}

/** The load generator: resolves once every agent is signed in; `probe(state)` resolves with the send time. */
async function startLoad(relay, agents) {
  const child = spawn(LOAD, ['--relay', relay.url, '--agents', agents, '--changes-per-s', '100'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  let ready;
  const isReady = new Promise((r) => { ready = r; });
  lines.on('line', (line) => {
    if (line.startsWith('floor-load ready')) ready();
    const sent = line.match(/^probe-sent (\S+) (\d+)$/);
    if (sent) waiting.shift()?.(Number(sent[2]));
  });
  await Promise.race([isReady, new Promise((_, no) => child.once('exit', (c) => no(new Error(`floor-load exited ${c}`))))]);
  return {
    probe: (state) => new Promise((resolve) => { waiting.push(resolve); child.stdin.write(`probe ${state}\n`); }),
    stop: async () => { child.stdin.end(); child.kill('SIGTERM'); await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r))); },
  };
}

/** Opens floor.html; the time from its navigation start to the first full render. */
async function openFloor(context) {
  const page = await context.newPage();
  await page.goto(`chrome-extension://${EXTENSION_ID}/floor.html`);
  // Every agent and the supervisor (the directory lists both).
  const at = await page.waitForFunction((count) => {
    const total = (document.querySelector('.floor-total')?.textContent || '').match(/([\d,]+) agents/);
    const rows = document.querySelectorAll('.floor-list li.agent').length;
    return total && Number(total[1].replaceAll(',', '')) >= count && rows > 0 ? Date.now() - performance.timeOrigin : 0;
  }, AGENTS + 1, { polling: 'raf', timeout: 60000 }).catch(async (e) => {
    throw new Error(`${e.message}: the floor showed ${await page.locator('.floor-total').innerText().catch(() => 'no total')}`);
  });
  return { page, ready: await at.jsonValue() };
}

export async function floorFigures() {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-floor-'));
  const { file, agents } = directory(dir);
  const sim = await startSimulator(0);
  const relay = await startRelay({
    extraArgs: ['--directory-file', file, '--roster-by', 'team', '--dev-supervisors', BOSS, '--idle-timeout-ms', '3600000'],
  });
  const load = await startLoad(relay, agents);
  const boss = await launchAgent({ sim, relay }, { email: BOSS });
  try {
    // The first opening waits for the worker to sign in and hold the floor; the figures are later ones.
    const first = await openFloor(boss.context);
    await first.page.close();
    const ready = [];
    for (let i = 0; i < 5; i++) {
      const { page, ready: ms } = await openFloor(boss.context);
      ready.push(ms);
      await page.close();
    }

    const { page } = await openFloor(boss.context);
    await page.locator('.floor-list li.agent', { hasText: PROBE }).waitFor();
    const lags = [];
    const states = ['休憩', '管理業務中'];
    for (let i = 0; i < 40; i++) {
      const state = `${states[i % 2]}`;
      const seen = page.evaluate(([probe, state]) => new Promise((resolve) => {
        const check = () => [...document.querySelectorAll('.floor-list li.agent')]
          .some((li) => (li.getAttribute('aria-label') || '').startsWith(`${probe}: ${state}`));
        const observer = new MutationObserver(() => { if (check()) { observer.disconnect(); resolve(Date.now()); } });
        observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
      }), [PROBE, state]);
      await sleep(100);
      const sent = await load.probe(state);
      lags.push((await seen) - sent);
      await sleep(150);
    }

    await page.evaluate(() => {
      window.__floorTasks = [];
      new PerformanceObserver((l) => window.__floorTasks.push(...l.getEntries().map((e) => Math.round(e.duration)))).observe({ type: 'longtask' });
    });
    await sleep(10000);
    const tasks = await page.evaluate(() => window.__floorTasks);
    await page.close();
    return { agents: AGENTS, ready, lags, tasks };
  } finally {
    await boss.close();
    await load.stop();
    await relay.stop();
    sim.close();
  }
}

// Run alone: `node tests/bench/floor.js` (after `cargo xtask dist` and release builds).
if (import.meta.url === `file://${process.argv[1]}`) {
  const f = await floorFigures();
  console.log(`floor_agents=${f.agents} floor_ready_ms=${Math.round(median(f.ready))} floor_update_p95_ms=${Math.round(p95(f.lags))} floor_long_tasks=${f.tasks.length}`);
  console.log(`  floor_ready_ms runs: ${f.ready.map(Math.round).join(' ')}; update ms: median ${median(f.lags)}, all ${f.lags.join(' ')}; long tasks: ${f.tasks.join(' ') || 'none'}`);
}
