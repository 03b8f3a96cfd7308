//! Every Connect API call goes through [`Connect::call`]: one token from the bucket per
//! attempt, throttling (429) and transient failures retried with exponential backoff and full
//! jitter, everything else returned at once. The SDK's own retries are off, so no request can
//! bypass the bucket.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_connect::Client;
use aws_sdk_connect::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_connect::operation::RequestId as _;

use crate::{SyncError, TokenBucket};

/// The response type every SDK operation fails with.
type HttpResponse = aws_sdk_connect::config::http::HttpResponse;

/// Where and how fast to read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub instance_id: String,
    /// The Region; `None` takes the SDK's default chain.
    pub region: Option<String>,
    /// Another endpoint than AWS's (a test double, a VPC endpoint).
    pub endpoint: Option<String>,
    pub rate: f64,
    pub burst: u32,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
}

impl Settings {
    pub fn new(instance_id: impl Into<String>) -> Self {
        Self { instance_id: instance_id.into(), region: None, endpoint: None, rate: 2.0, burst: 5, max_attempts: 6 }
    }
}

/// The Connect API of one instance, rate limited.
#[derive(Debug)]
pub struct Connect {
    client: Client,
    pub(crate) instance_id: String,
    bucket: TokenBucket,
    max_attempts: u32,
    calls: AtomicU64,
    retries: AtomicU64,
}

impl Connect {
    /// Credentials and Region from aws-config's default chain (environment, profile, SSO,
    /// container or instance role).
    pub async fn from_default_chain(settings: &Settings) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &settings.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let shared = loader.load().await;
        Self::with_config(aws_sdk_connect::config::Builder::from(&shared), settings)
    }

    /// From an SDK configuration the caller built (tests pass static credentials).
    pub fn with_config(builder: aws_sdk_connect::config::Builder, settings: &Settings) -> Self {
        let mut builder = builder.retry_config(RetryConfig::disabled()).timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(20))
                .build(),
        );
        if let Some(url) = &settings.endpoint {
            builder = builder.endpoint_url(url);
        }
        Self {
            client: Client::from_conf(builder.build()),
            instance_id: settings.instance_id.clone(),
            bucket: TokenBucket::new(settings.rate, settings.burst),
            max_attempts: settings.max_attempts.max(1),
            calls: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Requests sent so far, retries included.
    pub fn calls(&self) -> u64 {
        self.calls.load(Relaxed)
    }

    /// Requests that were retries.
    pub fn retries(&self) -> u64 {
        self.retries.load(Relaxed)
    }

    /// Sends one request (built anew by `send` for each attempt) under the bucket, retrying
    /// what may succeed later.
    pub(crate) async fn call<T, E, Fut>(&self, operation: &'static str, send: impl Fn() -> Fut) -> Result<T, SyncError>
    where
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut attempt = 1;
        loop {
            self.bucket.acquire().await;
            self.calls.fetch_add(1, Relaxed);
            let error = match send().await {
                Ok(output) => return Ok(output),
                Err(error) => error,
            };
            let retry = retryable(&error);
            let detail = describe(&error);
            if !retry || attempt >= self.max_attempts {
                return Err(SyncError { operation, attempts: attempt, detail });
            }
            let delay = backoff(attempt);
            tracing::info!(operation, attempt, delay_ms = delay.as_millis() as u64, error = %detail, "Connect call failed; retrying");
            self.retries.fetch_add(1, Relaxed);
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

/// Throttling, server errors and failures to get an answer at all.
fn retryable<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(e) => {
            let status = e.raw().status();
            status.as_u16() == 429
                || status.is_server_error()
                || matches!(
                    e.err().code(),
                    Some("TooManyRequestsException" | "ThrottlingException" | "InternalServiceException")
                )
        }
        _ => false,
    }
}

fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(error: &SdkError<E, HttpResponse>) -> String {
    match error {
        SdkError::ServiceError(e) => format!(
            "{} (HTTP {}): {} [request {}]",
            e.err().code().unwrap_or("error"),
            e.raw().status().as_u16(),
            e.err().message().unwrap_or_default(),
            e.err().meta().request_id().unwrap_or("-"),
        ),
        other => aws_sdk_connect::error::DisplayErrorContext(other).to_string(),
    }
}

/// Exponential backoff (0.5 s, 1 s, 2 s, ... capped at 20 s), each jittered down by up to half.
fn backoff(attempt: u32) -> Duration {
    let cap = 250u64.saturating_mul(1 << attempt.min(7)).min(20_000);
    Duration::from_millis(jitter(cap))
}

/// A number in `[cap/2, cap]`, from the clock: spreading retries needs no cryptographic quality.
fn jitter(cap: u64) -> u64 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let mut x = u64::from(nanos) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    cap / 2 + x % (cap / 2 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_capped() {
        for attempt in 1..20 {
            let cap = 250u64.saturating_mul(1 << attempt.min(7)).min(20_000);
            let d = backoff(attempt).as_millis() as u64;
            assert!((cap / 2..=cap).contains(&d), "attempt {attempt}: {d} ms");
        }
        assert!(backoff(10) <= Duration::from_secs(20));
    }
}
