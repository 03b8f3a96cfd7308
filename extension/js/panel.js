// CCP Sidecar: the panel's loader (the UI is the Rust module pkg/extension.js).
import init, { run } from './pkg/extension.js';

init({ module_or_path: './pkg/extension_bg.wasm' }).then(() => run());
