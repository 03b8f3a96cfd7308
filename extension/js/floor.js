// CCP Sidecar: the full-tab floor's loader (the page is the Rust module pkg/extension.js).
import init, { run_floor } from './pkg/extension.js';

init({ module_or_path: './pkg/extension_bg.wasm' }).then(() => run_floor());
