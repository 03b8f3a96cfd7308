//! Prometheus metrics, declared once each with the `prometheus-client` crate and rendered in the
//! text exposition format (0.0.4). Every name is written once, in [`Metrics::default`] (without
//! the `sidecar_` prefix, and for counters without the `_total` the encoder adds). Errors and
//! closes are counted by code, every code of [`ErrorCode::ALL`] and [`CloseCode::ALL`] present
//! from the start, so a new code cannot go missing from `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Metric, Registry};
use protocol::{CloseCode, ErrorCode};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// A latency histogram with fixed buckets, lock-free (the crate's own histogram takes a lock
/// on every observation, and one is made on every request frame).
#[derive(Debug, Default, Clone)]
pub struct Histogram(Arc<HistogramInner>);

#[derive(Debug, Default)]
struct HistogramInner {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, elapsed: Duration) {
        let h = &self.0;
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            h.buckets[i].fetch_add(1, Relaxed);
        }
        h.count.fetch_add(1, Relaxed);
        h.sum_us.fetch_add(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }
}

impl TypedMetric for Histogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Histogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let h = &self.0;
        // Per bucket, not cumulative: the encoder adds them up, and writes `+Inf` as the count.
        let buckets: Vec<(f64, u64)> = BUCKETS.iter().zip(&h.buckets).map(|(b, n)| (*b, n.load(Relaxed))).collect();
        let sum = h.sum_us.load(Relaxed) as f64 / 1e6;
        encoder.encode_histogram::<NoLabelSet>(sum, h.count.load(Relaxed), &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// Counters by a `code` label.
pub type ByCode<V> = Family<[(&'static str, V); 1], Counter>;

/// When the directory was last read from Connect and how old it is: written only once there
/// has been a read (before, an age would mean nothing).
#[derive(Debug)]
struct DirectoryAge(Arc<AtomicI64>);

impl Collector for DirectoryAge {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let synced = self.0.load(Relaxed);
        if synced <= 0 {
            return Ok(());
        }
        let age = (crate::clock::now_ms() - synced).max(0) / 1000;
        for (name, help, value) in [
            ("directory_synced_timestamp_seconds", "When the directory was last read from Connect.", synced / 1000),
            ("directory_age_seconds", "Age of the directory the relay serves (last good read from Connect).", age),
        ] {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

/// Every metric the relay exports.
#[derive(Debug)]
pub struct Metrics {
    pub connections: Gauge,
    /// The store's own count of its database requests, copied in at each scrape.
    pub store_requests: Counter,
    pub connections_total: Counter,
    pub frames_in: Counter,
    pub frames_out: Counter,
    pub chat_messages: Counter,
    pub chat_duplicates: Counter,
    pub presence_updates: Counter,
    pub presence_stale: Counter,
    pub presence_pushes: Counter,
    pub slow_consumers: Counter,
    /// Connections closed for going on through refusals, or refused at `hello` for opening too
    /// many (both close 4004).
    pub rate_closes: Counter,
    pub auth_failures: Counter,
    /// Of those, WebSocket tickets that were unknown, used or expired.
    pub ticket_refusals: Counter,
    pub tickets_issued: Counter,
    /// Connections closed because their principal opened more than the limit.
    pub connections_replaced: Counter,
    pub origin_refusals: Counter,
    pub network_refusals: Counter,
    pub oversized_frames: Counter,
    pub jwks_fetches: Counter,
    /// Chat messages and calls deleted past `--retention-days`.
    pub expired_messages: Counter,
    pub expired_calls: Counter,
    /// Closed and cancelled help requests deleted past `--retention-days`.
    pub expired_help: Counter,
    /// When the directory was last read from Connect, in ms since the epoch (0: never).
    pub directory_synced_at_ms: Arc<AtomicI64>,
    pub directory_sync_failures: Counter,
    /// Connect API requests made by the sync, retries included (the sync client's own totals).
    pub connect_calls: Counter,
    pub connect_retries: Counter,
    /// How long the last successful read of the Connect directory took, in ms.
    pub directory_sync_ms: Gauge,
    /// Reads of Connect's real-time data by this node, and those that failed.
    pub realtime_reads: Counter,
    pub realtime_failures: Counter,
    /// Agents logged in to Connect at the last read, and the time between reads now, in ms.
    pub realtime_agents: Gauge,
    pub realtime_interval_ms: Gauge,
    /// 1 while this node reaches the cluster's Redis, 0 while not (or with no `--redis-url`).
    pub cluster_up: Gauge,
    /// Nodes of the cluster alive at the last heartbeat, this one included.
    pub cluster_nodes: Gauge,
    /// Events published to the other nodes, and received from them.
    pub cluster_events_out: Counter,
    pub cluster_events_in: Counter,
    /// Deliveries for other nodes dropped while Redis was away (beyond what is kept; clients
    /// read them at their next sync).
    pub cluster_dropped: Counter,
    /// Nodes found gone (their lease ran out).
    pub cluster_nodes_lost: Counter,
    /// Times the link to Redis was lost.
    pub cluster_disconnects: Counter,
    /// Attempts to join that failed (Redis not answering, a TLS certificate not trusted, ...).
    pub cluster_join_failures: Counter,
    /// Error frames and refusals, by error code.
    errors: ByCode<&'static str>,
    /// Connections the relay closed, by close code.
    closes: ByCode<u16>,
    /// From receiving `send_chat` to its ack: includes the durable write.
    pub chat_ack_seconds: Histogram,
    /// From accepting a presence change to having queued it for every subscriber.
    pub presence_fanout_seconds: Histogram,
    /// Time to handle any request frame.
    pub request_seconds: Histogram,
    /// Time to answer a REST request, from its arrival at the router to its response.
    pub rest_seconds: Histogram,
    registry: Registry,
}

/// Registers `metric` under `name` and hands it back.
fn add<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

/// A counter family with a series for each of `codes`, at zero until counted.
fn by_code<V: Copy + std::hash::Hash + Eq>(codes: impl IntoIterator<Item = V>) -> ByCode<V>
where
    [(&'static str, V); 1]: prometheus_client::encoding::EncodeLabelSet,
{
    let family = ByCode::default();
    for code in codes {
        drop(family.get_or_create(&[("code", code)]));
    }
    family
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("sidecar");
        let synced_at = Arc::new(AtomicI64::new(0));
        registry.register_collector(Box::new(DirectoryAge(synced_at.clone())));
        let r = &mut registry;
        let counter = Counter::default;
        Self {
            connections: add(r, "connections", "Open WebSocket connections", Gauge::default()),
            connections_total: add(r, "connections", "WebSocket connections accepted", counter()),
            frames_in: add(r, "frames_in", "Frames received from clients", counter()),
            frames_out: add(r, "frames_out", "Frames sent to clients", counter()),
            chat_messages: add(r, "chat_messages", "Chat messages stored", counter()),
            chat_duplicates: add(r, "chat_duplicates", "Chat resends answered from the store", counter()),
            presence_updates: add(r, "presence_updates", "Presence changes accepted", counter()),
            presence_stale: add(r, "presence_stale", "Presence updates older than the stored state", counter()),
            presence_pushes: add(r, "presence_pushes", "Presence frames queued to subscribers", counter()),
            slow_consumers: add(r, "slow_consumers", "Connections closed for not reading fast enough", counter()),
            rate_closes: add(
                r,
                "rate_closes",
                "Connections closed for going on through refusals, or refused for opening too many (4004)",
                counter(),
            ),
            auth_failures: add(r, "auth_failures", "Tokens refused", counter()),
            ticket_refusals: add(
                r,
                "ticket_refusals",
                "WebSocket tickets refused (unknown, already used or expired)",
                counter(),
            ),
            tickets_issued: add(r, "tickets_issued", "WebSocket tickets issued", counter()),
            connections_replaced: add(
                r,
                "connections_replaced",
                "Oldest connections closed because their principal opened more than the limit",
                counter(),
            ),
            origin_refusals: add(r, "origin_refusals", "Connections refused for their Origin", counter()),
            network_refusals: add(
                r,
                "network_refusals",
                "Requests refused for coming from outside --allowed-networks",
                counter(),
            ),
            oversized_frames: add(r, "oversized_frames", "Frames over the size limit", counter()),
            jwks_fetches: add(r, "jwks_fetches", "JWKS documents fetched", counter()),
            expired_messages: add(r, "expired_messages", "Chat messages deleted past the retention period", counter()),
            expired_calls: add(r, "expired_calls", "Calls deleted past the retention period", counter()),
            expired_help: add(
                r,
                "expired_help_requests",
                "Closed and cancelled help requests deleted past the retention period",
                counter(),
            ),
            directory_synced_at_ms: synced_at,
            directory_sync_ms: add(
                r,
                "directory_sync_duration_ms",
                "How long the last successful read of the Connect directory took",
                Gauge::default(),
            ),
            directory_sync_failures: add(
                r,
                "directory_sync_failures",
                "Reads of the Connect directory that failed (the last good one is still served)",
                counter(),
            ),
            connect_calls: add(r, "connect_calls", "Connect API requests, retries included", counter()),
            realtime_reads: add(
                r,
                "connect_realtime_reads",
                "Reads of Connect's real-time data by this node",
                counter(),
            ),
            realtime_failures: add(
                r,
                "connect_realtime_failures",
                "Reads of Connect's real-time data that failed (rows age, then show Unknown)",
                counter(),
            ),
            realtime_agents: add(
                r,
                "connect_realtime_agents",
                "Agents logged in to Connect at the last read",
                Gauge::default(),
            ),
            realtime_interval_ms: add(
                r,
                "connect_realtime_interval_ms",
                "Time between reads of Connect's real-time data now (longer on a large instance)",
                Gauge::default(),
            ),
            store_requests: add(
                r,
                "store_requests",
                "Requests the store sent to its database, retries included (DynamoDB; none for SQLite)",
                counter(),
            ),
            cluster_up: add(r, "cluster_up", "1 while this node reaches the cluster's Redis", Gauge::default()),
            cluster_nodes: add(r, "cluster_nodes", "Relay nodes alive, this one included", Gauge::default()),
            cluster_events_out: add(r, "cluster_events_out", "Events published to the other nodes", counter()),
            cluster_events_in: add(r, "cluster_events_in", "Events received from the other nodes", counter()),
            cluster_dropped: add(
                r,
                "cluster_dropped",
                "Deliveries for other nodes dropped while Redis was away (read at the clients' next sync)",
                counter(),
            ),
            cluster_nodes_lost: add(r, "cluster_nodes_lost", "Nodes found gone (lease run out)", counter()),
            cluster_disconnects: add(r, "cluster_disconnects", "Times the link to Redis was lost", counter()),
            cluster_join_failures: add(
                r,
                "cluster_join_failures",
                "Attempts to join the cluster that failed (Redis not answering, TLS refused)",
                counter(),
            ),
            connect_retries: add(r, "connect_retries", "Connect API requests that were retries", counter()),
            errors: add(r, "errors", "Error frames sent, by code", by_code(ErrorCode::ALL.map(ErrorCode::as_str))),
            closes: add(
                r,
                "closes",
                "Connections closed by the relay, by close code",
                by_code(CloseCode::ALL.map(CloseCode::code)),
            ),
            chat_ack_seconds: add(r, "chat_ack_seconds", "From send_chat to its ack", Histogram::default()),
            presence_fanout_seconds: add(
                r,
                "presence_fanout_seconds",
                "From a presence change to queuing it for every subscriber",
                Histogram::default(),
            ),
            request_seconds: add(r, "request_seconds", "Time to handle a request frame", Histogram::default()),
            rest_seconds: add(r, "rest_seconds", "Time to answer a REST request", Histogram::default()),
            registry,
        }
    }
}

impl Metrics {
    /// Counts an error frame or refusal.
    pub fn error(&self, code: ErrorCode) {
        self.errors.get_or_create(&[("code", code.as_str())]).inc();
    }

    pub fn error_count(&self, code: ErrorCode) -> u64 {
        self.errors.get_or_create(&[("code", code.as_str())]).get()
    }

    /// Counts a connection the relay closed.
    pub fn close(&self, code: CloseCode) {
        self.closes.get_or_create(&[("code", code.code())]).inc();
    }

    /// Sets a counter kept by someone else (the Connect client's totals).
    pub fn set_total(counter: &Counter, total: u64) {
        counter.inner().store(total, Relaxed);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8192);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// The `Content-Type` of [`Metrics::render`].
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

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

    #[test]
    fn every_error_and_close_code_has_its_counter() {
        let m = Metrics::default();
        m.close(CloseCode::SlowConsumer);
        let text = m.render();
        for code in ErrorCode::ALL {
            let line = format!("sidecar_errors_total{{code=\"{}\"}} 0\n", code.as_str());
            assert!(text.contains(&line), "{line} missing from\n{text}");
        }
        for code in CloseCode::ALL {
            let count = u64::from(code == CloseCode::SlowConsumer);
            let line = format!("sidecar_closes_total{{code=\"{}\"}} {count}\n", code.code());
            assert!(text.contains(&line), "{line} missing from\n{text}");
        }
    }

    #[test]
    fn each_name_is_one_family_and_the_directory_age_waits_for_a_sync() {
        let m = Metrics::default();
        let text = m.render();
        let mut families: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).collect();
        let all = families.len();
        families.sort_unstable();
        families.dedup();
        assert_eq!(families.len(), all, "a family declared twice:\n{text}");
        assert!(text.contains("# TYPE sidecar_connections gauge\nsidecar_connections 0\n"), "{text}");
        assert!(text.contains("# TYPE sidecar_connections_total counter\nsidecar_connections_total 0\n"), "{text}");
        assert!(!text.contains("sidecar_directory_age_seconds"), "no age before a sync:\n{text}");
        m.directory_synced_at_ms.store(crate::clock::now_ms() - 90_000, Relaxed);
        let text = m.render();
        assert!(text.contains("sidecar_directory_age_seconds 90\n"), "{text}");
        assert!(text.contains("sidecar_directory_sync_duration_ms 0\n"), "{text}");
    }
}
