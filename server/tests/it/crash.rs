//! SIGKILL during a chat storm: every acknowledged message is in history afterwards, once.

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_sigkill_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_ccp-sidecar-relay"));
    let report = loadgen::crash::run(binary, dir.path(), 4, Duration::from_millis(1500)).await.unwrap();
    assert!(report.acked_before_kill > 100, "the storm was too small to prove anything: {report:?}");
    assert_eq!((report.lost, report.duplicated, report.gaps), (0, 0, 0), "{report:?}");
    assert_eq!(
        report.in_history,
        report.acked_before_kill + report.resent,
        "every message sent is stored once: {report:?}"
    );
    println!("{report:?}");
}
