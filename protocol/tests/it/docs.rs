//! Every example in `docs/protocol.md` decodes as the direction it is labelled with, and every
//! frame type has an example there.

use std::collections::BTreeSet;

use protocol::{decode_client, decode_server};

#[test]
fn every_documented_example_decodes_and_every_frame_is_documented() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md")).expect("docs/protocol.md");
    let mut client = BTreeSet::new();
    let mut server = BTreeSet::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let direction = match line.trim() {
            "```json client" => "client",
            "```json server" => "server",
            _ => continue,
        };
        let body: String = lines.by_ref().take_while(|l| l.trim() != "```").collect::<Vec<_>>().join("\n");
        let value: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("example is not JSON ({e}):\n{body}"));
        let kind = value["type"].as_str().unwrap_or_default().to_owned();
        if direction == "client" {
            decode_client(&body).unwrap_or_else(|e| panic!("client example ({e}):\n{body}"));
            client.insert(kind);
        } else {
            decode_server(&body).unwrap_or_else(|e| panic!("server example ({e}):\n{body}"));
            server.insert(kind);
        }
    }
    assert_eq!(client.len(), 19, "client frames documented: {client:?}");
    assert_eq!(server.len(), 17, "server frames documented: {server:?}");
}
