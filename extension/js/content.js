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
  // Read now: once the extension is updated or reloaded under this page, chrome.* is gone.
  const UPDATED = chrome.i18n.getMessage('dock_updated');
  let showUpdated = () => {};

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
      // The extension was updated, reloaded or removed: this page keeps working without it, and
      // the dock says so (a reload of the page docks the new version).
      showUpdated();
      return;
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
      if (m && m.type === 'toggle') toggleDock(true);
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
  // The CCP is responsive and designed down to 320 px wide (amazon-connect-streams' README), so
  // it keeps at least CCP_MIN px: where the window has room for it and the panel, the dock
  // sits beside the CCP (the page's root element gives up the dock's width); where it has not
  // (the CCP in a narrow popup), the dock starts collapsed and opens over the CCP on demand. The
  // handle has a column of its own, so it covers nothing either. `collapsed` is the choice kept
  // for windows with room (chrome.storage.local, with the width); the narrow window's overlay is
  // opened only for the moment.
  const CCP_MIN = 320;
  const MIN = 260;
  const HANDLE = 30;
  const GRIP = 6;
  let width = 340;
  let collapsed = false;
  let overlayOpen = false;
  let unread = 0;
  let applyLayout = () => {};
  let toggleDock = () => {};

  function setUnread(count) {
    unread = typeof count === 'number' && count > 0 ? count : 0;
    applyLayout();
  }

  function dock() {
    const host = document.createElement('div');
    host.id = 'ccp-sidecar-dock';
    const root = host.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = `
      :host { all: initial; position: fixed; top: 0; right: 0; bottom: 0; z-index: 2147483646; display: flex;
              padding-left: ${HANDLE}px; pointer-events: none;
              font: 13px "Amazon Ember", "Helvetica Neue", Roboto, Arial, sans-serif; }
      .grip, .frame, .toggle { pointer-events: auto; }
      .grip { width: ${GRIP - 1}px; cursor: col-resize; background: #eaeded; border-left: 1px solid #d5dbdb; }
      .grip:hover, .grip:focus { background: #c6d1d8; outline: none; }
      .frame { border: 0; height: 100%; background: #fff; box-shadow: -2px 0 6px rgba(0,0,0,.08); }
      .notice { box-sizing: border-box; padding: 16px; color: #16191f; font-size: 13px; line-height: 1.5; }
      :host([overlay]) .frame { box-shadow: -4px 0 12px rgba(0,0,0,.25); }
      .toggle { position: absolute; top: 8px; left: 0; width: ${HANDLE}px; min-height: 44px; border: 1px solid #d5dbdb;
                border-right: 0; border-radius: 6px 0 0 6px; background: #fff; color: #16191f; cursor: pointer;
                font-size: 14px; padding: 6px 0; display: flex; flex-direction: column; align-items: center; gap: 4px;
                box-sizing: border-box; }
      .toggle:focus-visible { outline: 2px solid #0073bb; outline-offset: -2px; }
      .badge { min-width: 18px; height: 18px; padding: 0 3px; box-sizing: border-box; border-radius: 9px;
               background: #d13212; color: #fff; font: 700 11px/18px "Amazon Ember", Arial, sans-serif; text-align: center; }
      .badge[hidden] { display: none; }
      :host([collapsed]) .frame, :host([collapsed]) .grip { display: none; }
    `;
    const toggle = document.createElement('button');
    toggle.className = 'toggle';
    toggle.type = 'button';
    const arrow = document.createElement('span');
    arrow.setAttribute('aria-hidden', 'true');
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.setAttribute('aria-hidden', 'true');
    badge.hidden = true;
    toggle.append(arrow, badge);
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
    // What the dock shows beside its handle: the panel, or the notice after an update.
    let pane = frame;
    showUpdated = () => {
      const note = document.createElement('div');
      note.className = 'frame notice';
      note.setAttribute('role', 'status');
      note.textContent = UPDATED;
      note.style.width = frame.style.width;
      frame.replaceWith(note);
      pane = note;
    };
    const message = (name, subs) => { try { return chrome.i18n.getMessage(name, subs); } catch (_) { return ''; } };

    // Whether the window has room for the CCP beside the narrowest panel.
    const roomy = () => window.innerWidth - HANDLE - GRIP - MIN >= CCP_MIN;
    applyLayout = () => {
      const room = window.innerWidth;
      const beside = roomy();
      const open = beside ? !collapsed : overlayOpen;
      const w = beside ? Math.max(MIN, Math.min(width, room - CCP_MIN - HANDLE - GRIP))
        : Math.max(0, Math.min(width, room - HANDLE - GRIP));
      pane.style.width = w + 'px';
      arrow.textContent = open ? '▶' : '◀';
      const label = open ? message('dock_close')
        : unread > 0 ? message('dock_open_unread', [String(unread)]) : message('dock_open');
      toggle.setAttribute('aria-label', label);
      toggle.title = label;
      toggle.setAttribute('aria-expanded', String(open));
      badge.textContent = unread > 99 ? '99+' : String(unread);
      badge.hidden = open || unread === 0;
      host.toggleAttribute('collapsed', !open);
      host.toggleAttribute('overlay', open && !beside);
      // The page gives up what the dock takes beside it; an overlay takes nothing but the handle,
      // and the handle only while the CCP keeps its minimum width without it.
      const reserve = beside && open ? HANDLE + GRIP + w : room - HANDLE >= CCP_MIN ? HANDLE : 0;
      document.documentElement.style.setProperty('margin-right', reserve + 'px', 'important');
    };
    const save = () => { try { chrome.storage.local.set({ dock: { width, collapsed } }).catch(() => {}); } catch (_) { /* updated */ } };
    // The handle, and the keyboard shortcut (chrome.commands, through the worker): the shortcut
    // takes the keyboard into the panel it opens, and back to where it was in the CCP when it
    // closes it (focus left in a hidden frame would be lost).
    let returnTo = null;
    toggleDock = (byShortcut) => {
      if (roomy()) {
        collapsed = !collapsed;
        save();
      } else {
        overlayOpen = !overlayOpen;
      }
      applyLayout();
      const open = !host.hasAttribute('collapsed');
      if (open && byShortcut) {
        returnTo = document.activeElement !== host ? document.activeElement : null;
        frame.focus();
      } else if (!open && root.activeElement === frame) {
        (returnTo && returnTo.isConnected ? returnTo : toggle).focus();
        returnTo = null;
      }
    };
    toggle.addEventListener('click', () => toggleDock(false));
    const resize = (w) => {
      width = Math.max(MIN, Math.round(w));
      applyLayout();
      save();
    };
    grip.addEventListener('pointerdown', (e) => {
      grip.setPointerCapture(e.pointerId);
      const move = (m) => { width = Math.max(MIN, window.innerWidth - m.clientX - GRIP); applyLayout(); };
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
    window.addEventListener('resize', () => {
      if (roomy()) overlayOpen = false;
      applyLayout();
    });
    chrome.storage.local.get('dock').then((items) => {
      const saved = items && items.dock;
      if (saved && typeof saved.width === 'number') width = saved.width;
      if (saved && typeof saved.collapsed === 'boolean') collapsed = saved.collapsed;
      applyLayout();
    }).catch(() => applyLayout());
    applyLayout();
    (document.body || document.documentElement).appendChild(host);
  }
  // The dock is built in a task of its own rather than inside the page's DOMContentLoaded
  // dispatch: the CCP does its own start-up work there, and the two together made a long task.
  const later = () => setTimeout(dock, 0);
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', later, { once: true });
  } else {
    later();
  }
})();
