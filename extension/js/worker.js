// CCP Sidecar: the service worker's loader. Chrome's listeners are registered synchronously
// here, as Manifest V3 requires; everything else is the Rust module (pkg/worker.js).
import init, { start, connect_port, reconfigure, command, action, notification_clicked, update_available } from './pkg/worker.js';

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

// The toolbar action: a supervisor's full-tab floor, an agent's dock.
chrome.action.onClicked.addListener(() => { ready.then(() => action()); });
chrome.notifications.onClicked.addListener((id) => { ready.then(() => notification_clicked(id)); });
// A new version from the organisation's update URL: the worker reloads into it when no CCP tab
// has a contact (a listener here means Chrome waits for that instead of an idle worker).
chrome.runtime.onUpdateAvailable.addListener(() => { ready.then(() => update_available()); });
// Started with the browser, the worker signs in and connects, so a supervisor's alerts notify
// before any CCP tab or floor is open (presence still follows the CCP alone).
chrome.runtime.onStartup.addListener(() => {});
