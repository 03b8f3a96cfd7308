// The dock appears on every CCP URL form and nowhere else, and the panel signs in and connects.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchAgent, online, startWorld } from './harness.js';

let world;
let agent;
before(async () => {
  world = await startWorld();
  agent = await launchAgent(world, { email: 'dock@example.com' });
});
after(async () => {
  await agent?.close();
  await world?.relay.stop();
  world?.sim.close();
});

test('the dock appears on every CCP URL form', async () => {
  const forms = [
    ['example-corp.my.connect.aws', '/ccp-v2/'],
    ['example-corp.my.connect.aws', '/ccp-v2'],
    ['example-corp.awsapps.com', '/connect/ccp-v2/'],
    ['example-corp.my.connect.aws', '/agent-app-v2/'],
  ];
  for (const [host, path] of forms) {
    const { page, panel } = await agent.openCcp('dock', { host, path });
    await page.locator('#ccp-sidecar-dock').waitFor({ state: 'attached', timeout: 10000 });
    await online(panel);
    await page.close();
  }
});

test('the dock does not appear anywhere else', async () => {
  for (const url of ['https://example-corp.my.connect.aws/other/', 'https://www.example.com/ccp-v2/']) {
    const page = await agent.context.newPage();
    await page.goto(url);
    await page.waitForTimeout(1500);
    assert.equal(await page.locator('#ccp-sidecar-dock').count(), 0, url);
    await page.close();
  }
});
