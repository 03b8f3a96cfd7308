// The dock beside the CCP in a wide window and in the narrow CCP popup (issue 12, item 9): the
// CCP keeps a usable width and nothing of it is covered unless the agent opens the dock over it;
// the keyboard shortcut toggles the dock; the collapsed handle shows the unread count, by name.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { devToken, launchAgent, online, relayClient, sleep, startWorld, waitFor } from './harness.js';

let world;
let agent;
before(async () => {
  world = await startWorld();
  agent = await launchAgent(world, { email: 'narrow@example.com' });
});
after(async () => {
  await agent?.close();
  await world?.relay.stop();
  world?.sim.close();
});

/**
 * What of the CCP can be used: its width, and the points along its right edge (4 px in, every
 * 10 px from the top of the window down) where something else is on top of it.
 */
function ccpArea(page) {
  return page.evaluate(() => {
    const ccp = document.querySelector('main.ccp');
    const r = ccp.getBoundingClientRect();
    const covered = [];
    for (let y = 2; y < window.innerHeight; y += 10) {
      if (!ccp.contains(document.elementFromPoint(r.right - 4, y))) covered.push(y);
    }
    const select = document.getElementById('state').getBoundingClientRect();
    const hit = document.elementFromPoint(select.right - 8, select.top + select.height / 2);
    return { width: Math.round(r.width), right: Math.round(r.right), covered, statusClickable: hit && hit.id === 'state' };
  });
}

/** The dock's panel frame: shown, and its box in the window. */
function dockFrame(page) {
  return page.locator('#ccp-sidecar-dock').evaluate((host) => {
    const frame = host.shadowRoot.querySelector('iframe');
    const r = frame.getBoundingClientRect();
    return { shown: getComputedStyle(frame).display !== 'none' && r.width > 0, left: Math.round(r.left), width: Math.round(r.width) };
  });
}

/** The simulated CCP in a window of `width`×`height` from the start, as a CCP popup is. */
async function openAt(width, height, on = agent) {
  const page = await on.context.newPage();
  await page.setViewportSize({ width, height });
  await page.goto('https://example-corp.my.connect.aws/ccp-v2/?agent=narrow&name=narrow');
  const panel = page.frameLocator('#ccp-sidecar-dock iframe');
  await page.locator('#ccp-sidecar-dock').waitFor({ state: 'attached', timeout: 10000 });
  await sleep(300); // the stored layout is read once
  return { page, panel };
}

test('in a wide window the dock sits beside the CCP and covers none of it', async () => {
  const { page } = await openAt(1280, 800);
  try {
    await page.getByRole('button', { name: 'Collapse CCP Sidecar' }).waitFor();
    const frame = await dockFrame(page);
    assert.ok(frame.shown, 'the dock is open');
    const area = await ccpArea(page);
    assert.deepEqual(area.covered, [], `nothing on the CCP's right edge (${JSON.stringify(area)})`);
    assert.ok(area.right <= frame.left, `the CCP ends where the dock begins (${area.right} <= ${frame.left})`);
    assert.ok(area.statusClickable, 'the CCP status menu is clickable');

    // Just room for both: the panel narrows, the CCP keeps 320 px.
    await page.setViewportSize({ width: 640, height: 800 });
    await sleep(100);
    const tight = await ccpArea(page);
    assert.ok((await dockFrame(page)).shown);
    assert.ok(tight.width >= 320, `the CCP keeps 320 px (${tight.width})`);
    assert.deepEqual(tight.covered, []);

    // Collapsed, only the handle's column is taken.
    await page.getByRole('button', { name: 'Collapse CCP Sidecar' }).click();
    await page.setViewportSize({ width: 1280, height: 800 });
    await sleep(100);
    const collapsed = await ccpArea(page);
    assert.deepEqual(collapsed.covered, []);
    assert.ok(collapsed.width >= 1280 - 30, `the CCP takes all but the handle (${collapsed.width})`);
    await page.getByRole('button', { name: 'Open CCP Sidecar' }).click();
    await page.getByRole('button', { name: 'Collapse CCP Sidecar' }).waitFor();
  } finally {
    await page.close();
  }
});

test('in a 400×700 window the dock starts collapsed, the CCP is usable, and the dock opens over it on demand', async () => {
  const { page } = await openAt(400, 700);
  try {
    const area = await ccpArea(page);
    assert.deepEqual(area.covered, [], `nothing on the CCP's right edge (${JSON.stringify(area)})`);
    assert.ok(area.width >= 320, `the CCP keeps its width (${area.width})`);
    assert.ok(area.statusClickable);
    const handle = page.getByRole('button', { name: 'Open CCP Sidecar' });
    await handle.waitFor();
    assert.equal(await handle.getAttribute('aria-expanded'), 'false');
    assert.equal((await dockFrame(page)).shown, false, 'collapsed although the dock is open in wide windows');
    const box = await handle.boundingBox();
    assert.ok(box && box.x >= area.right && box.x + box.width <= 400, `the handle is in its own column (${JSON.stringify(box)})`);

    await handle.click();
    await page.getByRole('button', { name: 'Collapse CCP Sidecar' }).waitFor();
    const overlay = await dockFrame(page);
    assert.ok(overlay.shown && overlay.left >= 0 && overlay.left + overlay.width <= 400, `the open dock fits (${JSON.stringify(overlay)})`);
    await page.getByRole('button', { name: 'Collapse CCP Sidecar' }).click();
    await handle.waitFor();
    assert.deepEqual((await ccpArea(page)).covered, []);

    // The overlay was opened for the moment: the choice kept for wide windows is still "open".
    const kept = await page.evaluate(() => document.documentElement.style.getPropertyValue('margin-right'));
    assert.equal(kept, '30px');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole('button', { name: 'Collapse CCP Sidecar' }).waitFor();
  } finally {
    await page.close();
  }
});

test('the keyboard shortcut toggles the dock of the focused CCP tab', async () => {
  // A headless browser does not deliver chrome.commands shortcuts, so the test calls the
  // function the worker's chrome.commands.onCommand listener calls, as Chrome would.
  const command = () => agent.currentWorker().evaluate(() => self.sidecarCommand('toggle-dock'));
  for (const [width, height] of [[400, 700], [1280, 800]]) {
    const { page } = await openAt(width, height);
    try {
      await page.bringToFront();
      await page.locator('#state').focus();
      const before = (await dockFrame(page)).shown;
      // The worker toggles the tab it knows as focused or as the last to report; until the new
      // page has reported, a command finds no tab and does nothing (it is never delayed).
      const shows = async (want) => {
        for (let i = 0; i < 40; i++, await sleep(50)) if ((await dockFrame(page)).shown === want) return true;
        return false;
      };
      await waitFor(async () => {
        await command();
        return shows(!before);
      }, `the shortcut to toggle the dock at ${width} px`, 20000);
      const name = before ? 'Open CCP Sidecar' : 'Collapse CCP Sidecar';
      await page.getByRole('button', { name }).waitFor();
      const focused = () => page.evaluate(() => {
        const host = document.getElementById('ccp-sidecar-dock');
        return document.activeElement === host ? `dock ${host.shadowRoot.activeElement?.localName}` : document.activeElement?.id;
      });
      if (!before) assert.equal(await focused(), 'dock iframe', 'the keyboard is in the panel it opened');
      await command();
      assert.ok(await shows(before), `the shortcut toggles it back at ${width} px`);
      if (!before) assert.equal(await focused(), 'state', 'and back in the CCP when it closes');
    } finally {
      await page.close();
    }
  }
});

test('the collapsed handle shows the unread count, visibly and by name', async () => {
  // Online first, in a wide window (the collapsed dock's panel is not shown), then narrowed.
  const { page, panel } = await openAt(1280, 800);
  try {
    await online(panel);
    await page.setViewportSize({ width: 400, height: 700 });
    await page.getByRole('button', { name: 'Open CCP Sidecar', exact: true }).waitFor();
    const token = await devToken(world.relay, { email: 'colleague@example.com', name: 'Colleague' });
    const { frames } = await relayClient(agent.currentWorker(), {
      url: world.relay.ws, token, waitMs: 500,
      frames: [{ type: 'send_chat', id: 1, to: 'narrow@example.com', client_id: 'narrow-1', text: 'Are you free?' }],
    });
    assert.ok(frames.some((f) => f.type === 'chat_ack'), JSON.stringify(frames));
    const handle = page.getByRole('button', { name: 'Open CCP Sidecar (1 unread)' });
    await handle.waitFor({ timeout: 10000 });
    const badge = await page.locator('#ccp-sidecar-dock').evaluate((host) => {
      const b = host.shadowRoot.querySelector('.badge');
      const r = b.getBoundingClientRect();
      const hit = host.shadowRoot.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return { text: b.textContent, visible: !b.hidden && r.width > 0 && r.right <= window.innerWidth, onTop: b.contains(hit) || hit === b };
    });
    assert.deepEqual(badge, { text: '1', visible: true, onTop: true });
    // Open, the panel shows its own unread counts: the handle says only what it does.
    await handle.click();
    await page.getByRole('button', { name: 'Collapse CCP Sidecar' }).waitFor();
    assert.equal(await page.locator('#ccp-sidecar-dock').evaluate((host) => host.shadowRoot.querySelector('.badge').hidden), true);
  } finally {
    await page.close();
  }
});

test('the handle speaks Japanese in a Japanese browser', async () => {
  const yui = await launchAgent(world, { email: 'narrow-ja@example.com', lang: 'ja' });
  try {
    const { page, panel } = await openAt(1280, 800, yui);
    await online(panel);
    await page.setViewportSize({ width: 400, height: 700 });
    await page.getByRole('button', { name: 'CCP Sidecar を開く', exact: true }).waitFor({ timeout: 10000 });
    const token = await devToken(world.relay, { email: 'colleague@example.com', name: 'Colleague' });
    await relayClient(yui.currentWorker(), {
      url: world.relay.ws, token, waitMs: 500,
      frames: [{ type: 'send_chat', id: 1, to: 'narrow-ja@example.com', client_id: 'narrow-ja-1', text: 'お疲れさまです' }],
    });
    await page.getByRole('button', { name: 'CCP Sidecar を開く (未読 1 件)' }).waitFor({ timeout: 10000 });
  } finally {
    await yui.close();
  }
});
