// Screenshots of the panels beside the simulated CCP, in English and Japanese, for the README
// and for looking at what was built: `node tests/bench/screenshots.js [folder]`.
import { mkdirSync } from 'node:fs';
import { launchAgent, online, sleep, startWorld } from '../e2e/harness.js';

const out = process.argv[2] || 'docs/screenshots';
mkdirSync(out, { recursive: true });
const world = await startWorld();
try {
  const peers = [];
  for (const [email, agent, state] of [['tanaka@example.com', 'tanaka', '管理業務中'], ['suzuki@example.com', 'suzuki', 'Available']]) {
    const p = await launchAgent(world, { email });
    const P = await p.openCcp(agent);
    await online(P.panel);
    await P.page.evaluate((s) => window.ccpSim.setState(s), state);
    peers.push({ p, P });
  }
  for (const lang of ['en-US', 'ja']) {
    const tag = lang.slice(0, 2);
    const a = await launchAgent(world, { email: `sato-${tag}@example.com`, lang });
    const A = await a.openCcp('sato');
    await online(A.panel);
    await sleep(1500);
    await A.page.screenshot({ path: `${out}/status-${tag}.png` });
    await A.panel.getByRole('button', { name: /tanaka/ }).first().click();
    const box = A.panel.getByRole('textbox');
    await box.fill(tag === 'ja' ? '3番の転送、お願いできますか？' : 'Can you take a transfer on line 3?');
    await box.press('Enter');
    await sleep(1000);
    await A.page.screenshot({ path: `${out}/chat-${tag}.png` });
    await A.panel.getByRole('tab', { name: /Caller ID|発信者番号/ }).click();
    await A.panel.getByRole('textbox').fill('03-1234-5678');
    await sleep(300);
    await A.page.screenshot({ path: `${out}/caller-${tag}.png` });
    await a.close();
  }
  for (const { p } of peers) await p.close();
  console.log(`screenshots written to ${out}/`);
} finally {
  await world.relay.stop();
  world.sim.close();
}
