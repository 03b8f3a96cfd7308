//! Prometheus metrics: a handful of counters, gauges and histograms, rendered by hand in the
//! text exposition format so the relay needs no metrics framework.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use protocol::ErrorCode;

const ERROR_CODES: [ErrorCode; 13] = [
    ErrorCode::BadFrame,
    ErrorCode::ProtocolViolation,
    ErrorCode::UnsupportedProtocol,
    ErrorCode::Unauthenticated,
    ErrorCode::TokenExpired,
    ErrorCode::Forbidden,
    ErrorCode::Invalid,
    ErrorCode::IdentityMismatch,
    ErrorCode::InvalidNumber,
    ErrorCode::TooLarge,
    ErrorCode::RateLimited,
    ErrorCode::Unavailable,
    ErrorCode::Internal,
];

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// A latency histogram with fixed buckets.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += count.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_us.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// Every metric the relay exports.
#[derive(Default)]
pub struct Metrics {
    pub connections: AtomicI64,
    pub connections_total: AtomicU64,
    pub frames_in: AtomicU64,
    pub frames_out: AtomicU64,
    pub chat_messages: AtomicU64,
    pub chat_duplicates: AtomicU64,
    pub presence_updates: AtomicU64,
    pub presence_stale: AtomicU64,
    pub presence_pushes: AtomicU64,
    pub slow_consumers: AtomicU64,
    /// Connections closed for going on through refusals, or refused at `hello` for opening too
    /// many (both close 4004).
    pub rate_closes: AtomicU64,
    pub auth_failures: AtomicU64,
    /// Of those, WebSocket tickets that were unknown, used or expired.
    pub ticket_refusals: AtomicU64,
    pub tickets_issued: AtomicU64,
    /// Connections closed because their principal opened more than the limit.
    pub connections_replaced: AtomicU64,
    pub origin_refusals: AtomicU64,
    pub network_refusals: AtomicU64,
    pub oversized_frames: AtomicU64,
    pub jwks_fetches: AtomicU64,
    /// Chat messages and calls deleted past `--retention-days`.
    pub expired_messages: AtomicU64,
    pub expired_calls: AtomicU64,
    /// When the directory was last read from Connect, in ms since the epoch (0: never).
    pub directory_synced_at_ms: AtomicI64,
    pub directory_sync_failures: AtomicU64,
    /// Connect API requests made by the sync, retries included.
    pub connect_calls: AtomicU64,
    pub connect_retries: AtomicU64,
    /// How long the last successful read of the Connect directory took, in ms.
    pub directory_sync_ms: AtomicI64,
    errors: [AtomicU64; ERROR_CODES.len()],
    /// From receiving `send_chat` to its ack: includes the durable write.
    pub chat_ack_seconds: Histogram,
    /// From accepting a presence change to having queued it for every subscriber.
    pub presence_fanout_seconds: Histogram,
    /// Time to handle any request frame.
    pub request_seconds: Histogram,
    /// Time to answer a REST request, from its arrival at the router to its response.
    pub rest_seconds: Histogram,
}

impl Metrics {
    pub fn error(&self, code: ErrorCode) {
        if let Some(i) = ERROR_CODES.iter().position(|c| *c == code) {
            self.errors[i].fetch_add(1, Relaxed);
        }
    }

    pub fn error_count(&self, code: ErrorCode) -> u64 {
        ERROR_CODES.iter().position(|c| *c == code).map_or(0, |i| self.errors[i].load(Relaxed))
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let gauge = |out: &mut String, name: &str, help: &str, v: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        let counter = |out: &mut String, name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", v.load(Relaxed));
        };
        gauge(&mut out, "sidecar_connections", "Open WebSocket connections.", self.connections.load(Relaxed));
        counter(&mut out, "sidecar_connections_total", "WebSocket connections accepted.", &self.connections_total);
        counter(&mut out, "sidecar_frames_in_total", "Frames received from clients.", &self.frames_in);
        counter(&mut out, "sidecar_frames_out_total", "Frames sent to clients.", &self.frames_out);
        counter(&mut out, "sidecar_chat_messages_total", "Chat messages stored.", &self.chat_messages);
        counter(
            &mut out,
            "sidecar_chat_duplicates_total",
            "Chat resends answered from the store.",
            &self.chat_duplicates,
        );
        counter(&mut out, "sidecar_presence_updates_total", "Presence changes accepted.", &self.presence_updates);
        counter(
            &mut out,
            "sidecar_presence_stale_total",
            "Presence updates older than the stored state.",
            &self.presence_stale,
        );
        counter(
            &mut out,
            "sidecar_presence_pushes_total",
            "Presence frames queued to subscribers.",
            &self.presence_pushes,
        );
        counter(
            &mut out,
            "sidecar_slow_consumers_total",
            "Connections closed for not reading fast enough.",
            &self.slow_consumers,
        );
        counter(
            &mut out,
            "sidecar_rate_closes_total",
            "Connections closed for going on through refusals, or refused for opening too many (4004).",
            &self.rate_closes,
        );
        counter(&mut out, "sidecar_auth_failures_total", "Tokens refused.", &self.auth_failures);
        counter(
            &mut out,
            "sidecar_ticket_refusals_total",
            "WebSocket tickets refused (unknown, already used or expired).",
            &self.ticket_refusals,
        );
        counter(&mut out, "sidecar_tickets_issued_total", "WebSocket tickets issued.", &self.tickets_issued);
        counter(
            &mut out,
            "sidecar_connections_replaced_total",
            "Oldest connections closed because their principal opened more than the limit.",
            &self.connections_replaced,
        );
        counter(
            &mut out,
            "sidecar_origin_refusals_total",
            "Connections refused for their Origin.",
            &self.origin_refusals,
        );
        counter(
            &mut out,
            "sidecar_network_refusals_total",
            "Requests refused for coming from outside --allowed-networks.",
            &self.network_refusals,
        );
        counter(&mut out, "sidecar_oversized_frames_total", "Frames over the size limit.", &self.oversized_frames);
        counter(&mut out, "sidecar_jwks_fetches_total", "JWKS documents fetched.", &self.jwks_fetches);
        counter(
            &mut out,
            "sidecar_expired_messages_total",
            "Chat messages deleted past the retention period.",
            &self.expired_messages,
        );
        counter(
            &mut out,
            "sidecar_expired_calls_total",
            "Calls deleted past the retention period.",
            &self.expired_calls,
        );
        let synced = self.directory_synced_at_ms.load(Relaxed);
        if synced > 0 {
            gauge(
                &mut out,
                "sidecar_directory_synced_timestamp_seconds",
                "When the directory was last read from Connect.",
                synced / 1000,
            );
            gauge(
                &mut out,
                "sidecar_directory_age_seconds",
                "Age of the directory the relay serves (last good read from Connect).",
                (crate::clock::now_ms() - synced).max(0) / 1000,
            );
        }
        gauge(
            &mut out,
            "sidecar_directory_sync_duration_ms",
            "How long the last successful read of the Connect directory took.",
            self.directory_sync_ms.load(Relaxed),
        );
        counter(
            &mut out,
            "sidecar_directory_sync_failures_total",
            "Reads of the Connect directory that failed (the last good one is still served).",
            &self.directory_sync_failures,
        );
        counter(
            &mut out,
            "sidecar_connect_calls_total",
            "Connect API requests, retries included.",
            &self.connect_calls,
        );
        counter(
            &mut out,
            "sidecar_connect_retries_total",
            "Connect API requests that were retries.",
            &self.connect_retries,
        );
        let _ = writeln!(
            out,
            "# HELP sidecar_errors_total Error frames sent, by code.\n# TYPE sidecar_errors_total counter"
        );
        for (code, count) in ERROR_CODES.iter().zip(&self.errors) {
            let _ = writeln!(out, "sidecar_errors_total{{code=\"{}\"}} {}", code.as_str(), count.load(Relaxed));
        }
        self.chat_ack_seconds.render(&mut out, "sidecar_chat_ack_seconds", "From send_chat to its ack.");
        self.presence_fanout_seconds.render(
            &mut out,
            "sidecar_presence_fanout_seconds",
            "From a presence change to queuing it for every subscriber.",
        );
        self.request_seconds.render(&mut out, "sidecar_request_seconds", "Time to handle a request frame.");
        self.rest_seconds.render(&mut out, "sidecar_rest_seconds", "Time to answer a REST request.");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.chat_ack_seconds.observe(Duration::from_micros(300));
        m.chat_ack_seconds.observe(Duration::from_millis(3));
        m.chat_ack_seconds.observe(Duration::from_secs(10));
        let text = m.render();
        assert!(text.contains("sidecar_chat_ack_seconds_bucket{le=\"0.0005\"} 1"), "{text}");
        assert!(text.contains("sidecar_chat_ack_seconds_bucket{le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("sidecar_chat_ack_seconds_bucket{le=\"+Inf\"} 3"), "{text}");
        assert!(text.contains("sidecar_chat_ack_seconds_count 3"), "{text}");
    }

    #[test]
    fn errors_are_counted_by_code() {
        let m = Metrics::default();
        m.error(ErrorCode::RateLimited);
        m.error(ErrorCode::RateLimited);
        assert_eq!(m.error_count(ErrorCode::RateLimited), 2);
        assert!(m.render().contains("sidecar_errors_total{code=\"rate_limited\"} 2"));
    }
}
