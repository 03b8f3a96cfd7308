//! The store conformance suite against SQLite, and durability across reopening.

use std::sync::Arc;

use server::store::{NewMessage, SqliteStore, Store, conformance};

#[tokio::test]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run(Arc::new(SqliteStore::open(dir.path()).unwrap())).await;
}

#[tokio::test]
async fn acknowledged_appends_are_there_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        for i in 0..50 {
            let m = NewMessage {
                from: "a".into(),
                to: "b".into(),
                client_id: format!("{i}"),
                text: "x".into(),
                sent_at: 1,
            };
            store.append_message(m).await.unwrap();
        }
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.messages_after("a", "b", 0, 100).await.unwrap().len(), 50);
    let m = NewMessage { from: "a".into(), to: "b".into(), client_id: "0".into(), text: "x".into(), sent_at: 1 };
    assert!(store.append_message(m).await.unwrap().duplicate, "dedup survives reopening");
}

#[test]
fn an_unwritable_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let err = SqliteStore::open(&file.join("data")).err().expect("refused");
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}
