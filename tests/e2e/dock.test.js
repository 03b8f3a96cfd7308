// The dock appears on every CCP URL form and nowhere else, and the panel signs in and connects.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchAgent, online, sleep, startWorld } from './harness.js';

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

test('the dock appears on the bare CCP paths, without a query or a trailing slash', async () => {
  for (const url of ['https://example-corp.my.connect.aws/ccp-v2', 'https://example-corp.awsapps.com/connect/ccp-v2',
    'https://example-corp.my.connect.aws/agent-app-v2']) {
    const page = await agent.context.newPage();
    await page.goto(url);
    await page.locator('#ccp-sidecar-dock').waitFor({ state: 'attached', timeout: 10000 });
    await page.close();
  }
});

test('the dock does not appear anywhere else', async () => {
  // A path that merely starts like the CCP's is another page (issue 12, item 11).
  for (const url of ['https://example-corp.my.connect.aws/other/', 'https://www.example.com/ccp-v2/',
    'https://example-corp.my.connect.aws/ccp-v2-other', 'https://example-corp.my.connect.aws/ccp-v2-other/?agent=x',
    'https://example-corp.awsapps.com/connect/ccp-v2-other']) {
    const page = await agent.context.newPage();
    await page.goto(url);
    await page.waitForTimeout(1500);
    assert.equal(await page.locator('#ccp-sidecar-dock').count(), 0, url);
    await page.close();
  }
});

test('a CCP page that goes away while the worker starts does not stop the worker', async () => {
  // The CCP redirects while it signs in, so its first page often goes before the worker has
  // started; reading that page's dead port used to throw and end the worker's start-up, and no
  // later CCP page was answered. Each round stops the worker and wakes it with a page that is
  // closed at once, then checks that a new page is answered.
  const url = 'https://example-corp.my.connect.aws/ccp-v2/?agent=dock&name=dock';
  for (const wait of [0, 200, 500]) {
    const keep = await agent.context.newPage();
    await keep.goto('https://example-corp.my.connect.aws/other/');
    await agent.stopWorker(keep);
    const gone = await agent.context.newPage();
    await gone.goto(url, { waitUntil: 'domcontentloaded' });
    await sleep(wait);
    await gone.close();
    const { page, panel } = await agent.openCcp('dock');
    await online(panel);
    await page.close();
    await keep.close();
  }
});
