//! Why this exists: the checked config as both binaries use it, one type per section; `check.rs`
//! builds it from the file, so nothing here can hold a value the checks refused.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use crate::lan_host::LanHost;
use crate::names::HostPattern;

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from; relative paths inside it were resolved against its folder.
    pub source: PathBuf,
    pub frontend: FrontendConfig,
    pub spool_dir: PathBuf,
    pub worker: WorkerConfig,
    pub zones: Vec<Zone>,
    pub users: Vec<User>,
    /// The `password_hash_file` of each user that has one (one entry per such user), so
    /// `check-config` can judge who may read the secrets; every other hash is in the file itself.
    pub password_hash_files: Vec<PathBuf>,
    pub backends: Backends,
    /// `[notifier]` and `[[notify]]`: read by `dyndns-notify` only.
    pub notify: crate::notify::NotifyConfig,
}

impl Config {
    /// Whether the config file itself holds a password hash (and so must not be readable by all).
    pub fn holds_password_hashes(&self) -> bool {
        let hashed = self
            .users
            .iter()
            .filter(|user| user.password_hash.is_some())
            .count();
        hashed > self.password_hash_files.len()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// The frontend checks HTTP Basic credentials against `[[user]] password_hash`.
    Builtin,
    /// A trusted reverse proxy authenticated the user and names them in `proxy_user_header`.
    Proxy,
}

#[derive(Debug, Clone)]
pub struct FrontendConfig {
    pub listen: Listen,
    pub trusted_proxies: Vec<IpNet>,
    pub auth: AuthMode,
    pub proxy_user_header: String,
    /// The one header a trusted proxy names the client in; the others are ignored.
    pub client_address_header: ClientAddressHeader,
    pub limits: Limits,
    /// When `/health` calls the worker's heartbeat too old.
    pub heartbeat_check: HeartbeatCheck,
    /// SHA-256 of each bearer token `/status` and `/metrics` take
    /// (`[frontend] status_token_hashes`); none: both endpoints are off.
    pub status_token_hashes: TokenHashes,
}

/// How `/health` judges the worker's heartbeat (`[frontend] heartbeat_max_age_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatCheck {
    /// Not at all (`0`): the worker is watched some other way, or runs rarely from cron.
    Off,
    /// A beat older than this is too old.
    MaxAge(Duration),
    /// Not configured: twice the interval the heartbeat itself states, plus a minute. That is
    /// 2 minutes at the default `heartbeat_secs = 30`, which also covers the packaged cron file's
    /// half-minute gap between one `--timeout 3570` run's clean stop and the next run's start.
    FromInterval,
}

impl HeartbeatCheck {
    /// The oldest beat still recent, for a heartbeat that beats every `interval_secs`; `None`:
    /// the heartbeat is not checked.
    pub fn max_age(self, interval_secs: u64) -> Option<Duration> {
        match self {
            HeartbeatCheck::Off => None,
            HeartbeatCheck::MaxAge(age) => Some(age),
            HeartbeatCheck::FromInterval => Some(Duration::from_secs(
                interval_secs.saturating_mul(2).saturating_add(60),
            )),
        }
    }
}

/// Token hashes (`sha256:<hex>` in the file); printed as their number only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TokenHashes(pub Vec<[u8; 32]>);

impl std::fmt::Debug for TokenHashes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} token hash(es)", self.0.len())
    }
}

/// Where a trusted proxy puts the client's address. One, chosen by the operator: a proxy overwrites
/// only the header it sets, so reading any other would let the client choose its own address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAddressHeader {
    /// `X-Forwarded-For`: the rightmost address that is not a trusted proxy.
    XForwardedFor,
    /// `X-Real-IP`: one address.
    XRealIp,
    /// RFC 7239 `Forwarded`: the rightmost `for=` address that is not a trusted proxy.
    Forwarded,
}

impl ClientAddressHeader {
    /// The header's name as the config spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAddressHeader::XForwardedFor => "X-Forwarded-For",
            ClientAddressHeader::XRealIp => "X-Real-IP",
            ClientAddressHeader::Forwarded => "Forwarded",
        }
    }
}

/// Requests per minute; 0 switches a limit off. Only accepted changes and failed logins count:
/// a router repeating an unchanged address (`nochg`) is never limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_user_per_minute: u32,
    pub per_source_per_minute: u32,
    pub auth_failures_per_source_per_minute: u32,
    /// IPv6 sources are counted per network of this prefix length: one subscriber usually gets a
    /// whole /64 (or more) and can use any address in it.
    pub ipv6_source_prefix: u8,
}

impl Limits {
    /// Generous enough for a router that changes address every few seconds; tight enough to stop a
    /// script gone wild or a password guesser.
    pub const DEFAULT: Limits = Limits {
        per_user_per_minute: 60,
        per_source_per_minute: 120,
        auth_failures_per_source_per_minute: 10,
        ipv6_source_prefix: 64,
    };

    /// Shorter prefixes would put whole providers into one bucket.
    pub const IPV6_SOURCE_PREFIXES: std::ops::RangeInclusive<u8> = 32..=128;
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Which `[backend.*]` table applies changes of a zone that names none.
    pub backend: BackendKind,
    pub state_dir: PathBuf,
    /// How often the spool is rescanned in case a filesystem event was lost.
    pub rescan: Duration,
    /// How long dead letters stay in `failed/`; `None` keeps them for ever (`failed_keep_days = 0`).
    pub failed_keep: Option<Duration>,
    /// `history.jsonl` is rotated before it would grow past this many bytes.
    pub history_max_bytes: u64,
    /// Rotated history files kept (`history.jsonl.1` … `.<keep>`).
    pub history_keep: u32,
    /// How often a running worker replaces `heartbeat.json`.
    pub heartbeat: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BackendKind {
    Plesk,
    ZoneFile,
    PowerDns,
    Rfc2136,
    PleskApi,
    Cloudflare,
    DigitalOcean,
    Command,
    None,
}

impl BackendKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [BackendKind; 9] = [
        BackendKind::Plesk,
        BackendKind::ZoneFile,
        BackendKind::Rfc2136,
        BackendKind::PowerDns,
        BackendKind::PleskApi,
        BackendKind::Cloudflare,
        BackendKind::DigitalOcean,
        BackendKind::Command,
        BackendKind::None,
    ];

    /// The name in `[worker] backend`, `[[zone]] backend` and `[backend.<name>]`.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Plesk => "plesk",
            BackendKind::ZoneFile => "zonefile",
            BackendKind::PowerDns => "powerdns",
            BackendKind::Rfc2136 => "rfc2136",
            BackendKind::PleskApi => "plesk-api",
            BackendKind::Cloudflare => "cloudflare",
            BackendKind::DigitalOcean => "digitalocean",
            BackendKind::Command => "command",
            BackendKind::None => "none",
        }
    }

    pub fn parse(name: &str) -> Option<BackendKind> {
        BackendKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// Updates are allowed for this name and the names below it.
    pub name: String,
    /// The zone as the backend knows it; equal to `name` or a parent of it.
    pub backend_zone: String,
    pub ttl: u32,
    pub allow_private_addresses: bool,
    /// The backend that applies this zone's changes (`[[zone]] backend`, else `[worker] backend`).
    pub backend: BackendKind,
    /// Whether a change may create a name the backend does not hold yet; when false it is
    /// dead-lettered instead.
    pub create_missing: bool,
}

impl Zone {
    /// `host` relative to the backend zone (`home.dyn` in `example.com`; empty at the apex);
    /// `None` when `host` does not lie in the backend zone.
    pub fn label_of(&self, host: &str) -> Option<String> {
        if host == self.backend_zone {
            return Some(String::new());
        }
        host.strip_suffix(&self.backend_zone)?
            .strip_suffix('.')
            .map(str::to_owned)
    }
}

#[derive(Clone)]
pub struct User {
    pub name: String,
    /// PHC string (argon2) or bcrypt; `None` in proxy auth mode, or for a user who signs in by
    /// token only.
    pub password_hash: Option<String>,
    /// SHA-256 of each update token (`[[user]] token_hashes = ["sha256:<hex>"]`).
    pub token_hashes: Vec<[u8; 32]>,
    pub hosts: Vec<HostPattern>,
    /// Hosts whose AAAA follows the prefix this user's router sends (`[[user.lan_host]]`).
    pub lan_hosts: Vec<LanHost>,
    /// `[[user]] admin = true`: the status page (`/status.html`) shows this user every host and
    /// the worker's queue, not only their own hosts. Grants nothing else: updates stay limited to
    /// `hosts` and `lan_hosts`.
    pub admin: bool,
}

impl User {
    /// A LAN host is the user's host too: a request may also name it (`hostname=`).
    pub fn may_update(&self, host: &str) -> bool {
        self.hosts.iter().any(|pattern| pattern.matches(host))
            || self.lan_hosts.iter().any(|lan_host| lan_host.name == host)
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<masked>"),
            )
            .field("token_hashes", &self.token_hashes.len())
            .field("hosts", &self.hosts)
            .field("lan_hosts", &self.lan_hosts)
            .field("admin", &self.admin)
            .finish()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Backends {
    pub plesk: Option<PleskConfig>,
    pub zonefile: Option<ZoneFileConfig>,
    pub powerdns: Option<PowerDnsConfig>,
    pub rfc2136: Option<Rfc2136Config>,
    pub plesk_api: Option<PleskApiConfig>,
    pub cloudflare: Option<CloudflareConfig>,
    pub digitalocean: Option<DigitalOceanConfig>,
    pub command: Option<CommandConfig>,
    /// `none` has no settings; it is always available.
    pub none: bool,
}

impl Backends {
    /// Whether the config has the `[backend.<kind>]` table (`none` needs none).
    pub fn has(&self, kind: BackendKind) -> bool {
        match kind {
            BackendKind::Plesk => self.plesk.is_some(),
            BackendKind::ZoneFile => self.zonefile.is_some(),
            BackendKind::PowerDns => self.powerdns.is_some(),
            BackendKind::Rfc2136 => self.rfc2136.is_some(),
            BackendKind::PleskApi => self.plesk_api.is_some(),
            BackendKind::Cloudflare => self.cloudflare.is_some(),
            BackendKind::DigitalOcean => self.digitalocean.is_some(),
            BackendKind::Command => self.command.is_some(),
            BackendKind::None => true,
        }
    }
}

/// Where a backend's secret comes from. It never sits in the config itself: only the worker reads
/// it, at start, so no config value, summary or log line holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The `*_file` key: a file (first line, trimmed), resolved against the config's folder.
    File(PathBuf),
    /// No `*_file` key: this variable of the worker's environment (systemd `Environment=`,
    /// `LoadCredential=` users set the file instead).
    Env(String),
}

impl std::fmt::Display for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::File(path) => write!(f, "file {}", path.display()),
            SecretSource::Env(name) => write!(f, "environment variable {name}"),
        }
    }
}

/// `[backend.plesk-api]`: the Plesk REST API v2 with an API key.
#[derive(Debug, Clone)]
pub struct PleskApiConfig {
    /// `https://plesk.example.com:8443`, without a trailing `/`.
    pub api_url: String,
    pub api_key: SecretSource,
    /// PEM file of the only certificates trusted for `api_url` (a private CA, or Plesk's own
    /// certificate); `None` trusts the public web PKI. Resolved, never read, by the config.
    pub tls_ca_file: Option<PathBuf>,
    pub timeout: Duration,
}

/// `[backend.cloudflare]`: the Cloudflare API v4 with an API token.
#[derive(Debug, Clone)]
pub struct CloudflareConfig {
    /// Default `https://api.cloudflare.com/client/v4`, without a trailing `/`.
    pub api_url: String,
    pub api_token: SecretSource,
    /// Whether records are proxied through Cloudflare (false: the address itself is published).
    pub proxied: bool,
    pub timeout: Duration,
}

/// `[backend.digitalocean]`: the DigitalOcean API v2 with a personal access token.
#[derive(Debug, Clone)]
pub struct DigitalOceanConfig {
    /// Default `https://api.digitalocean.com/v2`, without a trailing `/`.
    pub api_url: String,
    pub api_token: SecretSource,
    pub timeout: Duration,
}

/// `[backend.command]`: one program run per change.
#[derive(Debug, Clone)]
pub struct CommandConfig {
    /// argv with placeholders (`{host}`, `{zone}`, `{label}`, `{type}`, `{value}`, `{values}`,
    /// `{ttl}`, `{action}`; see `command_template.rs`), never a shell.
    pub command: Vec<String>,
    pub timeout: Duration,
    /// Exit statuses that mean "try again later"; any other non-zero status is permanent.
    pub transient_exit_codes: Vec<i32>,
}

/// `[backend.powerdns]`: the PowerDNS Authoritative HTTP API.
#[derive(Debug, Clone)]
pub struct PowerDnsConfig {
    /// `http://127.0.0.1:8081`, without a trailing `/`.
    pub api_url: String,
    pub server_id: String,
    pub api_key: SecretSource,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct PleskConfig {
    /// argv prefix, never a shell: `["plesk", "bin", "dns"]`.
    pub command: Vec<String>,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct ZoneFileConfig {
    /// May contain `{zone}`, replaced by the backend zone.
    pub path: PathBuf,
    pub reload: Option<Vec<String>>,
    pub reload_timeout: Duration,
    pub nameserver: Option<String>,
    pub hostmaster: Option<String>,
}

/// `[backend.rfc2136]`: DNS UPDATE signed with TSIG. The secret stays in its file: only the worker
/// reads it, so no config value (or summary, or log) ever holds it.
#[derive(Debug, Clone)]
pub struct Rfc2136Config {
    /// `host:port` of the primary server that takes updates.
    pub server: String,
    pub tsig_key_name: String,
    /// `hmac-sha256` or `hmac-sha512`.
    pub tsig_algorithm: String,
    /// The base64 secret alone or a BIND key file.
    pub tsig_secret: SecretSource,
    pub timeout: Duration,
}
