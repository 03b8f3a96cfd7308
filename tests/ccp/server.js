// The CCP simulator's HTTPS server: serves the simulated CCP page (which loads the real
// amazon-connect-streams library) at every CCP URL form, under the page's own strict CSP, with a
// self-signed certificate made by openssl. A development and test tool; never part of the relay.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const streams = join(here, '..', 'node_modules', 'amazon-connect-streams', 'release', 'connect-streams-min.js');

function certificate() {
  const dir = mkdtempSync(join(tmpdir(), 'ccp-sim-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=ccp-sim',
      '-addext', 'subjectAltName=DNS:*.my.connect.aws,DNS:*.awsapps.com,DNS:*.example.com',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CCP_PATHS = [/^\/ccp-v2(\/|$)/, /^\/connect\/ccp-v2(\/|$)/, /^\/agent-app-v2(\/|$)/, /^\/connect\/agent-app-v2(\/|$)/];
const FILES = { 'sim.js': 'text/javascript', 'sim.css': 'text/css' };
// The stock CCP's policy, as seen in the wild: scripts only from its own origin. Requests may also
// go to loopback, where the tests' Connect stand-in answers the simulator's monitor polls.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self' http://127.0.0.1:* http://localhost:*";

/** Starts the simulator on 127.0.0.1:`port` (0 picks one); resolves to {port, close}. */
export function startSimulator(port = 0) {
  const page = readFileSync(join(here, 'index.html'));
  const server = createServer(certificate(), (req, res) => {
    const url = new URL(req.url, 'https://sim');
    const file = url.pathname.split('/').pop();
    if (url.pathname === '/streams/connect-streams.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'max-age=3600' });
      return res.end(readFileSync(streams));
    }
    if (url.pathname.startsWith('/sim/') && FILES[file]) {
      res.writeHead(200, { 'content-type': FILES[file] });
      return res.end(readFileSync(join(here, file)));
    }
    // Every CCP URL form gets the simulated CCP; so do /other/ and /ccp-v2-other (pages that
    // are not the CCP, where the extension must not appear).
    if (CCP_PATHS.some((p) => p.test(url.pathname)) || /^\/(other|ccp-v2-other|connect\/ccp-v2-other)/.test(url.pathname)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CSP });
      return res.end(page);
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => resolve({ port: server.address().port, close: () => server.close() }));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] || 8443);
  startSimulator(port).then((s) => console.log(`ccp-sim listening on https://127.0.0.1:${s.port} (map *.my.connect.aws to it)`));
}
