//! Relay configuration from flags, environment and an optional TOML file.
//!
//! Precedence, highest first: a flag, its `SIDECAR_*` environment variable, the same key in the
//! TOML file named by `--config`, the default. Every setting is documented by `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use serde::{Deserialize, Serialize};

/// Where the relay keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    /// SQLite files in `--data-dir`: one relay node.
    Sqlite,
    /// DynamoDB tables named by `--dynamodb-table-prefix` (a relay built with the `dynamodb`
    /// feature).
    Dynamodb,
}

/// How agents are grouped into rosters, so that a large center does not send every change to
/// everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RosterBy {
    /// Everyone in one roster named `all`: right for a small center.
    Single,
    /// By the directory's `team` field.
    Team,
    /// By the directory's `routing_profile` field.
    RoutingProfile,
    /// By the directory's `hierarchy_group` field.
    HierarchyGroup,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    Text,
    Json,
}

/// The CCP Sidecar relay: presence and chat for Amazon Connect agents.
#[derive(Debug, Clone, Parser, Serialize, Deserialize)]
#[command(name = "ccp-sidecar-relay", version, about, long_about = None)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// TOML file with any of the settings below (keys as the long flag names with `_` for `-`).
    #[arg(long, env = "SIDECAR_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Address to listen on.
    #[arg(long, env = "SIDECAR_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    /// Directory for the SQLite store.
    #[arg(long, env = "SIDECAR_DATA_DIR", default_value = ".data")]
    pub data_dir: PathBuf,

    /// Where data is kept: `sqlite` (files in `--data-dir`) or `dynamodb` (tables named by
    /// `--dynamodb-table-prefix`; AWS credentials and Region from the default chain:
    /// environment, profile, ECS task role or instance profile). `dynamodb` needs a relay built
    /// with the `dynamodb` feature.
    #[arg(long, env = "SIDECAR_STORE", value_enum, default_value = "sqlite")]
    pub store: StoreKind,

    /// Prefix of the DynamoDB table names (`ccp-sidecar-` gives `ccp-sidecar-messages`, ...), as
    /// `deploy/aws/tables.yaml` creates them.
    #[arg(long, env = "SIDECAR_DYNAMODB_TABLE_PREFIX", default_value = "ccp-sidecar-")]
    pub dynamodb_table_prefix: String,

    /// Endpoint URL for DynamoDB instead of AWS's (a local DynamoDB-compatible server, or a VPC
    /// endpoint).
    #[arg(long, env = "SIDECAR_DYNAMODB_ENDPOINT")]
    pub dynamodb_endpoint: Option<String>,

    /// Create the DynamoDB tables that are missing at start (a local server; in AWS the
    /// CloudFormation template in `deploy/aws/` creates them, with backups and protection).
    #[arg(long, env = "SIDECAR_DYNAMODB_CREATE_TABLES")]
    #[serde(default)]
    pub dynamodb_create_tables: bool,

    /// Redis URL (`redis://host:6379`, `rediss://` for TLS, e.g. ElastiCache) joining this relay
    /// to the other nodes using it: presence, chat and help requests reach every node's
    /// connections, and the directory sync and retention run on one node at a time. Several
    /// nodes share one store (DynamoDB); without it the relay is a single node.
    #[arg(long, env = "SIDECAR_REDIS_URL")]
    pub redis_url: Option<String>,

    /// PEM file of the certificate authority a `rediss://` server's certificate chains to, when it
    /// is not one the system trusts (ElastiCache's chain to public roots: leave this unset).
    #[arg(long, env = "SIDECAR_REDIS_CA_FILE")]
    pub redis_ca_file: Option<PathBuf>,

    /// Prefix of the relay's Redis keys and channel (several clusters may share one Redis).
    #[arg(long, env = "SIDECAR_REDIS_KEY_PREFIX", default_value = "ccp-sidecar")]
    pub redis_key_prefix: String,

    /// How long a node's lease lasts without a heartbeat, in ms (one every third of it): when a
    /// node dies, its agents who do not reconnect elsewhere go Offline after this and
    /// `--presence-grace-ms`.
    #[arg(long, env = "SIDECAR_NODE_LEASE_MS", default_value_t = 10_000)]
    pub node_lease_ms: u64,

    /// OIDC issuer URL whose ID tokens are accepted (discovery at
    /// `<issuer>/.well-known/openid-configuration`).
    #[arg(long, env = "SIDECAR_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    /// Accepted token audiences (the OIDC client ids), comma separated.
    #[arg(long, env = "SIDECAR_OIDC_AUDIENCE", value_delimiter = ',')]
    #[serde(default)]
    pub oidc_audience: Vec<String>,

    /// Claim that identifies a principal.
    #[arg(long, env = "SIDECAR_IDENTITY_CLAIM", default_value = "email")]
    pub identity_claim: String,

    /// Claim with a person's display name (the directory's name wins when present).
    #[arg(long, env = "SIDECAR_NAME_CLAIM", default_value = "name")]
    pub name_claim: String,

    /// Claim listing a principal's groups.
    #[arg(long, env = "SIDECAR_GROUP_CLAIM", default_value = "groups")]
    pub group_claim: String,

    /// Group whose members are supervisors.
    #[arg(long, env = "SIDECAR_SUPERVISOR_GROUP", default_value = "supervisors")]
    pub supervisor_group: String,

    /// Allowed WebSocket origins (`chrome-extension://<id>`), comma separated. A request with
    /// any other Origin is refused; one with none (not a browser) is allowed.
    #[arg(long, env = "SIDECAR_ALLOWED_ORIGINS", value_delimiter = ',')]
    #[serde(default)]
    pub allowed_origins: Vec<String>,

    /// Client networks allowed to use `/ws` and `/api` (CIDRs or addresses, comma separated);
    /// empty allows every network. `/healthz`, `/readyz` and `/metrics` are not restricted.
    #[arg(long, env = "SIDECAR_ALLOWED_NETWORKS", value_delimiter = ',')]
    #[serde(default)]
    pub allowed_networks: Vec<String>,

    /// Load balancers and proxies whose `X-Forwarded-For` names the client (CIDRs or
    /// addresses, comma separated). From any other peer the header is ignored.
    #[arg(long, env = "SIDECAR_TRUSTED_PROXIES", value_delimiter = ',')]
    #[serde(default)]
    pub trusted_proxies: Vec<String>,

    /// How long fetched signing keys are trusted before the JWKS is fetched again, in seconds
    /// (also in the background: a key retired at the provider stops working within about this).
    #[arg(long, env = "SIDECAR_JWKS_TTL_S", default_value_t = 600)]
    pub jwks_ttl_s: u64,

    /// Enable the development token issuer at `/dev/oidc` (for the demo; never in production).
    #[arg(long, env = "SIDECAR_DEV_ISSUER")]
    #[serde(default)]
    pub dev_issuer: bool,

    /// Users the development issuer signs in as supervisors (its tokens for them carry the
    /// supervisor group), comma-separated e-mail addresses; for the demo and tests.
    #[arg(long, env = "SIDECAR_DEV_SUPERVISORS", value_delimiter = ',')]
    #[serde(default)]
    pub dev_supervisors: Vec<String>,

    /// Also allow the development issuer when listening on a non-loopback address.
    #[arg(long, env = "SIDECAR_DEV_ISSUER_NON_LOOPBACK")]
    #[serde(default)]
    pub dev_issuer_non_loopback: bool,

    /// Days chat messages, call history and closed or cancelled help requests are kept; older
    /// ones are deleted every hour. 0 keeps them until the operator deletes them.
    #[arg(long, env = "SIDECAR_RETENTION_DAYS", default_value_t = 0)]
    #[serde(default)]
    pub retention_days: u32,

    /// Directory file (JSON or TOML) with users, teams and routing profiles.
    #[arg(long, env = "SIDECAR_DIRECTORY_FILE")]
    pub directory_file: Option<PathBuf>,

    /// Directory with the extension's signed package(s) and `updates.xml` (`cargo xtask dist
    /// --crx`), served under `/extension/` for Chrome to install and update from.
    #[arg(long, env = "SIDECAR_EXTENSION_DIR")]
    pub extension_dir: Option<PathBuf>,

    /// Country whose national formats agents may type (ISO 3166 alpha-2, e.g. `JP` lets
    /// `03-1234-5678` mean `+81312345678`); numbers with a leading `+` work everywhere.
    #[arg(long, env = "SIDECAR_DEFAULT_COUNTRY", default_value = "JP")]
    pub default_country: String,

    /// Amazon Connect instance id: when set, the relay reads the directory and the caller IDs
    /// from Connect (AWS credentials and Region from the default chain) instead of only from
    /// `--directory-file`. Needs a relay built with the `connect` feature.
    #[arg(long, env = "SIDECAR_CONNECT_INSTANCE_ID")]
    pub connect_instance_id: Option<String>,

    /// AWS Region of the Connect instance (default: the SDK's chain, e.g. `AWS_REGION`).
    #[arg(long, env = "SIDECAR_CONNECT_REGION")]
    pub connect_region: Option<String>,

    /// Endpoint URL for the Connect API instead of AWS's (a test double or a VPC endpoint).
    #[arg(long, env = "SIDECAR_CONNECT_ENDPOINT")]
    pub connect_endpoint: Option<String>,

    /// How often the directory is read from Connect, in seconds; 0 never reads it (the directory
    /// file is the directory, its users naming their `connect_user_id`; real-time data and
    /// supervisors' actions still go to Connect).
    #[arg(long, env = "SIDECAR_CONNECT_SYNC_INTERVAL_S", default_value_t = 900)]
    pub connect_sync_interval_s: u64,

    /// Connect API requests per second, for every call the sync makes (Connect's own default
    /// quota is 2 per second).
    #[arg(long, env = "SIDECAR_CONNECT_RATE", default_value_t = 2.0)]
    pub connect_rate: f64,

    /// Connect API requests that may be made at once before the rate applies.
    #[arg(long, env = "SIDECAR_CONNECT_BURST", default_value_t = 5)]
    pub connect_burst: u32,

    /// Shortest time between two reads of Connect's real-time data (`GetCurrentUserData`), in
    /// seconds; 0 turns them off, and with them the list of statuses a supervisor sets an agent
    /// to. A large instance waits longer: the reads use at most half of
    /// `--connect-rate` on average (docs/aws.md, "Connect's quota"). With `--connect-instance-id`.
    #[arg(long, env = "SIDECAR_CONNECT_POLL_S", default_value_t = 5)]
    pub connect_poll_s: u64,

    /// After how long without a successful read agents known only from Connect show `Unknown`
    /// rather than a state that may be wrong, in seconds.
    #[arg(long, env = "SIDECAR_CONNECT_UNKNOWN_AFTER_S", default_value_t = 300)]
    pub connect_unknown_after_s: u64,

    /// How rosters are scoped.
    #[arg(long, env = "SIDECAR_ROSTER_BY", value_enum, default_value = "single")]
    pub roster_by: RosterBy,

    /// How long an agent with no connection stays online before showing Offline, in ms.
    #[arg(long, env = "SIDECAR_PRESENCE_GRACE_MS", default_value_t = 10_000)]
    pub presence_grace_ms: u64,

    /// Largest WebSocket frame accepted, in bytes.
    #[arg(long, env = "SIDECAR_MAX_FRAME_BYTES", default_value_t = 16 * 1024)]
    pub max_frame_bytes: u32,

    /// Largest chat message text, in characters (Unicode scalar values, whatever the script:
    /// 2,000 Japanese characters are a long paragraph). Must fit a frame at six bytes each (JSON
    /// as browsers write it).
    #[arg(long, env = "SIDECAR_MAX_TEXT_CHARS", default_value_t = 2000)]
    pub max_text_chars: u32,

    /// Sustained frames per second per connection; bursts of twice this are allowed.
    #[arg(long, env = "SIDECAR_FRAMES_PER_SECOND", default_value_t = 20)]
    pub frames_per_second: u32,

    /// Sustained requests per second per principal, over all its connections and REST calls
    /// together (bursts of twice this): more connections do not buy more throughput.
    #[arg(long, env = "SIDECAR_PRINCIPAL_REQUESTS_PER_SECOND", default_value_t = 40)]
    pub principal_requests_per_second: u32,

    /// Sustained new WebSocket connections per second per principal (bursts of ten times this);
    /// beyond it a `hello` is refused with close 4004 (reconnect after a backoff).
    #[arg(long, env = "SIDECAR_PRINCIPAL_CONNECTS_PER_SECOND", default_value_t = 2)]
    pub principal_connects_per_second: u32,

    /// How long a WebSocket ticket from `POST /api/v1/ws-ticket` stays valid, in ms (it is
    /// single-use in any case).
    #[arg(long, env = "SIDECAR_WS_TICKET_TTL_MS", default_value_t = 30_000)]
    pub ws_ticket_ttl_ms: u64,

    /// Largest history or sync page.
    #[arg(long, env = "SIDECAR_MAX_PAGE", default_value_t = 100)]
    pub max_page: u32,

    /// Most simultaneous connections per principal; the oldest is closed beyond it.
    #[arg(long, env = "SIDECAR_MAX_CONNECTIONS_PER_PRINCIPAL", default_value_t = 8)]
    pub max_connections_per_principal: u32,

    /// Frames queued for one connection before it counts as too slow and is disconnected.
    #[arg(long, env = "SIDECAR_SEND_QUEUE", default_value_t = 256)]
    pub send_queue: u32,

    /// WebSocket read buffer size per connection, in bytes (grown for a large frame).
    #[arg(long, env = "SIDECAR_WS_BUFFER_BYTES", default_value_t = 2048)]
    pub ws_buffer_bytes: u32,

    /// Time allowed for the `hello` frame after the upgrade, in ms.
    #[arg(long, env = "SIDECAR_HELLO_TIMEOUT_MS", default_value_t = 10_000)]
    pub hello_timeout_ms: u64,

    /// A connection that sends nothing for this long is closed, in ms (clients ping at a third).
    #[arg(long, env = "SIDECAR_IDLE_TIMEOUT_MS", default_value_t = 60_000)]
    pub idle_timeout_ms: u64,

    /// Time given to clients to close on shutdown, in ms.
    #[arg(long, env = "SIDECAR_SHUTDOWN_GRACE_MS", default_value_t = 5_000)]
    pub shutdown_grace_ms: u64,

    /// Log format.
    #[arg(long, env = "SIDECAR_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Args(#[from] clap::Error),
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Loads from the process's arguments and environment and the file they name.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(std::env::args_os())
    }

    /// Loads from the given arguments (the first is the program name), the environment and the
    /// file they name.
    pub fn load_from<I, T>(args: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Self::command().try_get_matches_from(args)?;
        let explicit = Self::from_arg_matches(&matches)?;
        let config = match &explicit.config {
            None => explicit,
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
                parse_file_text(&matches, &text)
                    .map_err(|message| ConfigError::Parse { path: path.clone(), message })?
            }
        };
        config.validate()?;
        Ok(config)
    }

    /// Rules that span settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.dev_issuer && !self.listen.ip().is_loopback() && !self.dev_issuer_non_loopback {
            return Err(ConfigError::Invalid(format!(
                "--dev-issuer mints tokens for anyone; it is refused on the non-loopback address {} \
                 unless --dev-issuer-non-loopback is also given",
                self.listen
            )));
        }
        if self.oidc_issuer.is_some() && self.oidc_audience.is_empty() {
            return Err(ConfigError::Invalid(
                "--oidc-issuer needs --oidc-audience (the client id tokens are issued for)".into(),
            ));
        }
        for (flag, list) in
            [("--allowed-networks", &self.allowed_networks), ("--trusted-proxies", &self.trusted_proxies)]
        {
            crate::network::parse(list).map_err(|e| ConfigError::Invalid(format!("{flag}: {e}")))?;
        }
        if self.default_country.parse::<phonenumber::country::Id>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "--default-country {:?} is not an ISO 3166 alpha-2 country code such as JP or US",
                self.default_country
            )));
        }
        if !(self.connect_rate > 0.0 && self.connect_rate <= 100.0) || self.connect_burst == 0 {
            return Err(ConfigError::Invalid(
                "--connect-rate must be in (0, 100] and --connect-burst at least 1".into(),
            ));
        }
        // Six bytes a character is the most JSON takes as browsers and serde_json write it
        // (`\u001f`; other characters raw as UTF-8), so a text at the limit fits a frame. (A
        // client escaping non-BMP characters as surrogate pairs, 12 bytes, gets `too_large`.)
        if u64::from(self.max_text_chars) * 6 + 512 > u64::from(self.max_frame_bytes) {
            return Err(ConfigError::Invalid(
                "--max-frame-bytes must be at least 6 × --max-text-chars + 512 (a text at the limit must fit a frame)"
                    .into(),
            ));
        }
        for (name, value) in [
            ("--frames-per-second", self.frames_per_second),
            ("--max-page", self.max_page),
            ("--send-queue", self.send_queue),
            ("--max-connections-per-principal", self.max_connections_per_principal),
            ("--principal-requests-per-second", self.principal_requests_per_second),
            ("--principal-connects-per-second", self.principal_connects_per_second),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid(format!("{name} must be at least 1")));
            }
        }
        if self.redis_url.is_some() && self.store == StoreKind::Sqlite {
            return Err(ConfigError::Invalid(
                "--redis-url joins nodes that share one store: use --store dynamodb (each node's SQLite file would \
                 hold other messages)"
                    .into(),
            ));
        }
        if self.node_lease_ms < 1000 {
            return Err(ConfigError::Invalid("--node-lease-ms must be at least 1000".into()));
        }
        if self.ws_ticket_ttl_ms < 1000 {
            return Err(ConfigError::Invalid("--ws-ticket-ttl-ms must be at least 1000".into()));
        }
        if self.ws_buffer_bytes < 1024 {
            return Err(ConfigError::Invalid("--ws-buffer-bytes must be at least 1024".into()));
        }
        Ok(())
    }

    /// A configuration with every default and the given listen address, for tests and tools.
    pub fn defaults() -> Self {
        // The defaults parse by construction; `--help` and tests cover them.
        Self::try_parse_from(["ccp-sidecar-relay"]).unwrap_or_else(|e| panic!("defaults: {e}"))
    }
}

/// The configuration that `text`, a TOML config file, gives over the flags and environment
/// variables `matches` holds (they win over the file); not yet validated. `load_from` reads the
/// file `--config` names through this, and the `config_file` fuzz target feeds it any text.
pub fn parse_file_text(matches: &ArgMatches, text: &str) -> Result<Config, String> {
    let explicit = Config::from_arg_matches(matches).map_err(|e| e.to_string())?;
    merge_file(&explicit, matches, text)
}

/// Takes each setting from the file unless a flag or environment variable gave it.
fn merge_file(explicit: &Config, matches: &ArgMatches, text: &str) -> Result<Config, String> {
    let file: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let serde_json::Value::Object(mut merged) = serde_json::to_value(explicit).map_err(|e| e.to_string())? else {
        return Err("configuration is not a table".into());
    };
    for (key, value) in file {
        let given = matches!(
            matches.try_get_raw(&key).ok().and_then(|_| matches.value_source(&key)),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        if key == "config" || !merged.contains_key(&key) {
            return Err(format!("unknown setting `{key}`"));
        }
        if !given {
            merged.insert(key, serde_json::to_value(value).map_err(|e| e.to_string())?);
        }
    }
    let mut config: Config = serde_json::from_value(serde_json::Value::Object(merged)).map_err(|e| e.to_string())?;
    config.config = explicit.config.clone();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_documents_every_setting() {
        let help = Config::command().render_long_help().to_string();
        for arg in Config::command().get_arguments() {
            if let Some(long) = arg.get_long() {
                assert!(help.contains(&format!("--{long}")), "--{long} missing from --help");
                assert!(arg.get_help().is_some(), "--{long} has no help text");
            }
        }
    }

    #[test]
    fn dev_issuer_is_refused_off_loopback() {
        let err = Config::load_from(["r", "--dev-issuer", "--listen", "0.0.0.0:1"]).unwrap_err();
        assert!(err.to_string().contains("non-loopback"), "{err}");
        Config::load_from(["r", "--dev-issuer", "--listen", "0.0.0.0:1", "--dev-issuer-non-loopback"]).unwrap();
        Config::load_from(["r", "--dev-issuer", "--listen", "[::1]:1"]).unwrap();
    }

    #[test]
    fn file_fills_what_flags_leave_unset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(
            &path,
            "max_page = 7\nroster_by = \"team\"\nallowed_origins = [\"chrome-extension://a\"]\nmax_text_chars = 100\n",
        )
        .unwrap();
        let config = Config::load_from(["r", "--config", path.to_str().unwrap(), "--max-text-chars", "200"]).unwrap();
        assert_eq!(config.max_page, 7);
        assert_eq!(config.roster_by, RosterBy::Team);
        assert_eq!(config.allowed_origins, ["chrome-extension://a"]);
        assert_eq!(config.max_text_chars, 200, "the flag wins over the file");
        assert_eq!(config.presence_grace_ms, 10_000, "the default stays");
    }

    #[test]
    fn unknown_file_keys_and_bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(&path, "max_pgae = 7\n").unwrap();
        let err = Config::load_from(["r", "--config", path.to_str().unwrap()]).unwrap_err();
        assert!(err.to_string().contains("max_pgae"), "{err}");
        std::fs::write(&path, "max_page = \"many\"\n").unwrap();
        let err = Config::load_from(["r", "--config", path.to_str().unwrap()]).unwrap_err();
        assert!(err.to_string().contains("relay.toml"), "{err}");
    }

    #[test]
    fn zero_limits_are_refused() {
        let err = Config::load_from(["r", "--max-page", "0"]).unwrap_err();
        assert!(err.to_string().contains("--max-page"), "{err}");
    }
}
