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

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[tokio::test]
async fn who_is_logged_in_now_is_read_in_filters_and_pages_of_a_hundred() {
    use connect_fake::{AgentNow, ContactNow};
    // 250 agents over 150 routing profiles (agent i in profile i % 150): the first filter's 100
    // profiles hold 200 agents (two pages), the second's 50 hold 50 (one page).
    let shape = Shape { users: 250, queues: 6, numbers: 4, profiles: 150, queues_per_profile: 3 };
    let fake = FakeConnect::start(shape, quick()).await.unwrap();
    let since = now_ms() - 90_000;
    for user in 0..250 {
        let contacts = if user == 7 {
            vec![ContactNow { contact_id: "c-7".into(), state: "CONNECTED".into(), since_ms: since + 30_000 }]
        } else {
            Vec::new()
        };
        let status = if user % 3 == 0 { "Available" } else { "管理業務中" };
        fake.set_agent(AgentNow { user, status: status.into(), since_ms: since, contacts });
    }
    let connect = connect(&fake, 50.0, 10);
    let profiles: Vec<String> = (0..150).map(|i| format!("rp-{i:04}")).collect();
    let agents = connect.current_agents(&profiles).await.unwrap();
    assert_eq!(agents.len(), 250);
    let log = fake.log();
    assert_eq!(log.iter().filter(|l| l.operation == "GetCurrentUserData").count(), 3, "two filters, three pages");
    let seven = agents.iter().find(|a| a.user_id == "u-000007").unwrap();
    assert_eq!(
        (seven.status.as_str(), seven.since_ms, seven.routing_profile.as_deref()),
        ("管理業務中", since, Some("rp-0007"))
    );
    assert_eq!(seven.contacts.len(), 1);
    assert_eq!((seven.contacts[0].contact_id.as_str(), seven.contacts[0].state.as_str()), ("c-7", "CONNECTED"));
    assert_eq!(seven.contacts[0].channel, "VOICE");
    assert_eq!(seven.contacts[0].since_ms, since + 30_000);
    // An agent who logs out is no longer listed; profiles nobody asked for are not read.
    fake.remove_agent(7);
    let some = connect.current_agents(&profiles[..10]).await.unwrap();
    assert!(some.iter().all(|a| a.user_id != "u-000007"));
    assert_eq!(some.len(), 2 * 10 - 1, "profiles 0-9 hold agents 0-9 and 150-159, 7 gone");
}

#[tokio::test]
async fn a_supervisor_listens_in_and_sets_an_agents_status() {
    use connect_fake::{AgentNow, ContactNow, Monitor};
    let fake = FakeConnect::start(Shape::small(), quick()).await.unwrap();
    let contact = ContactNow { contact_id: "c-7".into(), state: "CONNECTED".into(), since_ms: now_ms() };
    fake.set_agent(AgentNow { user: 7, status: "Available".into(), since_ms: now_ms(), contacts: vec![contact] });
    let connect = connect(&fake, 50.0, 10);
    let monitoring = connect.monitor_contact("c-7", "u-000003", true).await.unwrap();
    assert_eq!(monitoring, "monitor-c-7");
    let expected = Monitor {
        contact_id: "c-7".into(),
        user_id: "u-000003".into(),
        capabilities: vec!["SILENT_MONITOR".into(), "BARGE".into()],
    };
    assert_eq!(fake.monitors(), vec![expected]);
    // A contact that is not in progress: Connect's words, and nothing monitored.
    let refused = connect.monitor_contact("c-8", "u-000003", false).await.unwrap_err();
    assert!(refused.detail.contains("not in progress"), "{refused}");
    assert_eq!(fake.monitors().len(), 1);

    // Taking a stuck agent out of Available: status st-3 is "Break".
    connect.put_user_status("u-000007", "st-3").await.unwrap();
    assert_eq!(fake.agent(7).unwrap().status, "Break");
    let refused = connect.put_user_status("u-000008", "st-3").await.unwrap_err();
    assert!(refused.detail.contains("not logged in"), "{refused}");
}
