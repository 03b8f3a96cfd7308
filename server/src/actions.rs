//! Supervisor actions in Amazon Connect as request handlers see them: a trait the `connect`
//! feature implements with the Connect client, so the handlers build (and refuse with
//! `not_configured`) without it.

use std::future::Future;
use std::pin::Pin;

/// Why Connect did not do it, in Connect's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionError {
    /// Connect throttled the request (after the client's retries): worth retrying later.
    pub throttled: bool,
    pub message: String,
}

pub type ActionFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ActionError>> + Send + 'a>>;

/// What a supervisor may ask of Connect through the relay.
pub trait ConnectActions: Send + Sync {
    /// Puts Connect user `user_id` on `contact_id`, listening (and able to barge in when
    /// `barge`); returns the monitoring contact's id.
    fn monitor<'a>(&'a self, contact_id: &'a str, user_id: &'a str, barge: bool) -> ActionFuture<'a, String>;
    /// Sets Connect user `user_id`'s agent status to `status_id`.
    fn set_status<'a>(&'a self, user_id: &'a str, status_id: &'a str) -> ActionFuture<'a, ()>;
}
