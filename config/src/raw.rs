//! Why this exists: the config file exactly as written, with serde rejecting unknown keys; `lib.rs`
//! turns it into the checked [`crate::Config`].

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub frontend: RawFrontend,
    pub spool: RawSpool,
    pub worker: RawWorker,
    #[serde(default)]
    pub zone: Vec<RawZone>,
    #[serde(default)]
    pub user: Vec<RawUser>,
    #[serde(default)]
    pub backend: RawBackends,
    pub notifier: Option<RawNotifier>,
    #[serde(default)]
    pub notify: Vec<RawNotify>,
}

/// `[notifier]`: the notifier's own settings (its targets are `[[notify]]`: TOML cannot have a
/// `[notify]` table and `[[notify]]` tables at once).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotifier {
    pub state_dir: Option<String>,
}

/// `[[notify]]`: one place notifications go.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    pub kind: String,
    pub url: Option<String>,
    pub command: Option<Vec<String>>,
    pub token_file: Option<String>,
    pub on: Option<Vec<String>>,
    pub users: Option<Vec<String>>,
    pub min_interval: Option<RawInterval>,
    pub timeout_secs: Option<u64>,
    pub to: Option<Vec<String>>,
    pub from: Option<String>,
}

/// `min_interval = 300` or `min_interval = "5m"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawInterval {
    Secs(u64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFrontend {
    pub listen: String,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    pub auth: Option<String>,
    pub proxy_user_header: Option<String>,
    pub client_address_header: Option<String>,
    pub heartbeat_max_age_secs: Option<u64>,
    #[serde(default)]
    pub status_token_hashes: Vec<String>,
    pub limits: Option<RawLimits>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub per_user_per_minute: Option<u32>,
    pub per_source_per_minute: Option<u32>,
    pub auth_failures_per_source_per_minute: Option<u32>,
    pub ipv6_source_prefix: Option<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpool {
    pub dir: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorker {
    pub backend: String,
    pub state_dir: String,
    pub rescan_secs: Option<u64>,
    pub failed_keep_days: Option<u64>,
    pub history_max_bytes: Option<u64>,
    pub history_keep: Option<u32>,
    pub heartbeat_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawZone {
    pub name: String,
    pub backend_zone: Option<String>,
    pub ttl: Option<u32>,
    pub allow_private_addresses: Option<bool>,
    pub backend: Option<String>,
    pub create_missing: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    pub name: String,
    pub password_hash: Option<String>,
    pub password_hash_file: Option<String>,
    #[serde(default)]
    pub token_hashes: Vec<String>,
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub lan_host: Vec<RawLanHost>,
    pub admin: Option<bool>,
}

/// `[[user.lan_host]]`: a name and exactly one of `interface_id` or `mac`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLanHost {
    pub name: String,
    pub interface_id: Option<String>,
    pub mac: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackends {
    pub plesk: Option<RawPlesk>,
    pub zonefile: Option<RawZoneFile>,
    pub powerdns: Option<RawPowerDns>,
    pub rfc2136: Option<RawRfc2136>,
    #[serde(rename = "plesk-api")]
    pub plesk_api: Option<RawPleskApi>,
    pub cloudflare: Option<RawCloudflare>,
    pub digitalocean: Option<RawDigitalOcean>,
    pub command: Option<RawCommand>,
    // Accepted (it has no keys) so a `[backend.none]` table is not an unknown key.
    #[allow(dead_code)]
    pub none: Option<RawNone>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlesk {
    pub command: Option<Vec<String>>,
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPowerDns {
    pub api_url: String,
    pub server_id: Option<String>,
    pub api_key_file: Option<String>,
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawZoneFile {
    pub path: String,
    pub reload: Option<Vec<String>>,
    pub reload_timeout_secs: Option<u64>,
    pub nameserver: Option<String>,
    pub hostmaster: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRfc2136 {
    pub server: String,
    pub tsig_key_name: String,
    pub tsig_algorithm: String,
    pub tsig_secret_file: Option<String>,
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPleskApi {
    pub api_url: String,
    pub api_key_file: Option<String>,
    pub tls_ca_file: Option<String>,
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCloudflare {
    pub api_url: Option<String>,
    pub api_token_file: Option<String>,
    pub proxied: Option<bool>,
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDigitalOcean {
    pub api_url: Option<String>,
    pub api_token_file: Option<String>,
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCommand {
    pub command: Vec<String>,
    pub timeout_secs: Option<u64>,
    pub transient_exit_codes: Option<Vec<i32>>,
}

/// `[backend.none]` has no keys; the table may be left out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNone {}
