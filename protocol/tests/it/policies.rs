//! The policy templates in `manifest/policies/` (Linux JSON, Windows `.reg`, macOS
//! `.mobileconfig`, the Google Admin console's JSON) are read as Chrome and the consoles read
//! them, and say the same thing: the extension force-installed from the organisation's update URL,
//! pinned, allowed on the CCP's hosts, and one configuration that the managed-storage schema
//! describes and the extension decodes.

use protocol::config::Settings;
use serde_json::Value;

const ID: &str = "goibjmhfiabeppgigcbjfjgoghionflh";

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../manifest/policies/{name}", env!("CARGO_MANIFEST_DIR"))).expect(name)
}

fn schema() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../manifest/schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Whether `value` is one the schema node allows (types, known properties, items).
fn conforms(value: &Value, node: &Value, path: &str) {
    let kind = node["type"].as_str().unwrap();
    let ok = match kind {
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    };
    assert!(ok, "{path}: {value} is not a {kind}");
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            conforms(item, &node["items"], &format!("{path}[{i}]"));
        }
    }
    if let Some(object) = value.as_object() {
        for (key, item) in object {
            let child = match &node["properties"][key] {
                Value::Null => &node["additionalProperties"],
                child => child,
            };
            assert!(!child.is_null(), "{path}: the schema has no {key:?}");
            conforms(item, child, &format!("{path}.{key}"));
        }
    }
}

/// The Linux template's two parts: `ExtensionSettings` and the extension's configuration.
fn linux() -> (Value, Value) {
    let policy: Value = serde_json::from_slice(&read("linux-chromium.json")).unwrap();
    (policy["ExtensionSettings"].clone(), policy["3rdparty"]["extensions"][ID].clone())
}

#[test]
fn the_linux_template_force_installs_pins_and_configures() {
    let (install, config) = linux();
    let entry = &install[ID];
    assert_eq!(entry["installation_mode"], "force_installed");
    assert!(entry["update_url"].as_str().unwrap().ends_with("/extension/updates.xml"));
    assert_eq!(entry["override_update_url"], true, "updates follow the organisation's URL");
    assert_eq!(entry["toolbar_pin"], "force_pinned");
    let hosts: Vec<&str> =
        entry["runtime_allowed_hosts"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
    assert!(hosts.contains(&"https://*.my.connect.aws"));
    conforms(&config, &schema(), "3rdparty");
    let settings: Settings = serde_json::from_value(config).unwrap();
    assert!(settings.relay_url.is_some() && settings.issuer.is_some() && settings.client_id.is_some());
    assert!(settings.alerts.is_some() && settings.help_reasons.is_some(), "a bad value would read as missing");
}

/// A `.reg` file's values by key: UTF-16 with a BOM, `[key]` lines, `"name"="value"` with `\\`
/// and `\"` escapes.
fn registry(bytes: &[u8]) -> Vec<(String, String, String)> {
    assert_eq!(&bytes[..2], &[0xFF, 0xFE], "regedit reads UTF-16LE with a byte-order mark");
    let units: Vec<u16> = bytes[2..].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let text = String::from_utf16(&units).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Windows Registry Editor Version 5.00"));
    let (mut key, mut values) = (String::new(), Vec::new());
    for line in lines.map(str::trim).filter(|l| !l.is_empty() && !l.starts_with(';')) {
        if let Some(k) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            key = k.to_owned();
            continue;
        }
        let (name, value) = line.split_once("\"=\"").unwrap_or_else(|| panic!("not a string value: {line}"));
        let unescape = |s: &str| s.replace("\\\"", "\"").replace("\\\\", "\\");
        let value = value.strip_suffix('"').unwrap();
        values.push((key.clone(), unescape(name.trim_start_matches('"')), unescape(value)));
    }
    values
}

#[test]
fn the_windows_template_says_what_the_linux_one_does() {
    let values = registry(&read("windows-chrome.reg"));
    let (install, config) = linux();
    let chrome = r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Google\Chrome";
    let settings = values.iter().find(|(k, n, _)| k == chrome && n == "ExtensionSettings").expect("ExtensionSettings");
    assert_eq!(serde_json::from_str::<Value>(&settings.2).unwrap(), install);
    // Chrome reads a string where the schema wants an object or a list as JSON.
    let policy = format!(r"{chrome}\3rdparty\extensions\{ID}\policy");
    let schema = schema();
    let read: serde_json::Map<String, Value> = values
        .iter()
        .filter(|(k, _, _)| *k == policy)
        .map(|(_, name, value)| {
            let value = match schema["properties"][name]["type"].as_str() {
                Some("object" | "array" | "number" | "boolean") => serde_json::from_str(value).unwrap(),
                _ => Value::String(value.clone()),
            };
            (name.clone(), value)
        })
        .collect();
    assert_eq!(Value::Object(read), config);
}

#[test]
fn the_macos_profile_says_what_the_linux_one_does() {
    let profile: Value = plist::from_bytes(&read("macos-chrome.mobileconfig")).unwrap();
    assert_eq!(profile["PayloadType"], "Configuration");
    let payloads = profile["PayloadContent"].as_array().unwrap();
    let payload = |kind: &str| payloads.iter().find(|p| p["PayloadType"] == kind).unwrap_or_else(|| panic!("{kind}"));
    let (install, config) = linux();
    assert_eq!(payload("com.google.Chrome")["ExtensionSettings"], install);
    let mut own = payload(&format!("com.google.Chrome.extensions.{ID}")).as_object().unwrap().clone();
    own.retain(|k, _| !k.starts_with("Payload"));
    assert_eq!(Value::Object(own), config);
    let mut uuids: Vec<&str> = payloads.iter().chain([&profile]).map(|p| p["PayloadUUID"].as_str().unwrap()).collect();
    uuids.dedup();
    assert_eq!(uuids.len(), 3, "every payload has its own UUID");
}

#[test]
fn the_admin_console_template_says_what_the_linux_one_does() {
    let admin: serde_json::Map<String, Value> = serde_json::from_slice(&read("google-admin-console.json")).unwrap();
    let unwrapped: serde_json::Map<String, Value> = admin.into_iter().map(|(k, v)| (k, v["Value"].clone())).collect();
    assert_eq!(Value::Object(unwrapped), linux().1, "each setting as {{\"Value\": ...}}");
}
