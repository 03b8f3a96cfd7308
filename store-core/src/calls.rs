//! Outbound call history: how a reported step of a call changes its record.
//!
//! The extension reports each step of an outbound call as Streams sees it (dialling, connected,
//! ended, failed). Reports may repeat (the worker resends what it is not sure was stored) and
//! may arrive out of order (a reconnect in between), so [`advance`] is idempotent and never
//! moves a call back from an end state.

use protocol::{CallEvent, CallOutcome, CallPhase, CallRecord, Millis};

/// A call as the store keeps it: the record the agent reads and when the customer answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCall {
    pub record: CallRecord,
    pub connected_at: Option<Millis>,
}

/// Applies one report to the call it belongs to (`None` for a call not seen before).
/// `caller_id` is the number of the queue's caller ID, resolved by the relay.
pub fn advance(stored: Option<StoredCall>, event: &CallEvent, caller_id: Option<String>) -> StoredCall {
    let mut call = stored.unwrap_or_else(|| StoredCall {
        record: CallRecord {
            contact_id: event.contact_id.clone(),
            number: event.number.clone(),
            queue_arn: event.queue_arn.clone(),
            caller_id: caller_id.clone(),
            started_at: event.at,
            duration_s: None,
            outcome: CallOutcome::InProgress,
        },
        connected_at: None,
    });
    let record = &mut call.record;
    record.started_at = record.started_at.min(event.at);
    if record.queue_arn.is_none() {
        record.queue_arn.clone_from(&event.queue_arn);
    }
    if record.caller_id.is_none() {
        record.caller_id = caller_id;
    }
    let ended = record.outcome != CallOutcome::InProgress;
    match event.phase {
        CallPhase::Dialling => {}
        CallPhase::Connected if !ended => {
            call.connected_at = Some(call.connected_at.map_or(event.at, |c| c.min(event.at)))
        }
        CallPhase::Connected => {}
        CallPhase::Ended if !ended => {
            record.outcome = match call.connected_at {
                Some(connected) => {
                    record.duration_s = Some(u32::try_from((event.at - connected).max(0) / 1000).unwrap_or(u32::MAX));
                    CallOutcome::Answered
                }
                None => CallOutcome::NotAnswered,
            };
        }
        CallPhase::Ended => {}
        CallPhase::Failed if !ended => record.outcome = CallOutcome::Failed,
        CallPhase::Failed => {}
    }
    call
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(phase: CallPhase, at: Millis) -> CallEvent {
        CallEvent {
            contact_id: "c-1".into(),
            number: "+81312345678".into(),
            queue_arn: Some("arn:q".into()),
            phase,
            at,
        }
    }

    fn run(steps: &[(CallPhase, Millis)]) -> StoredCall {
        let mut call = None;
        for (phase, at) in steps {
            call = Some(advance(call, &event(*phase, *at), Some("+81300000000".into())));
        }
        call.unwrap()
    }

    #[test]
    fn an_answered_call_has_its_talk_time() {
        let call = run(&[(CallPhase::Dialling, 1_000), (CallPhase::Connected, 5_000), (CallPhase::Ended, 65_500)]);
        assert_eq!(call.record.outcome, CallOutcome::Answered);
        assert_eq!(call.record.duration_s, Some(60));
        assert_eq!(call.record.started_at, 1_000);
        assert_eq!(call.record.caller_id.as_deref(), Some("+81300000000"));
    }

    #[test]
    fn ended_without_an_answer_is_not_answered() {
        let call = run(&[(CallPhase::Dialling, 1_000), (CallPhase::Ended, 20_000)]);
        assert_eq!((call.record.outcome, call.record.duration_s), (CallOutcome::NotAnswered, None));
    }

    #[test]
    fn repeats_and_late_reports_change_nothing() {
        let once = run(&[(CallPhase::Dialling, 1_000), (CallPhase::Connected, 2_000), (CallPhase::Ended, 12_000)]);
        let again = run(&[
            (CallPhase::Dialling, 1_000),
            (CallPhase::Connected, 2_000),
            (CallPhase::Connected, 2_000),
            (CallPhase::Ended, 12_000),
            (CallPhase::Ended, 12_000),
            (CallPhase::Failed, 13_000),
            (CallPhase::Dialling, 1_000),
        ]);
        assert_eq!(once, again);
    }

    #[test]
    fn a_refused_call_failed() {
        let call = run(&[(CallPhase::Failed, 1_000), (CallPhase::Ended, 2_000)]);
        assert_eq!(call.record.outcome, CallOutcome::Failed);
    }
}
