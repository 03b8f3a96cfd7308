// CCP Sidecar: the service worker's loader. Chrome's listeners are registered synchronously
// here, as Manifest V3 requires; everything else is the Rust module (pkg/worker.js).
import init, { start, connect_port, reconfigure, command } from './pkg/worker.js';

const ready = init({ module_or_path: './pkg/worker_bg.wasm' }).then(() => start());

chrome.runtime.onConnect.addListener((port) => {
  // Messages that arrive before the module is ready are kept and handed over with the port.
  const early = [];
  const keep = (m) => early.push(m);
  port.onMessage.addListener(keep);
  ready.then(() => {
    port.onMessage.removeListener(keep);
    connect_port(port, early);
  });
});

chrome.storage.onChanged.addListener((changes, area) => {
  if (area === 'managed' || (area === 'local' && 'options' in changes)) ready.then(() => reconfigure());
});

// The dock's keyboard shortcut (manifest "commands"). The end-to-end tests call the same function
// through `self.sidecarCommand`, since a headless browser does not deliver extension shortcuts.
const onCommand = (name) => { ready.then(() => command(name)); };
chrome.commands.onCommand.addListener(onCommand);
self.sidecarCommand = onCommand;
