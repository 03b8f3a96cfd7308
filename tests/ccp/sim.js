// The CCP simulator: plays the part of the Contact Control Panel and its backend around the real
// amazon-connect-streams library. It creates the library's event bus and AgentDataProvider,
// connects a connect.Conduit over an in-page stream to connect.UpstreamConduitClient, delivers
// `agent::update` snapshots, and answers `api_request`s (putAgentState, createOutboundContact,
// getEndpoints, createAdditionalConnection, ...). Tests and the demo drive it through
// window.ccpSim; every request it answered is in window.ccpSim.requests.
//
// A supervisor's CCP also plays the monitoring contact Connect's MonitorContact gives it
// (ccpSim.monitor); with `connect=<base url>&connect_user=<Connect user id>` in the page's URL it
// asks the Connect stand-in (`GET <base>/_fake/monitors?user=<id>`) every 500 ms for the monitor
// requests made for that user and plays each new one.
(() => {
  'use strict';
  const params = new URLSearchParams(location.search);
  const username = params.get('agent') || 'you';
  const displayName = params.get('name') || username;
  const instance = 'arn:aws:connect:ap-northeast-1:123456789012:instance/0c9f8ab3-1d2e-4f5a-8b6c-7d8e9f0a1b2c';
  const queue = (id, name) => ({ queueARN: `${instance}/queue/${id}`, queueId: `${instance}/queue/${id}`, name });
  const QUEUES = [queue('tokyo-sales', 'Tokyo Sales +81 3-4578-1000'), queue('osaka-support', 'Osaka Support +81 6-6345-2000'),
    { queueARN: `${instance}/queue/agent/${username}`, queueId: null, name: null }];
  const STATES = [
    { agentStateARN: `${instance}/agent-state/available`, type: 'routable', name: 'Available' },
    { agentStateARN: `${instance}/agent-state/admin`, type: 'not_routable', name: '管理業務中' },
    { agentStateARN: `${instance}/agent-state/break`, type: 'not_routable', name: 'Break' },
    { agentStateARN: `${instance}/agent-state/offline`, type: 'offline', name: 'Offline' },
  ];
  const PEERS = (params.get('peers') || 'sato,tanaka,suzuki,yamada,kobayashi,ito,watanabe,alice,bob').split(',');

  const configuration = {
    name: displayName, username, extension: '', dialableCountries: ['jp', 'us'], softphoneEnabled: false,
    softphoneAutoAccept: false, agentStates: STATES, permissions: ['outboundCall'], agentPreferences: { locale: 'ja_JP' },
    routingProfile: {
      name: 'Tokyo Voice', routingProfileARN: `${instance}/routing-profile/tokyo-voice`,
      routingProfileId: `${instance}/routing-profile/tokyo-voice`,
      defaultOutboundQueue: QUEUES[0], queues: QUEUES, channelConcurrencyMap: { VOICE: 1, CHAT: 0, TASK: 0 },
    },
  };
  let availability = { ...STATES[0], startTimestamp: new Date() };
  let state = { ...availability };
  let contact = null;
  const requests = [];

  const bus = new connect.EventBus();
  connect.core.eventBus = bus;
  connect.core.agentDataProvider = new connect.core.AgentDataProvider(bus);
  const listeners = [];
  const upstream = { send: (m) => setTimeout(() => handle(m), 0), onMessage: (f) => listeners.push(f) };
  const conduit = new connect.Conduit('ccp-simulator', upstream, null);
  connect.core.upstream = conduit;
  connect.core.client = new connect.UpstreamConduitClient(conduit);
  conduit.onAllUpstream(bus.bridge());
  connect.core.initialized = true;

  const deliver = (event, data) => listeners.forEach((f) => f({ data: { event, data } }));
  const setState = (s) => { state = { name: s.name, type: s.type, agentStateARN: s.agentStateARN || null, startTimestamp: new Date() }; };

  /** The supervisor's own connection to a monitoring contact, as Streams reads it. */
  function monitorConnection(c) {
    const status = c.monitor === 'BARGE' ? 'barge' : 'silent_monitor';
    return { connectionId: `${c.id}-monitor`, type: 'monitoring', initial: false,
      endpoint: { endpointARN: null, endpointId: null, type: 'phone_number', name: username, phoneNumber: '' },
      state: { type: status, timestamp: c.since }, monitorStatus: c.monitor,
      monitorCapabilities: ['SILENT_MONITOR', 'BARGE'],
      monitoringInfo: { agent: { agentName: c.monitoredAgent || '' }, joinTimeStamp: c.since } };
  }

  function snapshot() {
    const contacts = contact && contact.monitor ? [{
      contactId: contact.id, initialContactId: contact.id, type: 'voice', contactDuration: '0',
      state: { type: contact.state, timestamp: contact.since }, queue: contact.queue, queueTimestamp: contact.since,
      attributes: {}, initiationMethod: 'inbound',
      connections: [
        monitorConnection(contact),
        { connectionId: `${contact.id}-customer`, type: 'inbound', initial: true,
          endpoint: { endpointARN: null, endpointId: null, type: 'phone_number', name: contact.phone, phoneNumber: contact.phone },
          state: { type: contact.customerConnection, timestamp: contact.since } },
      ],
    }] : contact ? [{
      contactId: contact.id, initialContactId: contact.id, type: 'voice', contactDuration: '0',
      state: { type: contact.state, timestamp: contact.since }, queue: contact.queue, queueTimestamp: contact.since,
      attributes: {}, initiationMethod: contact.outbound ? 'outbound' : 'inbound',
      connections: [
        { connectionId: `${contact.id}-agent`, type: 'agent', initial: !contact.outbound,
          endpoint: { endpointARN: null, endpointId: null, type: 'phone_number', name: username, phoneNumber: '' },
          state: { type: contact.agentConnection, timestamp: contact.agentSince || contact.since } },
        { connectionId: `${contact.id}-customer`, type: contact.outbound ? 'outbound' : 'inbound', initial: true,
          endpoint: { endpointARN: null, endpointId: null, type: 'phone_number', name: contact.phone, phoneNumber: contact.phone },
          state: { type: contact.customerConnection, timestamp: contact.since } },
      ],
    }] : [];
    return { state, agentAvailabilityState: availability, nextState: null, contacts, snapshotTimestamp: new Date() };
  }

  function update() {
    deliver(connect.AgentEvents.UPDATE, { snapshot: snapshot(), configuration });
    render();
  }

  function respond(requestId, data, err) {
    deliver(connect.EventType.API_RESPONSE, { requestId, data: data || {}, err: err || null });
  }

  function setContact(changes) {
    contact = Object.assign(contact, changes, { since: new Date(), agentSince: null });
  }

  function handle(message) {
    if (!message || message.event !== connect.EventType.API_REQUEST) return;
    const { requestId, method, params: p } = message.data;
    requests.push({ method, params: JSON.parse(JSON.stringify(p || {})), at: Date.now() });
    renderRequests();
    switch (method) {
      case 'putAgentState': {
        const wanted = STATES.find((s) => s.agentStateARN === (p.state && p.state.agentStateARN)) ||
          STATES.find((s) => p.state && s.name === p.state.name);
        if (!wanted) return respond(requestId, null, { type: 'InvalidStateException', message: 'Unknown agent state' });
        availability = { ...wanted, startTimestamp: new Date() };
        if (!contact) setState(wanted);
        respond(requestId);
        return update();
      }
      case 'createOutboundContact': {
        const phone = p.endpoint && p.endpoint.phoneNumber;
        const q = QUEUES.find((x) => x.queueARN === p.queueARN && x.name);
        if (availability.type === 'offline') return respond(requestId, null, { type: 'AgentNotAvailableException', message: 'The agent is offline' });
        if (contact) return respond(requestId, null, { type: 'AgentBusyException', message: 'The agent is already on a contact' });
        if (!/^\+[1-9]\d{5,14}$/.test(phone || '')) return respond(requestId, null, { type: 'BadEndpointException', message: 'The phone number is not valid' });
        if (!q) return respond(requestId, null, { type: 'AccessDeniedException', message: 'The queue is not in the routing profile' });
        contact = { id: crypto.randomUUID(), outbound: true, phone, queue: q, state: 'connecting', agentConnection: 'connected',
          customerConnection: 'connecting', since: new Date() };
        setState({ name: 'CallingCustomer', type: 'system' });
        respond(requestId, { contactId: contact.id });
        update();
        setTimeout(() => {
          if (!contact || contact.state !== 'connecting') return;
          setContact({ state: 'connected', customerConnection: 'connected' });
          setState({ name: 'Busy', type: 'system' });
          update();
        }, 1500);
        return;
      }
      case 'getEndpoints':
        return respond(requestId, {
          endpoints: PEERS.map((name) => ({ endpointARN: `${instance}/transfer-destination/${name}`,
            endpointId: `${instance}/transfer-destination/${name}`, type: 'agent', name })),
          nextToken: null,
        });
      default:
        return respond(requestId);
    }
  }

  const sim = {
    requests,
    username,
    /** Changes the agent's state the way the CCP's own dropdown does: through Streams. */
    setState(name) {
      const target = STATES.find((s) => s.name === name);
      connect.agent((a) => a.setState(target, { success() {}, failure() {} }));
    },
    incoming(phone) {
      contact = { id: crypto.randomUUID(), outbound: false, phone, queue: QUEUES[1], state: 'incoming',
        agentConnection: 'connecting', customerConnection: 'connected', since: new Date() };
      update();
    },
    answer() {
      if (!contact) return;
      setContact({ state: 'connected', agentConnection: 'connected', customerConnection: 'connected' });
      setState({ name: 'Busy', type: 'system' });
      update();
    },
    /** Puts the customer on hold, as Connect does: the agent's connection changes state (with its
     * own timestamp), the contact stays connected since it connected. */
    hold() {
      if (!contact || contact.state !== 'connected') return;
      Object.assign(contact, { agentConnection: 'hold', agentSince: new Date() });
      update();
    },
    resume() {
      if (!contact || contact.agentConnection !== 'hold') return;
      Object.assign(contact, { agentConnection: 'connected', agentSince: new Date() });
      update();
    },
    hangup() {
      if (!contact) return;
      setContact({ state: 'ended', agentConnection: 'disconnected', customerConnection: 'disconnected' });
      setState({ name: 'AfterCallWork', type: 'system' });
      update();
    },
    close() {
      contact = null;
      setState(availability);
      state.startTimestamp = new Date();
      update();
    },
    /** Plays the monitoring contact Connect's MonitorContact gives a supervisor's CCP: a voice
     * contact already connected, the supervisor's connection listening in (or barging in). */
    monitor({ contactId, barge = false, agentName = '' } = {}) {
      const id = typeof contactId === 'string' && contactId ? contactId : crypto.randomUUID();
      const monitor = barge ? 'BARGE' : 'SILENT_MONITOR';
      requests.push({ method: 'monitor', params: { contactId: id, barge: !!barge }, at: Date.now() });
      renderRequests();
      contact = { id, outbound: false, phone: '', queue: QUEUES[1], state: 'connected', agentConnection: 'connected',
        customerConnection: 'connected', since: new Date(), monitor, monitoredAgent: agentName };
      setState({ name: 'Busy', type: 'system' });
      update();
    },
  };
  window.ccpSim = sim;

  // The Connect stand-in's monitor requests for this supervisor, each played once.
  const connectBase = (params.get('connect') || '').replace(/\/+$/, '');
  const connectUser = params.get('connect_user');
  if (connectBase && connectUser) {
    const played = new Set();
    const url = `${connectBase}/_fake/monitors?user=${encodeURIComponent(connectUser)}`;
    const poll = async () => {
      try {
        const res = await fetch(url, { cache: 'no-store' });
        const monitors = res.ok ? await res.json() : [];
        for (const m of Array.isArray(monitors) ? monitors : []) {
          const id = m && m.monitoring_contact_id;
          if (typeof id !== 'string' || !id || played.has(id)) continue;
          played.add(id);
          sim.monitor({ contactId: id, barge: m.barge === true });
        }
      } catch (_) { /* the stand-in is not up (yet): ask again */ }
      setTimeout(poll, 500);
    };
    poll();
  }

  // ---- the page -------------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  $('state').append(...STATES.map((s) => new Option(s.name, s.name)));
  $('state').addEventListener('change', (e) => sim.setState(e.target.value));
  $('answer').addEventListener('click', () => sim.answer());
  $('hangup').addEventListener('click', () => sim.hangup());
  $('close').addEventListener('click', () => sim.close());
  function render() {
    $('state').value = availability.name;
    $('state').parentElement.className = `status ${state.type}`;
    $('agent-name').textContent = `${displayName} (${username})`;
    $('queue').textContent = `Routing profile: ${configuration.routingProfile.name}`;
    $('contact').hidden = !contact;
    if (contact) {
      const kind = contact.monitor ? (contact.monitor === 'BARGE' ? 'Barge' : 'Monitoring') : contact.outbound ? 'Outbound' : 'Inbound';
      $('contact-state').textContent = `${kind} · ${contact.state} · ${contact.queue.name}`;
      $('contact-number').textContent = contact.phone;
    }
    tick();
  }
  function tick() {
    const s = Math.max(0, Math.floor((Date.now() - state.startTimestamp.getTime()) / 1000));
    $('timer').textContent = `${state.name} ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }
  function renderRequests() {
    const last = requests[requests.length - 1];
    const li = document.createElement('li');
    li.textContent = `${last.method} ${JSON.stringify(last.params)}`;
    $('requests').append(li);
  }
  setInterval(tick, 1000);
  update();
})();
