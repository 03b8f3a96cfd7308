//! Decisions about the link to the relay, as plain Rust (host-tested): how long to wait before
//! trying again, what a close code means to the agent, and what follows a failed sign-in.
//!
//! The runtime performs them: it sets the timers and shows the [`Connection`] returned here.

use protocol::panel::{Connection, Problem};
use protocol::{CloseCode, Millis};

use crate::auth::Prompt;

/// The longest wait between two attempts.
const MAX_BACKOFF_MS: u64 = 30_000;

/// The wait before attempt `attempt` (1 for the first retry): exponential from 1 s to 30 s, the
/// upper half of it drawn at random (`jitter` in 0..1) so a relay restart is not met by every
/// agent at the same instant.
pub fn backoff_ms(attempt: u32, jitter: f64) -> u32 {
    let base = (500u64 << attempt.clamp(1, 6)).min(MAX_BACKOFF_MS);
    let jitter = jitter.clamp(0.0, 1.0);
    (base / 2 + (base as f64 / 2.0 * jitter) as u64) as u32
}

/// What a close with `code` (and no sign-in to redo) means for the agent, and whether to retry.
pub fn after_close(code: u16) -> (Problem, bool) {
    match CloseCode::from_code(code) {
        Some(CloseCode::Restarting) => (Problem::Restarting, true),
        // Whether to come back is the close code's own (`CloseCode::reconnect`).
        Some(c) if c.reconnect() => (Problem::Dropped, true),
        Some(CloseCode::Replaced) => (Problem::Replaced, false),
        Some(CloseCode::Unauthenticated) => (Problem::Refused, false),
        Some(_) => (Problem::Incompatible, false),
        // The standard codes: 1001 going away and 1012 service restart are a restart; 1006 (no
        // close frame: the relay was never reached, or went away) and the rest, unreachable.
        None if matches!(code, 1001 | 1012) => (Problem::Restarting, true),
        None => (Problem::Unreachable, true),
    }
}

/// Why a sign-in gave no session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInError {
    /// The issuer (for the development issuer: the relay) could not be reached, or answered
    /// with a server error: nothing about the person is known yet. Worth trying again.
    Unreachable(String),
    /// The issuer answered and said no, or the person closed the window, or a silent sign-in
    /// needs the person. Trying again by itself would not help.
    Refused(String),
}

impl SignInError {
    pub fn detail(&self) -> &str {
        match self {
            Self::Unreachable(d) | Self::Refused(d) => d,
        }
    }
}

/// A sign-in to try again by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub wait_ms: u32,
    /// The failed attempt's own: a sign-in the person asked for (after a sign-out, say) is not
    /// turned into a silent one, which a sign-out forbids.
    pub prompt: Prompt,
}

/// What the panel shows after a failed sign-in, and whether to try again by itself (`None`:
/// only the person's click signs in).
pub fn after_sign_in_failure(
    error: &SignInError,
    prompt: Prompt,
    attempt: u32,
    now: Millis,
    jitter: f64,
) -> (Connection, Option<Retry>) {
    match error {
        SignInError::Unreachable(_) => {
            let wait = backoff_ms(attempt, jitter);
            let shown = Connection::Offline { retry_at: now + Millis::from(wait), problem: Problem::Unreachable };
            (shown, Some(Retry { wait_ms: wait, prompt }))
        }
        SignInError::Refused(detail) if prompt.interactive() => {
            (Connection::Failed { problem: Problem::SignInFailed, detail: detail.clone() }, None)
        }
        SignInError::Refused(_) => (Connection::SignedOut, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_thirty_seconds_with_jitter_in_its_upper_half() {
        assert_eq!(backoff_ms(1, 0.0), 500);
        assert_eq!(backoff_ms(1, 1.0), 1000);
        assert_eq!(backoff_ms(3, 0.0), 2000);
        assert_eq!(backoff_ms(6, 1.0), 30_000);
        assert_eq!(backoff_ms(40, 0.5), 22_500, "capped however many attempts");
        assert_eq!(backoff_ms(0, 0.0), 500, "the first wait is never zero");
    }

    #[test]
    fn close_codes_say_what_happened_and_whether_to_retry() {
        assert_eq!(after_close(4000), (Problem::Restarting, true));
        assert_eq!(after_close(1012), (Problem::Restarting, true));
        assert_eq!(after_close(1006), (Problem::Unreachable, true));
        assert_eq!(after_close(4002), (Problem::Dropped, true));
        assert_eq!(after_close(4104), (Problem::Replaced, false));
        assert_eq!(after_close(4101), (Problem::Incompatible, false));
        assert_eq!(after_close(4100), (Problem::Refused, false));
    }

    #[test]
    fn an_unreachable_relay_is_retried_and_shown_as_such_not_as_signed_out() {
        let down = SignInError::Unreachable("cannot reach http://127.0.0.1:8787/dev/.well-known".into());
        // The retry keeps the attempt's prompt: a click to sign in after a sign-out is retried as
        // such, not silently (which a sign-out refuses, leaving the agent signed out for good).
        for prompt in [Prompt::Silent, Prompt::Interactive, Prompt::Login] {
            let (shown, retry) = after_sign_in_failure(&down, prompt, 2, 10_000, 0.0);
            assert_eq!(retry, Some(Retry { wait_ms: 1000, prompt }));
            assert_eq!(shown, Connection::Offline { retry_at: 11_000, problem: Problem::Unreachable });
        }
        // Attempts later, the waits stay bounded: the sign-in keeps trying until the relay is back.
        let later = after_sign_in_failure(&down, Prompt::Silent, 50, 0, 1.0).1;
        assert!(later.is_some_and(|r| r.wait_ms <= 30_000));
    }

    #[test]
    fn a_refused_sign_in_waits_for_the_person() {
        let no = SignInError::Refused("login_required".into());
        assert_eq!(after_sign_in_failure(&no, Prompt::Silent, 1, 0, 0.5), (Connection::SignedOut, None));
        let (shown, retry) = after_sign_in_failure(&no, Prompt::Interactive, 1, 0, 0.5);
        assert_eq!(retry, None);
        assert_eq!(shown, Connection::Failed { problem: Problem::SignInFailed, detail: "login_required".into() });
    }
}
