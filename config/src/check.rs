//! Why this exists: turns the file as written (`raw.rs`) into the checked [`Config`], and is the
//! one place that decides what a valid config is; every refusal names file:line:column:key.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

mod lan_hosts;
mod notify;

use crate::command_template::CommandTemplate;
use crate::locate::{self, Step};
use crate::names::HostPattern;
use crate::raw::{
    RawCloudflare, RawCommand, RawConfig, RawDigitalOcean, RawPleskApi, RawPowerDns, RawRfc2136,
    RawZoneFile,
};
use crate::{
    names, password_hash, user_name, AuthMode, BackendKind, Backends, ClientAddressHeader,
    CloudflareConfig, CommandConfig, Config, ConfigError, DigitalOceanConfig, FrontendConfig,
    HeartbeatCheck, Limits, Listen, PleskApiConfig, PleskConfig, PowerDnsConfig, Rfc2136Config,
    SecretSource, TokenHashes, User, WorkerConfig, Zone, ZoneFileConfig,
};

/// Checks config text; `path` names it in errors and anchors relative paths.
pub(crate) fn parse(source: &str, path: &Path) -> Result<Config, ConfigError> {
    let checker = Checker { source, path };
    let raw = checker.deserialize()?;
    checker.check(raw)
}

/// The longest `timeout_secs`: a request's deadline is now plus the timeout, and a number near
/// the largest TOML integer overflows the clock (every request panicked).
const MAX_TIMEOUT_SECS: u64 = 86_400;

struct Checker<'a> {
    source: &'a str,
    path: &'a Path,
}

impl Checker<'_> {
    fn deserialize(&self) -> Result<RawConfig, ConfigError> {
        let deserializer = toml::Deserializer::new(self.source);
        serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let mut key = err.path().to_string();
            if key == "." {
                key.clear();
            }
            let inner = err.into_inner();
            let message = inner.message().to_string();
            // serde reports an unknown or missing key at its table; name the key itself.
            let named = ["unknown field `", "missing field `"]
                .iter()
                .find_map(|prefix| {
                    message
                        .strip_prefix(prefix)
                        .and_then(|rest| rest.split('`').next())
                });
            if let Some(field) = named {
                if key.is_empty() {
                    key = field.to_string();
                } else if !key.ends_with(&format!(".{field}")) && key != field {
                    key = format!("{key}.{field}");
                }
            }
            let (line, column) = inner
                .span()
                .map_or((1, 1), |span| locate::line_column(self.source, span.start));
            ConfigError {
                path: self.path.to_path_buf(),
                line,
                column,
                key,
                message,
            }
        })
    }

    fn error(&self, path: &[Step], message: impl Into<String>) -> ConfigError {
        let (line, column) = locate::offset_of(self.source, path)
            .map_or((1, 1), |offset| locate::line_column(self.source, offset));
        ConfigError {
            path: self.path.to_path_buf(),
            line,
            column,
            key: locate::render(path),
            message: message.into(),
        }
    }

    fn resolve(&self, value: &str) -> PathBuf {
        let path = Path::new(value);
        if path.is_absolute() {
            return path.to_path_buf();
        }
        let folder = self.path.parent().unwrap_or_else(|| Path::new("."));
        folder.join(path)
    }

    fn check(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let frontend = self.check_frontend(&raw)?;
        let backends = self.check_backends(&raw)?;
        let backend = self.check_backend_name(
            &raw.worker.backend,
            &key_path(&["worker", "backend"]),
            &backends,
        )?;
        let zones = self.check_zones(&raw, backend, &backends)?;
        let (users, password_hash_files) = self.check_users(&raw, &zones, frontend.auth)?;
        let rescan_secs = raw.worker.rescan_secs.unwrap_or(5);
        if rescan_secs == 0 {
            return Err(self.error(&key_path(&["worker", "rescan_secs"]), "must be at least 1"));
        }
        let failed_keep = match raw.worker.failed_keep_days.unwrap_or(30) {
            0 => None,
            days @ 1..=36_500 => Some(Duration::from_secs(days * 86_400)),
            _ => {
                return Err(self.error(
                    &key_path(&["worker", "failed_keep_days"]),
                    "must be at most 36500 (use 0 to keep dead letters for ever)",
                ))
            }
        };
        let history_max_bytes = raw.worker.history_max_bytes.unwrap_or(10 << 20);
        if !(4096..=1 << 40).contains(&history_max_bytes) {
            return Err(self.error(
                &key_path(&["worker", "history_max_bytes"]),
                "must be between 4096 and 1099511627776 (1 TiB)",
            ));
        }
        let history_keep = raw.worker.history_keep.unwrap_or(5);
        if !(1..=1000).contains(&history_keep) {
            return Err(self.error(
                &key_path(&["worker", "history_keep"]),
                "must be between 1 and 1000",
            ));
        }
        let heartbeat_secs = raw.worker.heartbeat_secs.unwrap_or(30);
        if !(1..=3600).contains(&heartbeat_secs) {
            return Err(self.error(
                &key_path(&["worker", "heartbeat_secs"]),
                "must be between 1 and 3600",
            ));
        }
        let notify = self.check_notify(&raw, &users)?;
        Ok(Config {
            source: self.path.to_path_buf(),
            frontend,
            spool_dir: self.resolve(&raw.spool.dir),
            worker: WorkerConfig {
                backend,
                state_dir: self.resolve(&raw.worker.state_dir),
                rescan: Duration::from_secs(rescan_secs),
                failed_keep,
                history_max_bytes,
                history_keep,
                heartbeat: Duration::from_secs(heartbeat_secs),
            },
            zones,
            users,
            password_hash_files,
            backends,
            notify,
        })
    }

    fn check_frontend(&self, raw: &RawConfig) -> Result<FrontendConfig, ConfigError> {
        let section = &raw.frontend;
        let listen = match section.listen.strip_prefix("unix:") {
            Some(socket) if !socket.is_empty() => Listen::Unix(self.resolve(socket)),
            Some(_) => {
                return Err(self.error(
                    &key_path(&["frontend", "listen"]),
                    "`unix:` needs a socket path",
                ))
            }
            None => Listen::Tcp(section.listen.parse().map_err(|_| {
                self.error(
                    &key_path(&["frontend", "listen"]),
                    format!(
                        "`{}` is neither `IP:PORT` nor `unix:/path/to/socket`",
                        section.listen
                    ),
                )
            })?),
        };
        let mut trusted_proxies = Vec::new();
        for (index, text) in section.trusted_proxies.iter().enumerate() {
            let net = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    let mut path = key_path(&["frontend", "trusted_proxies"]);
                    path.push(Step::Index(index));
                    self.error(&path, format!("`{text}` is not an address or CIDR network"))
                })?;
            trusted_proxies.push(net);
        }
        let auth = match section.auth.as_deref() {
            None | Some("builtin") => AuthMode::Builtin,
            Some("proxy") => AuthMode::Proxy,
            Some(other) => {
                return Err(self.error(
                    &key_path(&["frontend", "auth"]),
                    format!("unknown auth mode `{other}` (expected `builtin` or `proxy`)"),
                ))
            }
        };
        if auth == AuthMode::Proxy && trusted_proxies.is_empty() && matches!(listen, Listen::Tcp(_))
        {
            return Err(self.error(
                &key_path(&["frontend", "auth"]),
                "`proxy` auth needs `trusted_proxies` (or a unix socket listener): otherwise anyone could name a user",
            ));
        }
        let proxy_user_header = section
            .proxy_user_header
            .clone()
            .unwrap_or_else(|| "X-Remote-User".into());
        if invalid_header_name(&proxy_user_header) {
            return Err(self.error(
                &key_path(&["frontend", "proxy_user_header"]),
                format!("`{proxy_user_header}` is not a valid HTTP header name"),
            ));
        }
        let client_address_header = match section.client_address_header.as_deref() {
            None => ClientAddressHeader::XForwardedFor,
            Some(name) => [
                ClientAddressHeader::XForwardedFor,
                ClientAddressHeader::XRealIp,
                ClientAddressHeader::Forwarded,
            ]
            .into_iter()
            .find(|known| known.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                self.error(
                    &key_path(&["frontend", "client_address_header"]),
                    format!("unknown header `{name}` (expected `X-Forwarded-For`, `X-Real-IP` or `Forwarded`)"),
                )
            })?,
        };
        let limits = section
            .limits
            .as_ref()
            .map_or(Limits::DEFAULT, |raw| Limits {
                per_user_per_minute: raw
                    .per_user_per_minute
                    .unwrap_or(Limits::DEFAULT.per_user_per_minute),
                per_source_per_minute: raw
                    .per_source_per_minute
                    .unwrap_or(Limits::DEFAULT.per_source_per_minute),
                auth_failures_per_source_per_minute: raw
                    .auth_failures_per_source_per_minute
                    .unwrap_or(Limits::DEFAULT.auth_failures_per_source_per_minute),
                ipv6_source_prefix: raw
                    .ipv6_source_prefix
                    .unwrap_or(Limits::DEFAULT.ipv6_source_prefix),
            });
        if !Limits::IPV6_SOURCE_PREFIXES.contains(&limits.ipv6_source_prefix) {
            return Err(self.error(
                &key_path(&["frontend", "limits", "ipv6_source_prefix"]),
                format!(
                    "{} is not a prefix length from {} to {} (shorter ones put whole providers in one bucket)",
                    limits.ipv6_source_prefix,
                    Limits::IPV6_SOURCE_PREFIXES.start(),
                    Limits::IPV6_SOURCE_PREFIXES.end()
                ),
            ));
        }
        let heartbeat_check = match section.heartbeat_max_age_secs {
            None => HeartbeatCheck::FromInterval,
            Some(0) => HeartbeatCheck::Off,
            Some(secs @ 1..=604_800) => HeartbeatCheck::MaxAge(Duration::from_secs(secs)),
            Some(_) => {
                return Err(self.error(
                    &key_path(&["frontend", "heartbeat_max_age_secs"]),
                    "must be at most 604800 (a week); 0 does not check the heartbeat",
                ))
            }
        };
        let mut status_token_hashes = Vec::new();
        for (index, text) in section.status_token_hashes.iter().enumerate() {
            let mut path = key_path(&["frontend", "status_token_hashes"]);
            path.push(Step::Index(index));
            let hash = token_hash(text).ok_or_else(|| {
                self.error(
                    &path,
                    "expected `sha256:` and 64 hex digits, as `dyndns hash-password --token` prints",
                )
            })?;
            if status_token_hashes.contains(&hash) {
                return Err(self.error(&path, "this token is configured twice"));
            }
            status_token_hashes.push(hash);
        }
        Ok(FrontendConfig {
            listen,
            trusted_proxies,
            auth,
            proxy_user_header,
            client_address_header,
            limits,
            heartbeat_check,
            status_token_hashes: TokenHashes(status_token_hashes),
        })
    }

    /// A backend name (`[worker] backend`, `[[zone]] backend`) that has its `[backend.<name>]` table.
    fn check_backend_name(
        &self,
        name: &str,
        path: &[Step],
        backends: &Backends,
    ) -> Result<BackendKind, ConfigError> {
        match BackendKind::parse(name) {
            Some(kind) if backends.has(kind) => Ok(kind),
            Some(_) => Err(self.error(path, format!("there is no [backend.{name}] table"))),
            None => {
                let known: Vec<String> = BackendKind::ALL
                    .iter()
                    .map(|kind| format!("`{}`", kind.as_str()))
                    .collect();
                Err(self.error(
                    path,
                    format!(
                        "unknown backend `{name}` (expected one of {})",
                        known.join(", ")
                    ),
                ))
            }
        }
    }

    fn check_zones(
        &self,
        raw: &RawConfig,
        default_backend: BackendKind,
        backends: &Backends,
    ) -> Result<Vec<Zone>, ConfigError> {
        if raw.zone.is_empty() {
            return Err(self.error(
                &key_path(&["zone"]),
                "no [[zone]] is configured: updates would be refused for every host",
            ));
        }
        let mut zones: Vec<Zone> = Vec::new();
        for (index, entry) in raw.zone.iter().enumerate() {
            let at = |key: &str| {
                vec![
                    Step::Key("zone".into()),
                    Step::Index(index),
                    Step::Key(key.into()),
                ]
            };
            let name = names::normalize_host(&entry.name)
                .map(std::borrow::Cow::into_owned)
                .map_err(|err| self.error(&at("name"), format!("`{}`: {err}", entry.name)))?;
            if zones.iter().any(|zone| zone.name == name) {
                return Err(self.error(&at("name"), format!("zone `{name}` is configured twice")));
            }
            let backend_zone = match &entry.backend_zone {
                Some(text) => names::normalize_host(text)
                    .map(std::borrow::Cow::into_owned)
                    .map_err(|err| self.error(&at("backend_zone"), format!("`{text}`: {err}")))?,
                None => name.clone(),
            };
            if !names::is_at_or_below(&name, &backend_zone) {
                return Err(self.error(
                    &at("backend_zone"),
                    format!("`{backend_zone}` must be `{name}` or a parent of it"),
                ));
            }
            let ttl = entry.ttl.unwrap_or(60);
            if !(1..=86_400).contains(&ttl) {
                return Err(self.error(&at("ttl"), "must be between 1 and 86400 seconds"));
            }
            let backend = match &entry.backend {
                Some(text) => self.check_backend_name(text, &at("backend"), backends)?,
                None => default_backend,
            };
            zones.push(Zone {
                name,
                backend_zone,
                ttl,
                allow_private_addresses: entry.allow_private_addresses.unwrap_or(false),
                backend,
                create_missing: entry.create_missing.unwrap_or(true),
            });
        }
        Ok(zones)
    }

    fn check_users(
        &self,
        raw: &RawConfig,
        zones: &[Zone],
        auth: AuthMode,
    ) -> Result<(Vec<User>, Vec<PathBuf>), ConfigError> {
        let mut users: Vec<User> = Vec::new();
        let mut hash_files = Vec::new();
        for (index, entry) in raw.user.iter().enumerate() {
            let at = |key: &str| {
                vec![
                    Step::Key("user".into()),
                    Step::Index(index),
                    Step::Key(key.into()),
                ]
            };
            if let Some(problem) = user_name::user_name_problem(&entry.name) {
                return Err(self.error(&at("name"), problem.to_string()));
            }
            if entry.name.contains(':') {
                return Err(self.error(
                    &at("name"),
                    "it contains `:`, which HTTP Basic auth cannot carry in a user name",
                ));
            }
            if users.iter().any(|user| user.name == entry.name) {
                return Err(self.error(
                    &at("name"),
                    format!("user `{}` is configured twice", entry.name),
                ));
            }
            let password_hash = match (&entry.password_hash, &entry.password_hash_file) {
                (Some(_), Some(_)) => {
                    return Err(self.error(
                        &at("password_hash_file"),
                        "give `password_hash` or `password_hash_file`, not both",
                    ))
                }
                (Some(hash), None) => {
                    let hash = password_hash::check_hash(hash.trim())
                        .map_err(|err| self.error(&at("password_hash"), err.to_string()))?;
                    Some(hash)
                }
                (None, Some(file)) => {
                    let file = self.resolve(file);
                    let text = std::fs::read_to_string(&file).map_err(|err| {
                        self.error(
                            &at("password_hash_file"),
                            format!("cannot read {}: {err}", file.display()),
                        )
                    })?;
                    let hash = password_hash::check_hash(text.trim()).map_err(|err| {
                        self.error(
                            &at("password_hash_file"),
                            format!("{}: {err}", file.display()),
                        )
                    })?;
                    hash_files.push(file);
                    Some(hash)
                }
                (None, None) if auth == AuthMode::Proxy || !entry.token_hashes.is_empty() => None,
                (None, None) => {
                    return Err(self.error(
                        &[Step::Key("user".into()), Step::Index(index)],
                        format!(
                        "user `{}` needs `password_hash`, `password_hash_file` or `token_hashes`",
                        entry.name
                    ),
                    ))
                }
            };
            let mut token_hashes = Vec::new();
            for (token_index, text) in entry.token_hashes.iter().enumerate() {
                let mut path = at("token_hashes");
                path.push(Step::Index(token_index));
                let hash = token_hash(text).ok_or_else(|| {
                    self.error(
                        &path,
                        "expected `sha256:` and 64 hex digits, as `dyndns hash-password --token` prints",
                    )
                })?;
                let taken = users
                    .iter()
                    .any(|user: &User| user.token_hashes.contains(&hash))
                    || token_hashes.contains(&hash);
                if taken {
                    return Err(self.error(&path, "this token is configured twice"));
                }
                token_hashes.push(hash);
            }
            let mut hosts = Vec::new();
            for (host_index, text) in entry.hosts.iter().enumerate() {
                let mut path = at("hosts");
                path.push(Step::Index(host_index));
                let pattern = HostPattern::parse(text)
                    .map_err(|err| self.error(&path, format!("`{text}`: {err}")))?;
                if !zones
                    .iter()
                    .any(|zone| names::is_at_or_below(pattern.anchor(), &zone.name))
                {
                    return Err(
                        self.error(&path, format!("`{text}` is outside every configured zone"))
                    );
                }
                hosts.push(pattern);
            }
            let lan_hosts = self.check_lan_hosts(index, &entry.lan_host, zones)?;
            users.push(User {
                name: entry.name.clone(),
                password_hash,
                token_hashes,
                hosts,
                lan_hosts,
                admin: entry.admin.unwrap_or(false),
            });
        }
        self.check_lan_host_names(&users)?;
        Ok((users, hash_files))
    }

    fn check_backends(&self, raw: &RawConfig) -> Result<Backends, ConfigError> {
        let plesk = match &raw.backend.plesk {
            None => None,
            Some(section) => {
                let command = section
                    .command
                    .clone()
                    .unwrap_or_else(|| vec!["plesk".into(), "bin".into(), "dns".into()]);
                let command =
                    self.check_argv(command, &key_path(&["backend", "plesk", "command"]))?;
                let timeout = self.check_timeout(
                    section.timeout_secs,
                    30,
                    &key_path(&["backend", "plesk", "timeout_secs"]),
                )?;
                Some(PleskConfig { command, timeout })
            }
        };
        let zonefile = match &raw.backend.zonefile {
            None => None,
            Some(section) => Some(self.check_zonefile(section)?),
        };
        let rfc2136 = match &raw.backend.rfc2136 {
            None => None,
            Some(section) => Some(self.check_rfc2136(section)?),
        };
        let powerdns = match &raw.backend.powerdns {
            None => None,
            Some(section) => Some(self.check_powerdns(section)?),
        };
        let plesk_api = match &raw.backend.plesk_api {
            None => None,
            Some(section) => Some(self.check_plesk_api(section)?),
        };
        let cloudflare = match &raw.backend.cloudflare {
            None => None,
            Some(section) => Some(self.check_cloudflare(section)?),
        };
        let digitalocean = match &raw.backend.digitalocean {
            None => None,
            Some(section) => Some(self.check_digitalocean(section)?),
        };
        let command = match &raw.backend.command {
            None => None,
            Some(section) => Some(self.check_command(section)?),
        };
        Ok(Backends {
            plesk,
            zonefile,
            powerdns,
            rfc2136,
            plesk_api,
            cloudflare,
            digitalocean,
            command,
            none: true,
        })
    }

    /// `timeout_secs` of a backend table: 1 to [`MAX_TIMEOUT_SECS`], `default` when absent.
    fn check_timeout(
        &self,
        value: Option<u64>,
        default: u64,
        path: &[Step],
    ) -> Result<Duration, ConfigError> {
        match value.unwrap_or(default) {
            0 => Err(self.error(path, "must be at least 1")),
            secs if secs > MAX_TIMEOUT_SECS => {
                Err(self.error(path, format!("must be at most {MAX_TIMEOUT_SECS} (a day)")))
            }
            secs => Ok(Duration::from_secs(secs)),
        }
    }

    /// A secret's `*_file` key, or the environment variable named after it when the key is absent.
    fn check_secret(
        &self,
        file: Option<&String>,
        path: &[Step],
        env: &str,
    ) -> Result<SecretSource, ConfigError> {
        match file {
            Some(file) if file.is_empty() => Err(self.error(path, "must name a file")),
            Some(file) => Ok(SecretSource::File(self.resolve(file))),
            None => Ok(SecretSource::Env(env.to_owned())),
        }
    }

    /// An HTTP API's base URL: `http://` or `https://`, a host, and a path only where `with_path`.
    fn check_api_url(
        &self,
        url: &str,
        with_path: bool,
        path: &[Step],
    ) -> Result<String, ConfigError> {
        let url = url.trim_end_matches('/');
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        let Some(rest) = rest else {
            return Err(self.error(
                path,
                format!("`{url}`: must start with https:// or http://"),
            ));
        };
        let (authority, rest_path) = rest.split_once('/').unwrap_or((rest, ""));
        let bad_authority = authority.is_empty() || authority.contains(['?', '#', ' ', '@']);
        let bad_path =
            (!with_path && !rest_path.is_empty()) || rest_path.contains(['?', '#', ' ', '\\']);
        if bad_authority || bad_path {
            let shape = if with_path {
                "https://host[:port][/path] with no query"
            } else {
                "https://host[:port] with no path"
            };
            return Err(self.error(path, format!("`{url}`: must be {shape}")));
        }
        Ok(url.to_owned())
    }

    fn check_plesk_api(&self, section: &RawPleskApi) -> Result<PleskApiConfig, ConfigError> {
        let key = |name| key_path(&["backend", "plesk-api", name]);
        let api_url = self.check_api_url(&section.api_url, false, &key("api_url"))?;
        let tls_ca_file = match section.tls_ca_file.as_deref() {
            None => None,
            Some("") => return Err(self.error(&key("tls_ca_file"), "must name a PEM file")),
            // A CA for plain http would be silently unused: say so instead.
            Some(_) if !api_url.starts_with("https://") => {
                return Err(self.error(
                    &key("tls_ca_file"),
                    format!("only applies to an https:// api_url, and api_url is `{api_url}`"),
                ))
            }
            Some(file) => Some(self.resolve(file)),
        };
        Ok(PleskApiConfig {
            api_url,
            api_key: self.check_secret(
                section.api_key_file.as_ref(),
                &key("api_key_file"),
                "DYNDNS_PLESK_API_KEY",
            )?,
            tls_ca_file,
            timeout: self.check_timeout(section.timeout_secs, 30, &key("timeout_secs"))?,
        })
    }

    fn check_cloudflare(&self, section: &RawCloudflare) -> Result<CloudflareConfig, ConfigError> {
        let key = |name| key_path(&["backend", "cloudflare", name]);
        let api_url = section
            .api_url
            .as_deref()
            .unwrap_or("https://api.cloudflare.com/client/v4");
        Ok(CloudflareConfig {
            api_url: self.check_api_url(api_url, true, &key("api_url"))?,
            api_token: self.check_secret(
                section.api_token_file.as_ref(),
                &key("api_token_file"),
                "DYNDNS_CLOUDFLARE_API_TOKEN",
            )?,
            proxied: section.proxied.unwrap_or(false),
            timeout: self.check_timeout(section.timeout_secs, 30, &key("timeout_secs"))?,
        })
    }

    fn check_digitalocean(
        &self,
        section: &RawDigitalOcean,
    ) -> Result<DigitalOceanConfig, ConfigError> {
        let key = |name| key_path(&["backend", "digitalocean", name]);
        let api_url = section
            .api_url
            .as_deref()
            .unwrap_or("https://api.digitalocean.com/v2");
        Ok(DigitalOceanConfig {
            api_url: self.check_api_url(api_url, true, &key("api_url"))?,
            api_token: self.check_secret(
                section.api_token_file.as_ref(),
                &key("api_token_file"),
                "DYNDNS_DIGITALOCEAN_API_TOKEN",
            )?,
            timeout: self.check_timeout(section.timeout_secs, 30, &key("timeout_secs"))?,
        })
    }

    fn check_command(&self, section: &RawCommand) -> Result<CommandConfig, ConfigError> {
        let key = |name| key_path(&["backend", "command", name]);
        let command = self.check_argv(section.command.clone(), &key("command"))?;
        if let Err(error) = CommandTemplate::parse(&command) {
            let mut path = key("command");
            path.push(Step::Index(error.element()));
            return Err(self.error(&path, error.to_string()));
        }
        // EX_TEMPFAIL (sysexits.h): "temporary failure, try again later".
        let transient_exit_codes = section.transient_exit_codes.clone().unwrap_or(vec![75]);
        for (index, code) in transient_exit_codes.iter().enumerate() {
            if !(1..=255).contains(code) {
                let mut path = key("transient_exit_codes");
                path.push(Step::Index(index));
                return Err(
                    self.error(&path, format!("{code} is not an exit status from 1 to 255"))
                );
            }
        }
        Ok(CommandConfig {
            command,
            timeout: self.check_timeout(section.timeout_secs, 30, &key("timeout_secs"))?,
            transient_exit_codes,
        })
    }

    fn check_rfc2136(&self, section: &RawRfc2136) -> Result<Rfc2136Config, ConfigError> {
        let key = |name: &str| key_path(&["backend", "rfc2136", name]);
        // host:port, the port required: a DNS UPDATE to the wrong port is a silent timeout.
        let port = section
            .server
            .rsplit_once(':')
            .filter(|(host, _)| !host.is_empty())
            .and_then(|(_, port)| port.parse::<u16>().ok())
            .filter(|port| *port != 0);
        if port.is_none() {
            return Err(self.error(
                &key("server"),
                format!(
                    "`{}` is not host:port (e.g. `127.0.0.1:53`)",
                    section.server
                ),
            ));
        }
        names::absolute_domain_name(&section.tsig_key_name).map_err(|err| {
            self.error(
                &key("tsig_key_name"),
                format!("`{}`: {err}", section.tsig_key_name),
            )
        })?;
        let algorithm = section.tsig_algorithm.to_ascii_lowercase();
        if !matches!(algorithm.as_str(), "hmac-sha256" | "hmac-sha512") {
            return Err(self.error(
                &key("tsig_algorithm"),
                format!(
                    "unknown algorithm `{}` (expected `hmac-sha256` or `hmac-sha512`)",
                    section.tsig_algorithm
                ),
            ));
        }
        let tsig_secret = self.check_secret(
            section.tsig_secret_file.as_ref(),
            &key("tsig_secret_file"),
            "DYNDNS_RFC2136_TSIG_SECRET",
        )?;
        Ok(Rfc2136Config {
            server: section.server.clone(),
            tsig_key_name: section.tsig_key_name.clone(),
            tsig_algorithm: algorithm,
            tsig_secret,
            timeout: self.check_timeout(section.timeout_secs, 10, &key("timeout_secs"))?,
        })
    }

    fn check_powerdns(&self, section: &RawPowerDns) -> Result<PowerDnsConfig, ConfigError> {
        let key = |name| key_path(&["backend", "powerdns", name]);
        let api_url = self.check_api_url(&section.api_url, false, &key("api_url"))?;
        let server_id = section.server_id.as_deref().unwrap_or("localhost");
        if server_id.is_empty()
            || !server_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || server_id.starts_with('.')
        {
            return Err(self.error(
                &key("server_id"),
                format!("`{server_id}`: must be letters, digits, `-`, `_` or `.`"),
            ));
        }
        let api_key = self.check_secret(
            section.api_key_file.as_ref(),
            &key("api_key_file"),
            "DYNDNS_POWERDNS_API_KEY",
        )?;
        Ok(PowerDnsConfig {
            api_url,
            server_id: server_id.to_owned(),
            api_key,
            timeout: self.check_timeout(section.timeout_secs, 10, &key("timeout_secs"))?,
        })
    }

    fn check_zonefile(&self, section: &RawZoneFile) -> Result<ZoneFileConfig, ConfigError> {
        let reload = match &section.reload {
            None => None,
            Some(argv) => {
                Some(self.check_argv(argv.clone(), &key_path(&["backend", "zonefile", "reload"]))?)
            }
        };
        let reload_timeout = self.check_timeout(
            section.reload_timeout_secs,
            30,
            &key_path(&["backend", "zonefile", "reload_timeout_secs"]),
        )?;
        // Names the backend writes into a zone file it creates: refused here, not at the first change.
        for (key, value) in [
            ("nameserver", &section.nameserver),
            ("hostmaster", &section.hostmaster),
        ] {
            if let Some(value) = value {
                names::absolute_domain_name(value).map_err(|err| {
                    self.error(
                        &key_path(&["backend", "zonefile", key]),
                        format!("`{value}`: {err}"),
                    )
                })?;
            }
        }
        Ok(ZoneFileConfig {
            path: self.resolve(&section.path),
            reload,
            reload_timeout,
            nameserver: section.nameserver.clone(),
            hostmaster: section.hostmaster.clone(),
        })
    }

    /// An argv must name a program; a relative program path with a `/` resolves like other paths,
    /// a bare name is looked up in the worker's fixed PATH.
    fn check_argv(&self, mut argv: Vec<String>, path: &[Step]) -> Result<Vec<String>, ConfigError> {
        let Some(program) = argv.first() else {
            return Err(self.error(
                path,
                "must name a program (an argv list, never a shell command)",
            ));
        };
        if program.is_empty() {
            return Err(self.error(path, "the program name is empty"));
        }
        if program.contains('/') && !Path::new(program).is_absolute() {
            argv[0] = self.resolve(program).to_string_lossy().into_owned();
        }
        Ok(argv)
    }
}

/// `sha256:<64 hex digits>` as the 32 bytes it names.
fn token_hash(text: &str) -> Option<[u8; 32]> {
    let hex = text.trim().strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (byte, pair) in hash.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(hash)
}

fn key_path(keys: &[&str]) -> Vec<Step> {
    keys.iter()
        .map(|key| Step::Key((*key).to_string()))
        .collect()
}

/// HTTP header names are RFC 7230 tokens.
fn invalid_header_name(name: &str) -> bool {
    name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
