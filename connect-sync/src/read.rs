//! One full read of the directory: five paginated operations, each at its largest page size,
//! so the number of calls depends on the size of the instance, never on who is online.

use std::future::Future;

use aws_sdk_connect::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_connect::types::{QueueSearchCriteria, SearchableQueueType};

use crate::client::Connect;
use crate::{Snapshot, SyncError, join};

/// The largest page each operation allows.
pub const USERS_PAGE: i32 = 500;
pub const QUEUES_PAGE: i32 = 100;
pub const PROFILES_PAGE: i32 = 100;
pub const NUMBERS_PAGE: i32 = 1000;
pub const STATUSES_PAGE: i32 = 1000;
/// A next-token loop longer than this is a fault on the other side, not a directory.
const MAX_PAGES: usize = 10_000;

type HttpResponse = aws_sdk_connect::config::http::HttpResponse;

impl Connect {
    /// Reads users, agent statuses, queues with their outbound caller config, phone numbers and
    /// routing profiles, and joins them into a [`Snapshot`].
    pub async fn read(&self) -> Result<Snapshot, SyncError> {
        let calls_before = self.calls();
        let id = self.instance_id.clone();
        let c = self.client();
        let users = self
            .all(
                "SearchUsers",
                |token| c.search_users().instance_id(&id).max_results(USERS_PAGE).set_next_token(token).send(),
                |page| (page.users.unwrap_or_default(), page.next_token),
            )
            .await?;
        let statuses = self.status_summaries().await?;
        let standard = QueueSearchCriteria::builder().queue_type_condition(SearchableQueueType::Standard).build();
        let queues = self
            .all(
                "SearchQueues",
                |token| {
                    c.search_queues()
                        .instance_id(&id)
                        .search_criteria(standard.clone())
                        .max_results(QUEUES_PAGE)
                        .set_next_token(token)
                        .send()
                },
                |page| (page.queues.unwrap_or_default(), page.next_token),
            )
            .await?;
        let numbers = self
            .all(
                "ListPhoneNumbersV2",
                |token| {
                    c.list_phone_numbers_v2().instance_id(&id).max_results(NUMBERS_PAGE).set_next_token(token).send()
                },
                |page| (page.list_phone_numbers_summary_list.unwrap_or_default(), page.next_token),
            )
            .await?;
        let profiles = self
            .all(
                "SearchRoutingProfiles",
                |token| {
                    c.search_routing_profiles().instance_id(&id).max_results(PROFILES_PAGE).set_next_token(token).send()
                },
                |page| (page.routing_profiles.unwrap_or_default(), page.next_token),
            )
            .await?;
        Ok(Snapshot {
            users: join::users(&users),
            routing_profiles: join::routing_profiles(&profiles, &queues, &numbers),
            agent_statuses: join::agent_statuses(&statuses),
            queues: queues.len(),
            numbers: numbers.len(),
            calls: self.calls() - calls_before,
        })
    }

    /// The agent statuses the instance defines (one call for up to 1,000), for a relay that reads
    /// real-time data without syncing the directory.
    pub async fn agent_statuses(&self) -> Result<Vec<crate::AgentStatus>, SyncError> {
        Ok(join::agent_statuses(&self.status_summaries().await?))
    }

    async fn status_summaries(&self) -> Result<Vec<aws_sdk_connect::types::AgentStatusSummary>, SyncError> {
        let id = self.instance_id.clone();
        let c = self.client();
        self.all(
            "ListAgentStatuses",
            |token| c.list_agent_statuses().instance_id(&id).max_results(STATUSES_PAGE).set_next_token(token).send(),
            |page| (page.agent_status_summary_list.unwrap_or_default(), page.next_token),
        )
        .await
    }

    /// Every item of a paginated operation.
    pub(crate) async fn all<P, T, E, Fut>(
        &self,
        operation: &'static str,
        send: impl Fn(Option<String>) -> Fut,
        split: impl Fn(P) -> (Vec<T>, Option<String>),
    ) -> Result<Vec<T>, SyncError>
    where
        Fut: Future<Output = Result<P, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut items = Vec::new();
        let mut token = None;
        for _ in 0..MAX_PAGES {
            let page = self.call(operation, || send(token.clone())).await?;
            let (page, next) = split(page);
            items.extend(page);
            match next {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => return Ok(items),
            }
        }
        Err(SyncError { operation, attempts: 1, detail: format!("more than {MAX_PAGES} pages") })
    }
}
