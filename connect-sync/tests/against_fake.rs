//! The real AWS SDK against the local fake of the Connect API: pagination, the join of queues
//! to caller-ID numbers, retries of throttling and server errors, failures that no retry fixes,
//! and the rate limit as the fake's request log shows it.

use aws_sdk_connect::config::{BehaviorVersion, Credentials, Region};
use connect_fake::{Behaviour, FakeConnect, INSTANCE_ID, Shape, max_burst, max_rate};
use connect_sync::{Connect, Settings};

fn connect(fake: &FakeConnect, rate: f64, burst: u32) -> Connect {
    let sdk = aws_sdk_connect::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("ap-northeast-1"))
        .credentials_provider(Credentials::new("AKIDFAKE", "fake-secret", None, None, "test"));
    let settings = Settings { endpoint: Some(fake.url.clone()), rate, burst, ..Settings::new(INSTANCE_ID) };
    Connect::with_config(sdk, &settings)
}

fn quick() -> Behaviour {
    Behaviour { quota: Some((50.0, 10)), ..Behaviour::default() }
}

#[tokio::test]
async fn reads_and_joins_a_small_instance() {
    let fake = FakeConnect::start(Shape::small(), quick()).await.unwrap();
    let snapshot = connect(&fake, 50.0, 10).read().await.unwrap();
    assert_eq!(snapshot.users.len(), 12);
    let user = snapshot.users.iter().find(|u| u.id == "agent00001@example.com").unwrap();
    assert_eq!(user.display_name, "健二 鈴木");
    assert_eq!(user.routing_profile.as_deref(), Some("rp-0001"));
    assert_eq!(snapshot.agent_statuses.len(), 6);
    assert!(snapshot.agent_statuses.iter().any(|s| s.name == "管理業務中" && s.kind.as_deref() == Some("CUSTOM")));
    assert_eq!((snapshot.queues, snapshot.numbers), (6, 4));

    // Profile 1 has queues 3, 4, 5: queue 3 has no caller ID; 4 names its number by id, 5 by ARN.
    let profile = snapshot.routing_profiles.iter().find(|p| p.id == "rp-0001").unwrap();
    let numbers: Vec<_> = profile.caller_ids.iter().map(|c| (c.queue_name.as_str(), c.number.as_str())).collect();
    assert_eq!(numbers, [("Osaka Support 5", "+81351000001"), ("東京 営業 4", "+81351000000")]);
    assert_eq!(profile.caller_ids[0].name.as_deref(), Some("Example Corp 5"));
    assert!(profile.default_queue_arn.as_deref().unwrap().ends_with("/queue/q-00003"));
    // One page per operation.
    assert_eq!(snapshot.calls, 5);
    assert_eq!(fake.log().len(), 5);
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_through_the_bucket() {
    let behaviour = Behaviour { throttle_first: 3, fail_first: 2, ..quick() };
    let fake = FakeConnect::start(Shape::small(), behaviour).await.unwrap();
    let connect = connect(&fake, 50.0, 10);
    let snapshot = connect.read().await.unwrap();
    assert_eq!(snapshot.users.len(), 12);
    let log = fake.log();
    let statuses: Vec<u16> = log.iter().map(|l| l.status).collect();
    assert_eq!(&statuses[..5], [429, 429, 429, 500, 500]);
    assert_eq!(log.len(), 10, "five refusals, then one call per operation");
    assert_eq!((snapshot.calls, connect.retries()), (10, 5));
    // The retries backed off: 0.5 s at least before the first retry's successor.
    assert!(log[5].at - log[0].at >= std::time::Duration::from_millis(250 * 5));
}

#[tokio::test]
async fn a_refused_request_fails_the_read_without_retrying() {
    let behaviour = Behaviour { broken_operation: Some("SearchQueues"), ..quick() };
    let fake = FakeConnect::start(Shape::small(), behaviour).await.unwrap();
    let error = connect(&fake, 50.0, 10).read().await.unwrap_err();
    assert_eq!((error.operation, error.attempts), ("SearchQueues", 1));
    assert!(error.to_string().contains("InvalidRequestException"), "{error}");
    assert_eq!(fake.log().iter().filter(|l| l.operation == "SearchQueues").count(), 1);
}

#[tokio::test]
async fn ten_thousand_users_at_connects_default_quota() {
    let shape = Shape { users: 10_000, queues: 300, numbers: 200, profiles: 120, queues_per_profile: 4 };
    let fake = FakeConnect::start(shape, Behaviour::default()).await.unwrap();
    let snapshot = connect(&fake, 2.0, 5).read().await.unwrap();
    assert_eq!(snapshot.users.len(), 10_000);
    assert_eq!(snapshot.routing_profiles.len(), 120);
    assert!(snapshot.routing_profiles.iter().all(|p| !p.caller_ids.is_empty()));
    // The fewest calls the page sizes allow: 20 + 1 + 3 + 1 + 2.
    assert_eq!(snapshot.calls, 27);
    let log = fake.log();
    assert!(log.iter().all(|l| l.status == 200), "the quota was never exceeded");
    assert!(max_burst(&log, 2.0) <= 5, "burst {}", max_burst(&log, 2.0));
    assert!(max_rate(&log, 5) <= 2.0, "rate {}", max_rate(&log, 5));
}
