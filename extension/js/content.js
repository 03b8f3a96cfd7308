// CCP Sidecar: the content script. It takes the hook's private port (the first handshake from
// this window only), forwards the hook's events to the worker over a chrome.runtime port, hands
// the worker's commands back to the hook, and docks the panel beside the CCP in a shadow root.
(() => {
  'use strict';
  const NS = 'ccp-sidecar/hook';
  const EVENTS = new Set(['agent', 'call', 'result']);
  const MAX_EVENT = 65536;
  let hook = null;
  let worker = null;
  let ready = false;
  let lastAgent = null;
  let focused = document.hasFocus();

  function onWindowMessage(e) {
    const d = e.data;
    if (hook || e.source !== window || !d || d.ns !== NS || d.type !== 'handshake' || !e.ports || !e.ports[0]) return;
    hook = e.ports[0];
    window.removeEventListener('message', onWindowMessage);
    hook.onmessage = (m) => fromHook(m.data);
  }
  window.addEventListener('message', onWindowMessage);

  function fromHook(event) {
    if (!event || typeof event !== 'object' || !EVENTS.has(event.type)) return;
    try {
      if (JSON.stringify(event).length > MAX_EVENT) return;
    } catch (_) { return; }
    if (event.type === 'agent') lastAgent = event;
    send({ type: 'hook', event });
  }

  function send(message) {
    try { if (worker && ready) worker.postMessage(message); } catch (_) { worker = null; }
  }

  // The worker may be stopped by Chrome at any time; reconnecting wakes it, and it is told the
  // agent's latest state again, since the hook only reports changes.
  function connectWorker() {
    try {
      worker = chrome.runtime.connect({ name: 'tab' });
    } catch (_) {
      return; // the extension was reloaded or removed: this page keeps working without it
    }
    ready = false;
    worker.onMessage.addListener((m) => {
      if (m && m.type === 'ready') {
        ready = true;
        if (lastAgent) send({ type: 'hook', event: lastAgent });
        send({ type: 'focus', focused });
      }
      if (m && m.type === 'command' && hook) hook.postMessage(m.command);
      if (m && m.type === 'unread') setUnread(m.count);
    });
    worker.onDisconnect.addListener(() => {
      worker = null;
      ready = false;
      setTimeout(connectWorker, 100);
    });
  }
  connectWorker();

  function reportFocus() {
    const now = document.visibilityState === 'visible' && document.hasFocus();
    if (now !== focused) {
      focused = now;
      send({ type: 'focus', focused });
    }
  }
  window.addEventListener('focus', reportFocus);
  window.addEventListener('blur', reportFocus);
  document.addEventListener('visibilitychange', reportFocus);

  // ---- the dock -------------------------------------------------------------------------------
  const MIN = 260;
  const NARROW = 640;
  let width = 340;
  let collapsed = window.innerWidth < NARROW;
  let handleBadge = null;
  let applyLayout = () => {};

  function setUnread(count) {
    if (!handleBadge) return;
    handleBadge.textContent = count > 0 ? String(count) : '';
    handleBadge.hidden = !(count > 0);
  }

  function dock() {
    const host = document.createElement('div');
    host.id = 'ccp-sidecar-dock';
    const root = host.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = `
      :host { all: initial; position: fixed; top: 0; right: 0; bottom: 0; z-index: 2147483646; display: flex;
              font: 13px "Amazon Ember", "Helvetica Neue", Roboto, Arial, sans-serif; }
      .grip { width: 6px; cursor: col-resize; background: #eaeded; border-left: 1px solid #d5dbdb; }
      .grip:hover, .grip:focus { background: #c6d1d8; outline: none; }
      .frame { border: 0; height: 100%; background: #fff; box-shadow: -2px 0 6px rgba(0,0,0,.08); }
      .toggle { position: absolute; top: 8px; left: -30px; width: 30px; height: 44px; border: 1px solid #d5dbdb;
                border-right: 0; border-radius: 6px 0 0 6px; background: #fff; color: #16191f; cursor: pointer;
                font-size: 14px; padding: 0; }
      .toggle:focus-visible { outline: 2px solid #0073bb; }
      .badge { position: absolute; top: -6px; left: -6px; min-width: 16px; height: 16px; border-radius: 8px;
               background: #d13212; color: #fff; font-size: 10px; line-height: 16px; text-align: center; }
      :host([collapsed]) .frame, :host([collapsed]) .grip { display: none; }
    `;
    const toggle = document.createElement('button');
    toggle.className = 'toggle';
    handleBadge = document.createElement('span');
    handleBadge.className = 'badge';
    handleBadge.hidden = true;
    toggle.append(document.createTextNode(''), handleBadge);
    const grip = document.createElement('div');
    grip.className = 'grip';
    grip.tabIndex = 0;
    grip.setAttribute('role', 'separator');
    grip.setAttribute('aria-orientation', 'vertical');
    grip.setAttribute('aria-label', chrome.i18n.getMessage('dock_resize'));
    const frame = document.createElement('iframe');
    frame.className = 'frame';
    frame.title = chrome.i18n.getMessage('app_name');
    frame.src = chrome.runtime.getURL('panel.html');
    frame.allow = '';
    root.append(style, toggle, grip, frame);

    applyLayout = () => {
      const narrow = window.innerWidth < NARROW;
      const w = Math.max(MIN, Math.min(width, window.innerWidth - (narrow ? 0 : 320)));
      frame.style.width = w + 'px';
      toggle.firstChild.textContent = collapsed ? '◀' : '▶';
      toggle.setAttribute('aria-label', chrome.i18n.getMessage(collapsed ? 'dock_open' : 'dock_close'));
      toggle.setAttribute('aria-expanded', String(!collapsed));
      host.toggleAttribute('collapsed', collapsed);
      // Beside the CCP in a wide window; over it in the narrow CCP popup.
      document.documentElement.style.setProperty('margin-right', collapsed || narrow ? '0' : (w + 6) + 'px', 'important');
    };
    toggle.addEventListener('click', () => {
      collapsed = !collapsed;
      applyLayout();
      chrome.storage.local.set({ dock: { width, collapsed } }).catch(() => {});
    });
    const resize = (w) => {
      width = Math.max(MIN, Math.round(w));
      applyLayout();
      chrome.storage.local.set({ dock: { width, collapsed } }).catch(() => {});
    };
    grip.addEventListener('pointerdown', (e) => {
      grip.setPointerCapture(e.pointerId);
      const move = (m) => { width = Math.max(MIN, window.innerWidth - m.clientX); applyLayout(); };
      const up = () => {
        grip.removeEventListener('pointermove', move);
        grip.removeEventListener('pointerup', up);
        resize(width);
      };
      grip.addEventListener('pointermove', move);
      grip.addEventListener('pointerup', up);
    });
    grip.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowLeft') resize(width + 20);
      if (e.key === 'ArrowRight') resize(width - 20);
    });
    window.addEventListener('resize', () => applyLayout());
    chrome.storage.local.get('dock').then((items) => {
      const saved = items && items.dock;
      if (saved && typeof saved.width === 'number') width = saved.width;
      if (saved && typeof saved.collapsed === 'boolean' && window.innerWidth >= NARROW) collapsed = saved.collapsed;
      applyLayout();
    }).catch(() => applyLayout());
    applyLayout();
    (document.body || document.documentElement).appendChild(host);
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', dock, { once: true });
  } else {
    dock();
  }
})();
