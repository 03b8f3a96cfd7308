// CCP Sidecar: the main-world hook. It runs inside the CCP page, reads Amazon Connect Streams
// (`window.connect`), and reports the agent to the content script over a private MessageChannel
// whose port it hands over before any page script runs. It catches its own errors: whatever
// happens here, the CCP keeps working.
(() => {
  'use strict';
  const NS = 'ccp-sidecar/hook';
  const channel = new MessageChannel();
  const port = channel.port1;
  window.postMessage({ ns: NS, type: 'handshake' }, window.location.origin, [channel.port2]);

  const post = (event) => {
    try { port.postMessage(event); } catch (_) { /* the content script is gone */ }
  };
  const str = (v) => (typeof v === 'string' ? v.slice(0, 512) : '');
  const time = (d) => (d instanceof Date ? d.getTime() : typeof d === 'number' ? d : Date.now());
  const KINDS = { routable: 'routable', not_routable: 'not_routable', offline: 'offline', system: 'system', error: 'error' };
  const CONTACT = { init: 'incoming', incoming: 'incoming', pending: 'incoming', connecting: 'connecting',
    connected: 'connected', missed: 'missed', error: 'error', ended: 'ended', rejected: 'missed' };
  const CHANNELS = { voice: 'voice', chat: 'chat', task: 'task', email: 'email' };

  // An outbound call's steps, from its contact's status; `missed` ends a call nobody answered.
  const PHASES = { connecting: 'dialling', connected: 'connected', ended: 'ended', missed: 'ended', error: 'failed' };

  let agent = null;
  let lastSent = '';
  /** contact id -> the last report, for outbound voice calls. */
  const calls = new Map();

  function reportCalls(a) {
    const seen = new Set();
    for (const c of a.getContacts()) {
      try {
        if (c.getType() !== 'voice' || c.isInbound()) continue;
        const id = str(c.getContactId());
        seen.add(id);
        const status = c.getStatus();
        const phase = PHASES[status.type];
        if (!id || !phase || (calls.get(id) || {}).phase === phase) continue;
        const call = { contact_id: id, number: '', phase, at: time(status.timestamp) };
        try { call.number = str(c.getInitialConnection().getEndpoint().phoneNumber); } catch (_) { /* no endpoint yet */ }
        const queue = c.getQueue();
        if (queue && queue.queueARN) call.queue_arn = str(queue.queueARN);
        if (!call.number) continue;
        calls.set(id, call);
        post({ type: 'call', call });
      } catch (_) { /* a contact we do not understand */ }
    }
    // A contact that went away without ending (the CCP cleared it) has ended.
    for (const [id, last] of calls) {
      if (seen.has(id)) continue;
      calls.delete(id);
      if (last.phase === 'dialling' || last.phase === 'connected') post({ type: 'call', call: { ...last, phase: 'ended', at: Date.now() } });
    }
  }

  function contactOf(a) {
    const contacts = a.getContacts();
    if (!contacts.length) return undefined;
    const c = contacts[0];
    const status = c.getStatus();
    let state = CONTACT[status.type] || 'connected';
    let since = time(status.timestamp);
    try {
      // A hold is the agent connection's state, with its own start; the contact stays connected.
      const agent = c.getAgentConnection();
      if (state === 'connected' && agent.isOnHold()) {
        state = 'on_hold';
        since = time(agent.getStatus().timestamp);
      }
    } catch (_) { /* no agent connection yet */ }
    if (state === 'ended' && a.getState().name === 'AfterCallWork') state = 'after_contact_work';
    return { channel: CHANNELS[c.getType()] || 'voice', state, since, id: str(c.getContactId()) };
  }

  function report() {
    try {
      const a = agent;
      const config = a.getConfiguration();
      const state = a.getState();
      const profile = a.getRoutingProfile() || {};
      const queues = (profile.queues || [])
        .filter((q) => q && q.queueARN && q.name && !/\/queue\/agent\//.test(q.queueARN))
        .slice(0, 200)
        .map((q) => ({ arn: str(q.queueARN), name: str(q.name) }));
      const event = {
        type: 'agent',
        agent: {
          username: str(config.username),
          name: str(config.name),
          state: { name: str(state.name), kind: KINDS[state.type] || 'system' },
          since: time(state.startTimestamp),
          queues,
        },
      };
      const contact = contactOf(a);
      if (contact) {
        const { id, ...summary } = contact;
        event.agent.contact = summary;
        // The contact's id, for a supervisor's listen-in (kept by the relay, never shown).
        if (id) event.agent.contact_id = id;
      }
      if (profile.defaultOutboundQueue && profile.defaultOutboundQueue.queueARN) {
        event.agent.default_queue = str(profile.defaultOutboundQueue.queueARN);
      }
      const text = JSON.stringify(event);
      if (text !== lastSent) {
        lastSent = text;
        post(event);
      }
      reportCalls(a);
    } catch (_) { /* a snapshot we do not understand: report nothing */ }
  }

  /** Streams' error as {error: message, code: type}. */
  function describe(err) {
    try {
      const e = typeof err === 'string' ? JSON.parse(err) : err;
      const code = e && (e.type || e.errorType);
      const out = { error: str((e && (e.message || code)) || String(err)) || 'failed' };
      if (typeof code === 'string' && code) out.code = str(code);
      return out;
    } catch (_) {
      return { error: str(String(err)) || 'failed' };
    }
  }

  function run(command) {
    const done = (ok, error) => post(ok ? { type: 'result', id: command.id, ok: true } : { type: 'result', id: command.id, ok: false, ...describe(error) });
    try {
      if (!agent) return done(false, 'The CCP is not signed in');
      if (command.type === 'dial' && typeof command.phone === 'string') {
        const params = { success: () => done(true), failure: (e) => done(false, e) };
        if (typeof command.queue_arn === 'string') params.queueARN = command.queue_arn;
        agent.connect(window.connect.Endpoint.byPhoneNumber(command.phone), params);
      } else if (command.type === 'transfer' && typeof command.username === 'string') {
        const contact = agent.getContacts().find((c) => c.getStatus().type === 'connected');
        if (!contact) return done(false, 'There is no call to transfer');
        agent.getEndpoints(agent.getAllQueueARNs(), {
          success: (data) => {
            const endpoint = (data.endpoints || []).find((e) => e.type === 'agent' && e.name === command.username);
            if (!endpoint) return done(false, 'No quick connect for ' + command.username);
            contact.addConnection(endpoint, { success: () => done(true), failure: (e) => done(false, e) });
          },
          failure: (e) => done(false, e),
        });
      }
    } catch (e) {
      done(false, e && e.message);
    }
  }
  port.onmessage = (m) => run(m.data || {});

  // Streams defines window.connect when it loads and its event bus when the CCP initialises;
  // look for both on a timer that backs off, never in a tight loop.
  let delay = 25;
  function attach() {
    try {
      const c = window.connect;
      if (c && c.core && typeof c.core.getEventBus === 'function' && c.core.getEventBus() && typeof c.agent === 'function') {
        c.agent((a) => {
          agent = a;
          a.onRefresh(report);
          report();
        });
        return;
      }
    } catch (_) { /* not ready */ }
    delay = Math.min(delay * 2, 1000);
    setTimeout(attach, delay);
  }
  setTimeout(attach, 0);
})();
