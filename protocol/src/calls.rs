//! Outbound call history: what the extension reports from Streams contact events and what
//! `GET /api/v1/calls` answers. Each agent reads only their own history.

use serde::{Deserialize, Serialize};

use crate::Millis;

/// The most characters a contact id, number or queue ARN may have in a report.
pub const MAX_CALL_FIELD: usize = 256;

/// A step of an outbound call, as Streams reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPhase {
    /// The contact exists and the customer's phone is ringing.
    Dialling,
    /// The customer answered.
    Connected,
    /// The call ended (after connecting or not).
    Ended,
    /// Connect could not place the call.
    Failed,
}

/// One report of an outbound call's progress (`report_call` frame).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallEvent {
    pub contact_id: String,
    /// The customer's number as dialled (E.164).
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_arn: Option<String>,
    pub phase: CallPhase,
    pub at: Millis,
}

impl CallEvent {
    pub fn validate(&self) -> Result<(), String> {
        let fields = [Some(&self.contact_id), Some(&self.number), self.queue_arn.as_ref()];
        if fields.into_iter().flatten().any(|f| f.len() > MAX_CALL_FIELD) {
            return Err(format!("a call field is longer than {MAX_CALL_FIELD} bytes"));
        }
        if self.contact_id.is_empty() || self.number.is_empty() {
            return Err("contact_id and number must not be empty".into());
        }
        Ok(())
    }
}

/// How an outbound call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// Still dialling or talking.
    InProgress,
    Answered,
    /// Ended before the customer answered.
    NotAnswered,
    Failed,
}

/// One outbound call in an agent's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRecord {
    pub contact_id: String,
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_arn: Option<String>,
    /// The caller ID the customer saw (E.164), from the queue, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    pub started_at: Millis,
    /// Seconds from answer to hang-up; absent until the call ends or when it was not answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
    pub outcome: CallOutcome,
}

/// The answer to `GET /api/v1/calls?before=&limit=`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallPage {
    pub calls: Vec<CallRecord>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<Millis>,
}
