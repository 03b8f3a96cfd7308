// A small OpenID Connect provider on loopback for the end-to-end tests, built on the certified
// `oidc-provider` package: one public client (the extension: PKCE required, no secret, its
// chromiumapp.org redirect), a few accounts with `email`, `name` and `groups` claims, a plain
// login form (username and password) a test types into, and signing-key rotation.
//
// Rotation: one Provider instance per key set, all sharing one in-memory store (sessions,
// grants, codes, interactions) and the same cookie keys, so a person signed in before a switch
// stays signed in after it. `useKeys(['k2', 'k1'])` makes the instance publishing K2 and K1 and
// signing with K2 serve every request from then on; `useKeys(['k2'])` retires K1.
//
//   node tests/oidc/provider.js [PORT]     (a provider to try by hand; accounts below)
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import Provider from 'oidc-provider';

export const CLIENT_ID = 'ccp-sidecar';
export const EXTENSION_ID = 'goibjmhfiabeppgigcbjfjgoghionflh';
/** What the worker's `chrome.identity.getRedirectURL('oidc')` returns for the extension. */
export const REDIRECT_URI = `https://${EXTENSION_ID}.chromiumapp.org/oidc`;

// Each account's `sub` is an opaque id, as real providers make them (Okta's `00u…`, Entra's
// object ids): never the e-mail, so nothing can confuse the two and still pass.
export const DEFAULT_ACCOUNTS = {
  alice: { sub: '00u1alice9x7q', password: 'alice-password', email: 'alice@example.com', name: 'Alice Example', groups: ['agents'] },
  sam: { sub: '00u2sam4k8w1p', password: 'sam-password', email: 'sam@example.com', name: 'Sam Supervisor', groups: ['agents', 'supervisors'] },
};

/** The account's subject: its own `sub`, else an opaque id made from the username. */
const subjectOf = (username, account) => account.sub || `00u-${Buffer.from(username).toString('hex')}`;

/** Models revoked with their grant (as oidc-provider's own memory adapter keeps them). */
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/** The storage every Provider instance shares: a Map with expiry, and the indexes the adapter API needs. */
function sharedStore() {
  const items = new Map();
  const get = (key) => {
    const item = items.get(key);
    if (item && item.expires && item.expires <= Date.now()) {
      items.delete(key);
      return undefined;
    }
    return item?.value;
  };
  const set = (key, value, expiresIn) => items.set(key, { value, expires: expiresIn ? Date.now() + expiresIn * 1000 : 0 });
  return class SharedAdapter {
    constructor(model) { this.model = model; }
    key(id) { return `${this.model}:${id}`; }
    async upsert(id, payload, expiresIn) {
      set(this.key(id), payload, expiresIn);
      if (payload.uid && this.model === 'Session') set(`uid:${payload.uid}`, id, expiresIn);
      if (payload.userCode) set(`userCode:${payload.userCode}`, id, expiresIn);
      if (payload.grantId && GRANTABLE.has(this.model)) {
        const members = get(`grant:${payload.grantId}`) || [];
        set(`grant:${payload.grantId}`, [...members, this.key(id)]);
      }
    }
    async find(id) { return get(this.key(id)); }
    async findByUid(uid) { const id = get(`uid:${uid}`); return id && this.find(id); }
    async findByUserCode(code) { const id = get(`userCode:${code}`); return id && this.find(id); }
    async consume(id) { const payload = get(this.key(id)); if (payload) payload.consumed = Math.floor(Date.now() / 1000); }
    async destroy(id) { items.delete(this.key(id)); }
    async revokeByGrantId(grantId) {
      for (const key of get(`grant:${grantId}`) || []) items.delete(key);
      items.delete(`grant:${grantId}`);
    }
  };
}

function rsaKey(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, { error = '', username = '' } = {}) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example Corp sign-in</title>
<meta name="viewport" content="width=device-width"></head>
<body><main>
<h1>Example Corp sign-in</h1>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
<p><label for="username">Username</label> <input id="username" name="username" required value="${escape(username)}"></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" required></p>
<p><button type="submit">Sign in</button></p>
</form></main></body></html>`;
}

async function formBody(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) break;
  }
  return new URLSearchParams(body);
}

/**
 * Starts the provider on 127.0.0.1:`port` (0 picks one).
 * - `accounts`: username -> {password, email, name, groups}.
 * - `idTokenTtl`: ID token lifetime in seconds.
 * - `keyIds`: the signing keys made at start (RS256); `initialKeys` the set published first.
 * - `allowedOrigins`: origins whose scripts may call the token endpoint (the extension's).
 */
export async function startProvider({
  port = 0, accounts = DEFAULT_ACCOUNTS, idTokenTtl = 3600, keyIds = ['k1', 'k2'], initialKeys = ['k1'],
  allowedOrigins = [`chrome-extension://${EXTENSION_ID}`],
} = {}) {
  const server = createServer();
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const keys = Object.fromEntries(keyIds.map((kid) => [kid, rsaKey(kid)]));
  const Adapter = sharedStore();
  const cookieKeys = [randomBytes(32).toString('base64url')];
  const bySubject = new Map(Object.entries(accounts).map(([username, a]) => [subjectOf(username, a), a]));
  /** Every authorization request as it arrived (its prompt, login_hint...), and every login. */
  const authorizations = [];
  const logins = [];

  const configuration = (kids) => ({
    adapter: Adapter,
    jwks: { keys: kids.map((kid) => keys[kid]) },
    cookies: { keys: cookieKeys },
    clients: [{
      client_id: CLIENT_ID, token_endpoint_auth_method: 'none', application_type: 'web',
      redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], response_types: ['code'],
    }],
    pkce: { required: () => true },
    clientBasedCORS: (_ctx, origin) => allowedOrigins.includes(origin),
    // Identity claims in the ID token itself: the relay reads `email`, `name` and `groups` there.
    conformIdTokenClaims: false,
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    findAccount: async (_ctx, sub) => {
      const account = bySubject.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, email: account.email, email_verified: true, name: account.name, groups: account.groups }),
      };
    },
    // The extension is the company's own client: no consent screen, everything it asks for.
    loadExistingGrant: async (ctx) => {
      const { client, session, provider } = ctx.oidc;
      const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      if (grantId) {
        const grant = await provider.Grant.find(grantId);
        if (grant && grant.accountId === session.accountId) return grant;
      }
      const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      IdToken: idTokenTtl, AccessToken: idTokenTtl, AuthorizationCode: 60, Interaction: 600, Session: 8 * 3600,
      Grant: 8 * 3600,
    },
    renderError: async (ctx, out) => {
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `sign-in error: ${out.error}: ${out.error_description || ''}`;
    },
  });

  const instances = new Map();
  const instance = (kids) => {
    const id = kids.join(',');
    if (!instances.has(id)) {
      const provider = new Provider(issuer, configuration(kids));
      provider.on('server_error', (_ctx, e) => console.error('oidc provider:', e));
      instances.set(id, provider);
    }
    return instances.get(id);
  };
  let current = instance(initialKeys);
  let published = initialKeys;

  async function interaction(req, res, uid, action) {
    const provider = current;
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    const html = (status, body) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(body);
    };
    if (details.prompt.name !== 'login') {
      // Consent is never asked of the extension (see loadExistingGrant); finish with what we have.
      return provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
    }
    if (action !== 'login') return html(200, loginPage(uid));
    if (req.method !== 'POST') return html(405, loginPage(uid));
    const form = await formBody(req);
    const username = form.get('username') || '';
    const account = Object.hasOwn(accounts, username) ? accounts[username] : undefined;
    if (!account || form.get('password') !== account.password) {
      return html(200, loginPage(uid, { error: 'Wrong username or password.', username }));
    }
    logins.push({ username, email: account.email, prompt: details.params.prompt });
    return provider.interactionFinished(req, res, { login: { accountId: subjectOf(username, account) } }, { mergeWithLastSubmission: false });
  }

  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    if (process.env.SIDECAR_DEBUG) res.on('finish', () => console.error('OP', req.method, req.url.slice(0, 80), res.statusCode, String(res.getHeader('location') || '').slice(0, 120)));
    const match = url.pathname.match(/^\/interaction\/([\w-]+)(?:\/(login))?$/);
    if (match) {
      interaction(req, res, match[1], match[2]).catch((e) => {
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`sign-in error: ${e.message}`);
      });
      return;
    }
    if (url.pathname === '/auth') {
      authorizations.push(Object.fromEntries(url.searchParams));
    }
    current.callback()(req, res);
  });

  return {
    issuer,
    port: server.address().port,
    clientId: CLIENT_ID,
    authorizations,
    logins,
    /** The key ids the provider publishes now; the first one signs. */
    get keys() { return [...published]; },
    /** Switches to the instance publishing `kids` (signing with the first). */
    useKeys(kids) {
      current = instance(kids);
      published = kids;
    },
    /** An RS256 JWT over `claims` signed with key `kid`, whether or not it is published. */
    sign(kid, claims) {
      const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const input = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64(claims)}`;
      const signature = sign('sha256', Buffer.from(input), createPrivateKey({ key: keys[kid], format: 'jwk' }));
      return `${input}.${signature.toString('base64url')}`;
    },
    close() {
      server.closeAllConnections();
      return new Promise((ok) => server.close(() => ok()));
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const op = await startProvider({ port: Number(process.argv[2] || 0) });
  console.log(`oidc provider: ${op.issuer} (client ${CLIENT_ID}; accounts ${Object.keys(DEFAULT_ACCOUNTS).join(', ')})`);
}
