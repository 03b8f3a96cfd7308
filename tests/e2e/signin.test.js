// Sign-in with a real OpenID provider (tests/oidc/provider.js, on `oidc-provider`): the relay
// trusts only that provider (no development issuer); the extension is configured with its issuer
// and client id as the options page would. A person signs in on the provider's own login page
// (chrome.identity.launchWebAuthFlow opens it as a page of the browser), short-lived ID tokens
// are renewed silently over the same relay connection, the provider rotates its signing key and
// the relay follows without a restart and refuses the retired key, and a sign-out holds across a
// worker restart until the next person signs in, authenticated again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator } from '../ccp/server.js';
import { CLIENT_ID, REDIRECT_URI, startProvider } from '../oidc/provider.js';
import { launchAgent, metric, online, panelFrame, relayClient, sleep, startRelay, waitFor } from './harness.js';

/** ID tokens live 20 s, so the worker renews them every ~15 s. */
const ID_TOKEN_TTL_S = 20;

let op;
let relay;
let sim;
let agent;
let A;

before(async () => {
  op = await startProvider({ idTokenTtl: ID_TOKEN_TTL_S });
  relay = await startRelay({
    devIssuer: false,
    // Keys are trusted for 1 s before the relay fetches the JWKS again (one hour by default).
    extraArgs: ['--oidc-issuer', op.issuer, '--oidc-audience', CLIENT_ID, '--jwks-ttl-s', '1'],
  });
  sim = await startSimulator(0);
  agent = await launchAgent({ sim, relay }, { options: { relay_url: relay.ws, issuer: op.issuer, client_id: CLIENT_ID } });
  A = await agent.openCcp('alice');
});
after(async () => {
  await agent?.close();
  await relay?.stop();
  sim?.close();
  await op?.close();
});

const jwt = (token) => {
  const [header, claims] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url')));
  return { header, claims };
};
/** The ID token the worker holds (chrome.storage.session), or undefined. */
const storedToken = async () => {
  const worker = await waitFor(() => agent.currentWorker(), 'a worker');
  return worker.evaluate(async () => (await chrome.storage.session.get('session')).session?.id_token);
};
const nextToken = (previous) => waitFor(async () => {
  const token = await storedToken();
  return token && token !== previous && token;
}, 'a renewed ID token', 30000);
const status = (text) => A.panel.getByRole('status').filter({ hasText: text }).first();

/** Signs in on the provider's page that the panel's Sign in button opens; returns that page's prompt. */
async function signInOnProviderPage(username, password, { wrongFirst = false } = {}) {
  const opened = agent.context.waitForEvent('page', { predicate: (p) => p.url().startsWith(op.issuer), timeout: 15000 });
  await A.panel.getByRole('button', { name: 'Sign in' }).click();
  const login = await opened;
  await login.getByRole('heading', { name: 'Example Corp sign-in' }).waitFor();
  const request = op.authorizations.at(-1);
  if (wrongFirst) {
    await login.getByLabel('Username').fill(username);
    await login.getByLabel('Password').fill('not the password');
    await login.getByRole('button', { name: 'Sign in' }).click();
    await login.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
  }
  await login.getByLabel('Username').fill(username);
  await login.getByLabel('Password').fill(password);
  await login.getByRole('button', { name: 'Sign in' }).click();
  await waitFor(() => login.isClosed(), 'the sign-in page closes after the redirect');
  return request;
}

test('a person signs in on the provider\'s login page and the relay knows them by the provider\'s claims', async () => {
  await waitFor(() => op.authorizations.length > 0, 'the start-up sign-in at the provider');
  await status('Signed out').waitFor({ timeout: 20000 });
  await sleep(1000);
  assert.deepEqual(op.authorizations.map((a) => a.prompt), ['none'], 'start-up tried once, silently, without a page');
  assert.equal(op.logins.length, 0);

  const request = await signInOnProviderPage('alice', 'alice-password', { wrongFirst: true });
  assert.equal(request.prompt, undefined, 'a first sign-in does not force a new login');
  assert.equal(request.client_id, CLIENT_ID);
  assert.equal(request.redirect_uri, REDIRECT_URI, 'chrome.identity.getRedirectURL("oidc")');
  assert.equal(request.code_challenge_method, 'S256');
  assert.ok(request.code_challenge.length >= 43 && request.nonce && request.state);

  await online(A.panel);
  await A.panel.getByText('Alice Example', { exact: true }).waitFor();
  const { header, claims } = jwt(await storedToken());
  assert.equal(header.kid, 'k1');
  assert.equal(header.alg, 'RS256');
  assert.equal(claims.iss, op.issuer);
  assert.equal(claims.aud, CLIENT_ID);
  assert.equal(claims.email, 'alice@example.com');
  assert.equal(claims.nonce, request.nonce, 'the token answers this sign-in');
  assert.equal(claims.exp - claims.iat, ID_TOKEN_TTL_S);
  // The CCP is logged in as alice: her state is published under the provider's principal.
  await A.panel.getByLabel('My state: Available').waitFor();
  assert.equal(await A.panel.getByRole('alert').count(), 0, 'no identity warning');
});

test('silent renewal and a key rotation at the provider keep the same relay connection; the retired key is refused', async () => {
  const frame = await panelFrame(A.page);
  // Every text the connection status shows from now on.
  await frame.evaluate(() => {
    const text = () => document.querySelector('[role=status]')?.textContent;
    const log = [text()];
    window.statusLog = log;
    new MutationObserver(() => { if (log.at(-1) !== text()) log.push(text()); })
      .observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const failures = await metric(relay, 'sidecar_auth_failures_total');
  const first = await storedToken();
  const firstExpiry = jwt(first).claims.exp * 1000;

  // Renewal: no page, no login; a new token signed by the same key.
  const second = await nextToken(first);
  assert.equal(jwt(second).header.kid, 'k1');
  assert.equal(op.authorizations.at(-1).prompt, 'none');
  assert.equal(op.logins.length, 1, 'nobody typed a password again');

  // Phase 2: the provider publishes K2 and K1 and signs with K2.
  op.useKeys(['k2', 'k1']);
  const third = await nextToken(second);
  assert.equal(jwt(third).header.kid, 'k2', 'the renewed token is signed by the new key');
  const now = () => Math.floor(Date.now() / 1000);
  const probe = (kid) => op.sign(kid, {
    iss: op.issuer, aud: CLIENT_ID, sub: 'probe@example.com', email: 'probe@example.com', iat: now(), exp: now() + 60,
  });
  const worker = agent.currentWorker();
  const overlap = await relayClient(worker, { url: relay.ws, token: probe('k1') });
  assert.equal(overlap.frames[0]?.type, 'welcome', 'while both keys are published, K1 still verifies');

  // Phase 3: K1 is retired.
  op.useKeys(['k2']);
  const fourth = await nextToken(third);
  assert.equal(jwt(fourth).header.kid, 'k2');
  const retired = await relayClient(worker, { url: relay.ws, token: probe('k1') });
  assert.ok(!retired.frames.some((f) => f.type === 'welcome'), JSON.stringify(retired.frames));
  assert.equal(retired.close.code, 4100, 'a token signed by the retired key is refused: do not reconnect');
  const current = await relayClient(worker, { url: relay.ws, token: probe('k2') });
  assert.equal(current.frames[0]?.type, 'welcome', 'the same claims signed by the current key verify');
  assert.equal(await metric(relay, 'sidecar_auth_failures_total'), failures + 1, 'only the retired key was refused');

  // Past the first token's expiry and the relay's 30 s leeway, the relay would have closed a
  // connection that still held it: the renewed tokens were taken over the same connection.
  await sleep(Math.max(0, firstExpiry + 32000 - Date.now()));
  await online(A.panel);
  assert.deepEqual(await frame.evaluate(() => window.statusLog), ['Connected'], 'the panel never left Connected');
});

test('sign-out holds across a worker restart, and the next sign-in authenticates again, as someone else', async () => {
  await A.panel.getByRole('button', { name: 'Sign out' }).click();
  await status('Signed out').waitFor();
  await A.panel.getByText('Alice Example', { exact: true }).waitFor({ state: 'detached' });
  assert.equal(await storedToken(), undefined, 'the session is forgotten');
  const asked = op.authorizations.length;

  // Chrome stops the worker; the panel wakes a new one.
  await agent.currentWorker().evaluate(() => { globalThis.sidecarMarker = 1; });
  await agent.stopWorker(A.page);
  await waitFor(async () => (await agent.currentWorker()?.evaluate(() => globalThis.sidecarMarker)) === undefined, 'a new worker');
  await sleep(3000);
  await status('Signed out').waitFor();
  assert.equal(op.authorizations.length, asked, 'the restarted worker did not try to sign in, not even silently');
  const flag = await agent.currentWorker().evaluate(async () => (await chrome.storage.local.get('signed_out')).signed_out);
  assert.equal(flag, true);

  // The provider still has alice's session, yet it asks for a login: sam signs in at her desk.
  const request = await signInOnProviderPage('sam', 'sam-password');
  assert.equal(request.prompt, 'login');
  await online(A.panel);
  await A.panel.getByText('Sam Supervisor', { exact: true }).waitFor();
  const { claims } = jwt(await storedToken());
  assert.equal(claims.email, 'sam@example.com');
  assert.deepEqual(claims.groups, ['agents', 'supervisors']);
  assert.equal(await agent.currentWorker().evaluate(async () => (await chrome.storage.local.get('signed_out')).signed_out), undefined);
  // The CCP is still logged in as alice: said plainly, and nothing is published as sam.
  await A.panel.getByRole('alert')
    .filter({ hasText: 'Signed in as sam@example.com, but this CCP is logged in as Connect user alice.' }).waitFor();
  await A.page.evaluate(() => window.ccpSim.setState('Break'));
  await sleep(1500);
  assert.equal(await A.panel.getByLabel(/^My state: (Available|Break)/).count(), 0, 'sam has no state from alice\'s CCP');
});
