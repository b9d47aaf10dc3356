//! Why this exists: the one config file both binaries read, checked once here so the frontend and the
//! worker agree on zones, users, hosts and backends, and every mistake names file:line:column:key.

mod check;
pub mod command_template;
mod error;
pub mod lan_host;
mod locate;
mod model;
pub mod notify;
pub mod password_hash;
mod program;
mod raw;
mod rejection;
pub mod stdout;
mod summary;

// Host names, user names and publishable addresses are defined once, in `dyndns-names`; these paths stay for callers.
pub use dyndns_names::{address, names, user_name};

use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub use error::ConfigError;
pub use lan_host::LanHost;
pub use model::{
    AuthMode, BackendKind, Backends, ClientAddressHeader, CloudflareConfig, CommandConfig, Config,
    DigitalOceanConfig, FrontendConfig, HeartbeatCheck, Limits, Listen, PleskApiConfig,
    PleskConfig, PowerDnsConfig, Rfc2136Config, SecretSource, TokenHashes, User, WorkerConfig,
    Zone, ZoneFileConfig,
};
pub use program::{find_program, ProgramMissing};
pub use rejection::JobRejection;
pub use summary::summary;

/// The config file's text, kept to say where a key is written: check-config's findings about a
/// value that loaded (a token file no one can read) name its place as a [`ConfigError`] does.
pub struct KeyPlaces {
    path: PathBuf,
    source: Option<String>,
}

impl KeyPlaces {
    /// Reads `config`'s file again; if it cannot be, places are the key alone.
    pub fn read(config: &Config) -> KeyPlaces {
        KeyPlaces {
            path: config.source.clone(),
            source: std::fs::read_to_string(&config.source).ok(),
        }
    }

    /// `file:line:column: key `notify[0].token_file``, or `file: key `…`` where the text does
    /// not hold the key.
    pub fn place(&self, key: &str) -> String {
        let position = self.source.as_deref().and_then(|source| {
            locate::offset_of(source, &locate::parse(key))
                .map(|offset| locate::line_column(source, offset))
        });
        match position {
            Some((line, column)) => {
                format!("{}:{line}:{column}: key `{key}`", self.path.display())
            }
            None => format!("{}: key `{key}`", self.path.display()),
        }
    }
}

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

impl Config {
    /// Reads and checks the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let unreadable = |message: String| ConfigError {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            key: String::new(),
            message,
        };
        // A FIFO (or a device) at the config's path would block the read for good: at a SIGHUP
        // that is a frontend, worker or notifier that no longer serves, applies or stops.
        if let Ok(metadata) = std::fs::metadata(path) {
            if !metadata.is_file() {
                return Err(unreadable(
                    "cannot read the config file: not a regular file".to_owned(),
                ));
            }
        }
        let source = std::fs::read_to_string(path).map_err(|err| {
            unreadable(format!(
                "cannot read the config file: {err}{}",
                unreadable_fix(&err)
            ))
        })?;
        Config::parse(&source, path)
    }

    /// Checks config text; `path` names it in errors and anchors relative paths.
    pub fn parse(source: &str, path: &Path) -> Result<Config, ConfigError> {
        check::parse(source, path)
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
    /// exists and may update it, and each address may be published in that zone (a delete-only
    /// job has none to check).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_of_a_loaded_config_is_placed_by_line_and_column() {
        let places = KeyPlaces {
            path: PathBuf::from("/etc/dyndns/dyndns.toml"),
            source: Some(
                "[[notify]]\nkind = \"webhook\"\n\n[[notify]]\nkind = \"ntfy\"\n  token_file = \"t\"\n"
                    .into(),
            ),
        };
        assert_eq!(
            places.place("notify[1].token_file"),
            "/etc/dyndns/dyndns.toml:6:3: key `notify[1].token_file`"
        );
        assert_eq!(
            places.place("notifier.state_dir"),
            "/etc/dyndns/dyndns.toml: key `notifier.state_dir`",
            "a key not written (a default) has no place"
        );
    }

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
