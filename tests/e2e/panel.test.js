// The panel on its own, in Chromium, in English and Japanese: the built panel (dist/extension's
// panel.html, Wasm and CSS) served on loopback with a stand-in for the `chrome.*` it uses (a port
// whose worker side this test plays, `chrome.i18n` over the real _locales files), so each case
// can put the panel in exactly the state it checks. What is checked is what a person sees:
// the composer's counter and refusal over the relay's limit, a refused message in its
// conversation with Edit and Discard, day separators and dated tooltips, bidi controls that
// cannot reorder text, connection problems in the agent's language with the retry countdown,
// a long name's tooltip, the tab list's keys, and the virtualised roster of 500.
// With SIDECAR_SHOTS=DIR it also writes screenshots of the chat and status views into DIR.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { CHROMIUM, servePanel } from './harness.js';

const SHOTS = process.env.SIDECAR_SHOTS;
let server;
let browser;
before(async () => {
  server = await servePanel();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  server?.close();
});
// No case may leave an exception in the panel behind, whatever it asserts.
const pageErrors = [];
afterEach(() => assert.deepEqual(pageErrors.splice(0), [], 'errors thrown in the panel'));

const DAY = 86_400_000;
const LIMITS = { max_frame_bytes: 16384, max_text_chars: 2000, frames_per_second: 20, max_page: 100, heartbeat_ms: 20000 };
const ME = 'you@example.com';
const LONG_NAME = 'Maximiliana Alexandrovna Konstantinopolsk'.slice(0, 40);

function presence(principal, display_name, state = 'Available', kind = 'routable', online = true) {
  return { principal, username: principal.split('@')[0], display_name, roster: '*', state: { name: state, kind }, since: Date.now() - 65_000, online };
}

function message(from, to, seq, text, sent_at) {
  return { from, to, seq, client_id: `m${seq}`, text, sent_at };
}

/** A page with the panel in `lang` (en-US or ja) and the Tokyo time zone, given `snapshot`. */
async function openPanel(lang, snapshot = {}, { width = 360, height = 640 } = {}) {
  const context = await browser.newContext({ locale: lang, timezoneId: 'Asia/Tokyo', viewport: { width, height } });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${server.url}/panel.html?lang=${lang}`);
  await page.waitForFunction(() => document.documentElement.getAttribute('data-ready'), null, { timeout: 10000 });
  await toPanel(page, { type: 'snapshot', snapshot: {
    connection: { status: 'online' },
    me: { principal: ME, display_name: LONG_NAME, supervisor: false, roster: '*', username: 'you', limits: LIMITS },
    roster: [presence(ME, LONG_NAME)],
    ...snapshot,
  } });
  return { context, page };
}

/** Delivers `m` as the worker would; the panel applies what arrived once per animation frame, so
 * this resolves after the next two frames (the one that applies it, and its render). */
const toPanel = (page, m) => page.evaluate((m) => {
  window.sidecarStub.toPanel(m);
  return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
}, m);
const posted = (page) => page.evaluate(() => window.sidecarStub.posted);

/** Opens the conversation with `peer` and answers the panel's history request with `messages`. */
async function openConversation(page, peerName, peer, messages) {
  await page.getByRole('button', { name: new RegExp(`^(Chat with ${peerName}|${peerName} さんとチャット)$`) }).click();
  await toPanel(page, { type: 'history', peer, messages, more: false });
}

/** Visual x of each character of `text` inside `selector`'s first text node (left to right). */
async function charXs(page, selector, text) {
  return page.locator(selector).first().evaluate((el, text) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = node.data.indexOf(text);
      if (at < 0) continue;
      return [...text].map((_, i) => {
        const range = document.createRange();
        range.setStart(node, at + i);
        range.setEnd(node, at + i + 1);
        return range.getBoundingClientRect().left;
      });
    }
    return null;
  }, text);
}

const ascending = (xs) => xs.every((x, i) => i === 0 || x > xs[i - 1]);

test('the composer counts characters near the limit and refuses to send over it', async () => {
  for (const [lang, near, over] of [
    ['en-US', '1,850 / 2,000 characters', /^2,010 \/ 2,000 characters: 10 over the limit/],
    ['ja', '1,850 / 2,000 文字', /^2,010 \/ 2,000 文字：上限を 10 文字超えています/],
  ]) {
    const peer = 'tanaka@example.com';
    const { context, page } = await openPanel(lang, { roster: [presence(ME, 'You'), presence(peer, '田中 健二')] });
    await openConversation(page, '田中 健二', peer, []);
    const box = page.getByRole('textbox');
    await box.fill('あ'.repeat(1500));
    assert.equal(await page.locator('.counter').count(), 0, 'no counter under 80%');
    // Characters, as the relay counts them: 1,850 of them are 5,550 bytes of UTF-8.
    await box.fill('あ'.repeat(1850));
    await page.locator('.counter').getByText(near).waitFor();
    const send = page.getByRole('button', { name: /^(Send|送信)$/ });
    assert.equal(await send.isEnabled(), true);
    // An emoji is one character (two UTF-16 units in JavaScript's length).
    await box.fill('😀'.repeat(2010));
    const alert = page.getByRole('alert');
    assert.match(await alert.innerText(), over);
    assert.equal(await send.isDisabled(), true);
    assert.equal(await box.getAttribute('aria-invalid'), 'true');
    await box.press('Enter');
    await box.fill('😀'.repeat(2000));
    assert.equal(await send.isEnabled(), true);
    assert.equal((await posted(page)).filter((m) => m.type === 'send_chat').length, 0, 'nothing over the limit was queued');
    await box.press('Enter');
    const sent = (await posted(page)).filter((m) => m.type === 'send_chat');
    assert.equal(sent.length, 1);
    assert.equal([...sent[0].text].length, 2000);
    await context.close();
  }
});

test('a refused message shows in place with the reason and Edit / Discard', async () => {
  const peer = 'sato@example.com';
  const now = Date.now();
  const refused = { to: peer, text: 'x'.repeat(2100), client_id: 'c-long', queued_at: now - 5000 };
  const forbidden = { to: peer, text: 'second one', client_id: 'c-forbidden', queued_at: now - 4000 };
  for (const [lang, reason, edit, discard, sending, chat, row] of [
    ['en-US', 'Too long to send. Edit it to shorten it, then send again.', 'Edit', 'Discard', 'Sending…', 'Chat', '佐藤 愛子, 2 not sent'],
    ['ja', '長すぎるため送信できません。編集して短くしてから送信してください。', '編集', '破棄', '送信中…', 'チャット', '佐藤 愛子, 未送信 2 件'],
  ]) {
    const { context, page } = await openPanel(lang, {
      roster: [presence(ME, 'You'), presence(peer, '佐藤 愛子')],
      // The worker still lists the refused message in its outbox a moment: it is not "sending".
      outbox: [refused],
      failed: [{ entry: refused, code: 'too_large' }, { entry: forbidden, code: 'forbidden' }],
    });
    // The first messages to someone, refused: the conversation is listed, saying so.
    await page.getByRole('tab', { name: chat }).click();
    await page.getByRole('button', { name: row }).click();
    await toPanel(page, { type: 'history', peer, messages: [message(peer, ME, 1, 'こんにちは', now - 60_000)], more: false });
    const failed = page.locator('li.message.failed');
    assert.equal(await failed.count(), 2);
    await failed.first().getByText(reason).waitFor();
    assert.equal(await page.getByText(sending).count(), 0, 'a refused message is not shown as sending');
    // Edit: the text goes back into the composer (with its counter) and the worker forgets it.
    await failed.first().getByRole('button', { name: edit }).click();
    assert.equal(await page.getByRole('textbox').inputValue(), refused.text);
    await page.getByRole('alert').waitFor();
    assert.equal(await failed.count(), 1);
    await failed.first().getByRole('button', { name: discard }).click();
    assert.equal(await failed.count(), 0);
    assert.deepEqual((await posted(page)).filter((m) => m.type === 'dismiss'),
      [{ type: 'dismiss', client_id: 'c-long' }, { type: 'dismiss', client_id: 'c-forbidden' }]);
    await context.close();
  }
});

test('day separators in the agent language and time zone; old messages carry the date', async () => {
  const peer = 'tanaka@example.com';
  // 2023-08-03 23:30 and 2023-08-04 00:10 in Tokyo (UTC+9): two days there, one day in UTC.
  const aug3 = Date.UTC(2023, 7, 3, 14, 30);
  const aug4 = Date.UTC(2023, 7, 3, 15, 10);
  const now = Date.now();
  for (const [lang, first, second, title] of [
    ['en-US', 'Thu, Aug 3, 2023', 'Fri, Aug 4, 2023', /Friday, August 4, 2023/],
    ['ja', '2023/8/3(木)', '2023/8/4(金)', /2023年8月4日金曜日/],
  ]) {
    const { context, page } = await openPanel(lang, { roster: [presence(ME, 'You'), presence(peer, '田中 健二')] });
    await openConversation(page, '田中 健二', peer, [
      message(peer, ME, 1, 'late one', aug3), message(ME, peer, 2, 'early one', aug4), message(peer, ME, 3, 'today', now - 1000),
      message(ME, peer, 4, 'today again', now),
    ]);
    const separators = await page.locator('li.day-separator').allInnerTexts();
    assert.equal(separators.length, 3, separators.join(' | '));
    assert.deepEqual(separators.slice(0, 2), [first, second]);
    const early = page.locator('li.message', { hasText: 'early one' });
    assert.match(await early.getAttribute('title'), title);
    assert.equal(await page.locator('li.message', { hasText: 'today again' }).getAttribute('title'), null);
    await context.close();
  }
});

test('bidi controls cannot reorder names or message text', async () => {
  const peer = 'mansour@example.com';
  const now = Date.now();
  const { context, page } = await openPanel('en-US', {
    roster: [presence(ME, 'You'), presence(peer, 'Mansour \u202Ekcatta', '\u202EkaerB', 'not_routable')],
    conversations: [{ peer, last_seq: 1, read_seq: 0, unread: 1, last: message(peer, ME, 1, '請求書 \u202Efdp.exe', now) }],
  });
  // The name lost its override: stored and drawn as typed, in logical order.
  const name = page.locator('.agent-name', { hasText: 'Mansour' });
  assert.equal(await name.innerText(), 'Mansour kcatta');
  assert.ok(ascending(await charXs(page, '.agent-name', 'kcatta')), 'name drawn left to right');
  assert.equal(await name.getAttribute('dir'), 'auto');
  assert.equal(await page.locator('li.agent', { hasText: 'Mansour' }).getAttribute('aria-label'), 'Mansour kcatta: kaerB');
  await page.getByRole('tab', { name: /Chat/ }).click();
  assert.equal(await page.locator('.preview').innerText(), '請求書 ⟦U+202E⟧fdp.exe');
  await page.getByRole('button', { name: /^Mansour kcatta/ }).click();
  await toPanel(page, { type: 'history', peer, messages: [message(peer, ME, 1, '請求書 \u202Efdp.exe', now)], more: false });
  const text = page.locator('li.message .text');
  assert.equal(await text.innerText(), '請求書 ⟦U+202E⟧fdp.exe');
  // Shown as sent, not as "exe.pdf": each character lies right of the one before it.
  assert.ok(ascending(await charXs(page, 'li.message .text', 'fdp.exe')), 'fdp.exe drawn left to right');
  assert.equal(await page.locator('.conv-title').innerText(), 'Mansour kcatta');
  await context.close();
});

test('connection problems in the agent language, with the retry countdown', async () => {
  for (const [lang, retrying, refused, signedIn] of [
    ['en-US', /^Relay unreachable — retrying in 1[12] s$/, 'The relay refused the sign-in. Sign in again.', 'Connected'],
    ['ja', /^リレーに接続できません。1[12] 秒後に再試行します$/, 'リレーがサインインを受け付けませんでした。もう一度サインインしてください。', '接続済み'],
  ]) {
    const { context, page } = await openPanel(lang);
    await page.getByRole('status').filter({ hasText: signedIn }).waitFor();
    await toPanel(page, { type: 'connection', connection: { status: 'offline', retry_at: Date.now() + 12_000, problem: 'unreachable' } });
    assert.match(await page.locator('.conn-problem').innerText(), retrying);
    await toPanel(page, { type: 'connection', connection: { status: 'failed', problem: 'refused', detail: 'token signature invalid' } });
    assert.equal(await page.locator('.conn-problem').innerText(), refused);
    assert.equal(await page.locator('.conn-problem').getAttribute('title'), 'token signature invalid');
    if (lang === 'ja') {
      for (const part of ['.header .conn', '.conn-problem', '.tabs', '.search']) {
        const text = await page.locator(part).evaluate((el) => el.innerText + (el.placeholder || ''));
        assert.doesNotMatch(text, /[A-Za-z]{3,}/u, `no English in the Japanese ${part}: ${text}`);
      }
    }
    await context.close();
  }
});

test('a long name is cut with an ellipsis and keeps a tooltip', async () => {
  const peer = 'long@example.com';
  const { context, page } = await openPanel('en-US', { roster: [presence(ME, LONG_NAME), presence(peer, `${LONG_NAME}2`)] }, { width: 340 });
  const header = page.locator('.header .name');
  assert.equal(await header.getAttribute('title'), LONG_NAME);
  assert.ok(await header.evaluate((el) => el.scrollWidth > el.clientWidth), 'the header name is cut');
  const row = page.locator('.agent-name');
  assert.equal(await row.getAttribute('title'), `${LONG_NAME}2`);
  await context.close();
});

test('arrow keys, Home and End move the selection and the focus along the tabs', async () => {
  const { context, page } = await openPanel('en-US');
  const focused = () => page.evaluate(() => document.activeElement?.id);
  await page.getByRole('tab', { name: 'Status' }).focus();
  for (const [key, id, name] of [
    ['ArrowRight', 'tab-chat', 'Chat'], ['ArrowRight', 'tab-caller', 'Caller ID'], ['ArrowRight', 'tab-status', 'Status'],
    ['ArrowLeft', 'tab-caller', 'Caller ID'], ['Home', 'tab-status', 'Status'], ['End', 'tab-caller', 'Caller ID'],
  ]) {
    await page.keyboard.press(key);
    await page.waitForFunction((id) => document.activeElement?.id === id, id, { timeout: 2000 }).catch(() => {});
    assert.equal(await focused(), id, `${key} focuses ${name}`);
    assert.equal(await page.getByRole('tab', { name, selected: true }).getAttribute('tabindex'), '0');
    assert.equal(await page.locator('[role=tab][tabindex="0"]').count(), 1, 'one tab in the tab order');
  }
  await context.close();
});

test('the roster of 500 renders only the rows in view, and scrolls to any of them', async () => {
  const agents = Array.from({ length: 500 }, (_, i) => presence(`agent${String(i).padStart(3, '0')}@example.com`, `Agent ${String(i).padStart(3, '0')}`));
  const { context, page } = await openPanel('en-US', { roster: [presence(ME, 'You'), ...agents] });
  await page.getByRole('listitem', { name: 'Agent 000: Available' }).waitFor();
  const rows = page.locator('li.agent');
  assert.ok((await rows.count()) < 40, `${await rows.count()} rows in the DOM`);
  assert.equal(await rows.first().getAttribute('aria-setsize'), '500');
  await page.locator('.vlist').evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await page.getByRole('listitem', { name: 'Agent 499: Available' }).waitFor();
  assert.equal(await page.getByRole('listitem', { name: 'Agent 499: Available' }).getAttribute('aria-posinset'), '500');
  // Tab walks through every row's Chat button (Transfer is disabled off a call): rows below the
  // view are added as focus scrolls them in.
  await page.locator('.vlist').evaluate((el) => { el.scrollTop = 0; });
  // The list re-renders on the scroll event: wait for the top rows before walking from them.
  await page.getByRole('listitem', { name: 'Agent 000: Available' }).waitFor();
  await page.getByRole('searchbox').focus();
  // One key at a time, each waited for, as an agent would see each step: the row below the view
  // is added by the render that follows the scroll, which a burst of keys would outrun.
  const label = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
  for (let i = 0; i < 45; i++) {
    await page.keyboard.press('Tab');
    const want = `Chat with Agent ${String(i).padStart(3, '0')}`;
    await page.waitForFunction((want) => document.activeElement?.getAttribute('aria-label') === want, want, { timeout: 2000 })
      .catch(async () => assert.fail(`Tab ${i + 1} reached ${await label()}, not ${want}`));
  }
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Chat with Agent 044');
  assert.ok(await page.locator('.vlist').evaluate((el) => el.scrollTop > 0), 'the list scrolled with the focus');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Chat with Agent 043');
  // A search that leaves a few rows shows them, though the list was scrolled far down.
  await page.locator('.vlist').evaluate((el) => { el.scrollTop = 200 * 52; });
  await page.getByRole('searchbox').fill('agent00');
  await page.getByRole('listitem', { name: 'Agent 000: Available' }).waitFor();
  assert.equal(await rows.count(), 10);
  await page.getByRole('searchbox').fill('nobody by this name');
  await page.getByRole('status').filter({ hasText: 'No colleague matches “nobody by this name”.' }).waitFor();
  assert.equal(await rows.count(), 0);
  await context.close();
});

test('caller IDs the panel cannot read cost only themselves, not the rest of the snapshot', async () => {
  const peer = 'tanaka@example.com';
  // The worker passes the relay's caller-ID JSON on unread; here it has a field this panel
  // does not know (a newer relay, say).
  const { context, page } = await openPanel('en-US', {
    roster: [presence(ME, 'You'), presence(peer, '田中 健二')],
    caller_ids: { caller_ids: [], default_queue_arn: null, added_later: true },
  });
  await page.getByRole('listitem', { name: /^田中 健二/ }).waitFor();
  await page.getByRole('status').filter({ hasText: /Connected/ }).first().waitFor();
  await context.close();
});

test('screenshots of the chat and status views', { skip: !SHOTS && 'set SIDECAR_SHOTS=DIR to write them' }, async () => {
  const peer = 'tanaka@example.com';
  const now = Date.now();
  const yesterday = now - DAY;
  for (const lang of ['en-US', 'ja']) {
    const tag = lang.slice(0, 2);
    const roster = [
      presence(ME, LONG_NAME), presence(peer, '田中 健二', 'Available'), presence('sato@example.com', '佐藤 愛子', '管理業務中', 'not_routable'),
      presence('mansour@example.com', 'Mansour \u202Ekcatta', 'Break', 'not_routable'), presence('lee@example.com', 'Lee Min-jun', 'Offline', 'offline', false),
      ...Array.from({ length: 8 }, (_, i) => presence(`a${i}@example.com`, `Agent ${i + 1}`, i % 3 ? 'Available' : 'Lunch', i % 3 ? 'routable' : 'not_routable')),
    ];
    const refused = { to: peer, text: tag === 'ja' ? '見積書の件、長文の説明…'.repeat(3) : 'The long quote explanation… '.repeat(3), client_id: 'c1', queued_at: now - 30_000 };
    const { context, page } = await openPanel(lang, { roster, failed: [{ entry: refused, code: 'too_large' }] }, { width: 360, height: 700 });
    await page.screenshot({ path: `${SHOTS}/panel-status-${tag}.png` });
    await openConversation(page, '田中 健二', peer, [
      message(peer, ME, 1, tag === 'ja' ? '昨日の件、確認しました。' : 'Checked yesterday’s case.', yesterday),
      message(ME, peer, 2, tag === 'ja' ? 'ありがとうございます。請求書 \u202Efdp.exe を送ります' : 'Thanks. Sending 請求書 \u202Efdp.exe', yesterday + 60_000),
      message(peer, ME, 3, tag === 'ja' ? '3番の転送、お願いできますか？' : 'Can you take a transfer on line 3?', now - 60_000),
    ]);
    await page.getByRole('textbox').fill((tag === 'ja' ? 'お客様への回答案です。' : 'A draft answer. ').repeat(tag === 'ja' ? 170 : 120));
    await page.screenshot({ path: `${SHOTS}/panel-chat-${tag}.png` });
    await toPanel(page, { type: 'connection', connection: { status: 'offline', retry_at: Date.now() + 12_000, problem: 'unreachable' } });
    await page.getByRole('tab', { name: /Status|ステータス/ }).click();
    await page.screenshot({ path: `${SHOTS}/panel-offline-${tag}.png` });
    await context.close();
  }
});
