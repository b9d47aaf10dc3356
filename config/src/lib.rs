//! Why this exists: the one config file both binaries read, checked once here so the frontend and the
//! worker agree on zones, users, hosts and backends, and every mistake names file:line:column:key.

mod error;
mod locate;
pub mod password_hash;
mod raw;
mod rejection;
mod summary;

// Host names, user names and publishable addresses are defined once, in `dyndns-names`; these paths stay for callers.
pub use dyndns_names::{address, names, user_name};

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

pub use error::ConfigError;
use locate::Step;
use names::HostPattern;
use raw::{RawConfig, RawZoneFile};
pub use rejection::JobRejection;
pub use summary::summary;

/// Where the config lives when neither `--config` nor `$DYNDNS_CONFIG` says otherwise.
pub const DEFAULT_PATH: &str = "/etc/dyndns/dyndns.toml";

/// `PATH` for the worker's backend commands: a bare program name in `[backend.plesk] command` or
/// `[backend.zonefile] reload` is looked up here, never in the caller's environment.
/// `dyndns check-config` looks there too.
pub const WORKER_COMMAND_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The environment variable naming the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "DYNDNS_CONFIG";

/// `--config PATH`, else `$DYNDNS_CONFIG`, else [`DEFAULT_PATH`]. An empty value counts as unset
/// (`DYNDNS_CONFIG= dyndns serve`, or a unit's `Environment=DYNDNS_CONFIG=`), so both binaries read
/// the variable here and not through clap, which refuses an empty value.
pub fn resolve_path(option: Option<&Path>) -> PathBuf {
    resolve_path_with(option, std::env::var_os(CONFIG_ENV))
}

fn resolve_path_with(option: Option<&Path>, env: Option<std::ffi::OsString>) -> PathBuf {
    let given = |path: &&Path| !path.as_os_str().is_empty();
    if let Some(path) = option.filter(given) {
        return path.to_path_buf();
    }
    env.map(PathBuf::from)
        .filter(|path| !path.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH))
}

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
    pub limits: Limits,
}

/// Requests per minute; 0 switches a limit off. Only accepted changes and failed logins count:
/// a router repeating an unchanged address (`nochg`) is never limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_user_per_minute: u32,
    pub per_source_per_minute: u32,
    pub auth_failures_per_source_per_minute: u32,
}

impl Limits {
    /// Generous enough for a router that changes address every few seconds; tight enough to stop a
    /// script gone wild or a password guesser.
    const DEFAULT: Limits = Limits {
        per_user_per_minute: 60,
        per_source_per_minute: 120,
        auth_failures_per_source_per_minute: 10,
    };
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Which `[backend.*]` table applies changes.
    pub backend: BackendKind,
    pub state_dir: PathBuf,
    /// How often the spool is rescanned in case a filesystem event was lost.
    pub rescan: Duration,
    /// How long dead letters stay in `failed/`; `None` keeps them for ever (`failed_keep_days = 0`).
    pub failed_keep: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Plesk,
    ZoneFile,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Plesk => "plesk",
            BackendKind::ZoneFile => "zonefile",
        }
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
    /// PHC string (argon2) or bcrypt; `None` only in proxy auth mode.
    pub password_hash: Option<String>,
    pub hosts: Vec<HostPattern>,
}

impl User {
    pub fn may_update(&self, host: &str) -> bool {
        self.hosts.iter().any(|pattern| pattern.matches(host))
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
            .field("hosts", &self.hosts)
            .finish()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Backends {
    pub plesk: Option<PleskConfig>,
    pub zonefile: Option<ZoneFileConfig>,
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

impl Config {
    /// Reads and checks the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|err| ConfigError {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            key: String::new(),
            message: format!("cannot read the config file: {err}{}", unreadable_fix(&err)),
        })?;
        Config::parse(&source, path)
    }

    /// Checks config text; `path` names it in errors and anchors relative paths.
    pub fn parse(source: &str, path: &Path) -> Result<Config, ConfigError> {
        let checker = Checker { source, path };
        let raw = checker.deserialize()?;
        checker.check(raw)
    }

    /// The zone a canonical host name lies in (the longest matching zone name).
    pub fn zone_for(&self, host: &str) -> Option<&Zone> {
        self.zones
            .iter()
            .filter(|zone| names::is_at_or_below(host, &zone.name))
            .max_by_key(|zone| zone.name.len())
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|user| user.name == name)
    }

    /// The rule the worker re-applies to every job: the host is canonical, inside a zone, the user
    /// exists and may update it, and the address may be published in that zone.
    pub fn check_job(
        &self,
        user: &str,
        host: &str,
        addresses: &[IpAddr],
    ) -> Result<&Zone, JobRejection> {
        let canonical = names::normalize_host(host).map_err(|problem| JobRejection::BadHost {
            host: host.to_owned(),
            problem,
        })?;
        if canonical != host {
            return Err(JobRejection::NotCanonical {
                host: host.to_owned(),
            });
        }
        let zone = self
            .zone_for(host)
            .ok_or_else(|| JobRejection::OutsideZones {
                host: host.to_owned(),
            })?;
        let user_entry = self.user(user).ok_or_else(|| JobRejection::UnknownUser {
            user: user.to_owned(),
        })?;
        if !user_entry.may_update(host) {
            return Err(JobRejection::NotAllowed {
                user: user.to_owned(),
                host: host.to_owned(),
            });
        }
        for address in addresses {
            address::check_address(*address, zone.allow_private_addresses).map_err(|problem| {
                JobRejection::Unpublishable {
                    address: *address,
                    host: host.to_owned(),
                    problem,
                }
            })?;
        }
        Ok(zone)
    }
}

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
        let zones = self.check_zones(&raw)?;
        let (users, password_hash_files) = self.check_users(&raw, &zones, frontend.auth)?;
        let backends = self.check_backends(&raw)?;
        let backend = match raw.worker.backend.as_str() {
            "plesk" if backends.plesk.is_some() => BackendKind::Plesk,
            "zonefile" if backends.zonefile.is_some() => BackendKind::ZoneFile,
            "plesk" | "zonefile" => {
                return Err(self.error(
                    &key_path(&["worker", "backend"]),
                    format!("there is no [backend.{}] table", raw.worker.backend),
                ))
            }
            other => {
                return Err(self.error(
                    &key_path(&["worker", "backend"]),
                    format!("unknown backend `{other}` (expected `plesk` or `zonefile`)"),
                ))
            }
        };
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
        Ok(Config {
            source: self.path.to_path_buf(),
            frontend,
            spool_dir: self.resolve(&raw.spool.dir),
            worker: WorkerConfig {
                backend,
                state_dir: self.resolve(&raw.worker.state_dir),
                rescan: Duration::from_secs(rescan_secs),
                failed_keep,
            },
            zones,
            users,
            password_hash_files,
            backends,
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
            });
        Ok(FrontendConfig {
            listen,
            trusted_proxies,
            auth,
            proxy_user_header,
            limits,
        })
    }

    fn check_zones(&self, raw: &RawConfig) -> Result<Vec<Zone>, ConfigError> {
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
            zones.push(Zone {
                name,
                backend_zone,
                ttl,
                allow_private_addresses: entry.allow_private_addresses.unwrap_or(false),
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
                (None, None) if auth == AuthMode::Proxy => None,
                (None, None) => {
                    return Err(self.error(
                        &[Step::Key("user".into()), Step::Index(index)],
                        format!(
                            "user `{}` needs `password_hash` or `password_hash_file`",
                            entry.name
                        ),
                    ))
                }
            };
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
            users.push(User {
                name: entry.name.clone(),
                password_hash,
                hosts,
            });
        }
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
                let timeout_secs = section.timeout_secs.unwrap_or(30);
                if timeout_secs == 0 {
                    return Err(self.error(
                        &key_path(&["backend", "plesk", "timeout_secs"]),
                        "must be at least 1",
                    ));
                }
                Some(PleskConfig {
                    command,
                    timeout: Duration::from_secs(timeout_secs),
                })
            }
        };
        let zonefile = match &raw.backend.zonefile {
            None => None,
            Some(section) => Some(self.check_zonefile(section)?),
        };
        Ok(Backends { plesk, zonefile })
    }

    fn check_zonefile(&self, section: &RawZoneFile) -> Result<ZoneFileConfig, ConfigError> {
        let reload = match &section.reload {
            None => None,
            Some(argv) => {
                Some(self.check_argv(argv.clone(), &key_path(&["backend", "zonefile", "reload"]))?)
            }
        };
        let reload_timeout_secs = section.reload_timeout_secs.unwrap_or(30);
        if reload_timeout_secs == 0 {
            return Err(self.error(
                &key_path(&["backend", "zonefile", "reload_timeout_secs"]),
                "must be at least 1",
            ));
        }
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
            reload_timeout: Duration::from_secs(reload_timeout_secs),
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

/// What usually fixes a config file that cannot be read.
fn unreadable_fix(err: &std::io::Error) -> &'static str {
    match err.kind() {
        std::io::ErrorKind::NotFound => {
            " (name it with --config PATH or $DYNDNS_CONFIG; dyndns.example.toml documents every key)"
        }
        std::io::ErrorKind::PermissionDenied => {
            " (packaged root:dyndns 0640 in /etc/dyndns, root:dyndns 0750: `dyndns serve` reads it \
             as user dyndns, dyndns-worker and check-config as root)"
        }
        _ => "",
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_dyndns_config_counts_as_unset() {
        let default = PathBuf::from(DEFAULT_PATH);
        assert_eq!(resolve_path_with(None, Some("".into())), default);
        assert_eq!(resolve_path_with(None, None), default);
        assert_eq!(
            resolve_path_with(None, Some("/x.toml".into())),
            Path::new("/x.toml")
        );
        assert_eq!(
            resolve_path_with(Some(Path::new("/y.toml")), Some("/x.toml".into())),
            Path::new("/y.toml"),
            "--config wins over the environment"
        );
        assert_eq!(
            resolve_path_with(Some(Path::new("")), Some("/x.toml".into())),
            Path::new("/x.toml")
        );
    }
}
