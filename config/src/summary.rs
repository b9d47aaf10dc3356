//! Why this exists: one masked description of the effective config, printed by `check-config` and
//! logged at startup, so operators see what is in force without ever seeing a secret.

use std::fmt::Write;

use crate::{AuthMode, BackendKind, Config, HeartbeatCheck, Listen};

/// Several lines, one fact each; password hashes appear only as their kind and `****`.
pub fn summary(config: &Config) -> String {
    let mut out = String::new();
    let frontend = &config.frontend;
    let _ = writeln!(out, "config: {}", config.source.display());
    let listen = match &frontend.listen {
        Listen::Tcp(address) => address.to_string(),
        Listen::Unix(path) => format!("unix:{}", path.display()),
    };
    let _ = writeln!(out, "frontend: listen {listen}");
    let auth = match frontend.auth {
        AuthMode::Builtin => "builtin (HTTP Basic checked by dyndns)".to_string(),
        AuthMode::Proxy => format!("proxy (user from header {})", frontend.proxy_user_header),
    };
    let _ = writeln!(out, "frontend: auth {auth}");
    let proxies: Vec<String> = frontend
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    let _ = writeln!(
        out,
        "frontend: trusted proxies [{}], client address from {}",
        proxies.join(", "),
        frontend.client_address_header.as_str()
    );
    let limits = frontend.limits;
    let _ = writeln!(
        out,
        "frontend: limits per user {}/min, per source {}/min, failed logins per source {}/min (0 = off), IPv6 sources per /{}",
        limits.per_user_per_minute, limits.per_source_per_minute, limits.auth_failures_per_source_per_minute, limits.ipv6_source_prefix
    );
    let heartbeat = match frontend.heartbeat_check {
        HeartbeatCheck::Off => "not checked".to_owned(),
        HeartbeatCheck::MaxAge(age) => format!("at most {}s old", age.as_secs()),
        HeartbeatCheck::FromInterval => "at most 2 beats and a minute old".to_owned(),
    };
    let _ = writeln!(
        out,
        "frontend: /health wants the worker's heartbeat {heartbeat}; /status and /metrics {}",
        match frontend.status_token_hashes.0.len() {
            0 => "off (no status_token_hashes)".to_owned(),
            count => format!("on ({count} token hash(es) ****)"),
        }
    );
    let _ = writeln!(out, "spool: {}", config.spool_dir.display());
    let keep = match config.worker.failed_keep {
        Some(keep) => format!("{} days", keep.as_secs() / 86_400),
        None => "for ever".to_owned(),
    };
    let _ = writeln!(
        out,
        "worker: backend {}, state {}, rescan every {}s, dead letters kept {keep}",
        config.worker.backend.as_str(),
        config.worker.state_dir.display(),
        config.worker.rescan.as_secs()
    );
    for zone in &config.zones {
        let _ = writeln!(
            out,
            "zone: {} (backend {}, backend zone {}, ttl {}{}{})",
            zone.name,
            zone.backend.as_str(),
            zone.backend_zone,
            zone.ttl,
            if zone.allow_private_addresses {
                ", private addresses allowed"
            } else {
                ""
            },
            if zone.create_missing {
                ""
            } else {
                ", existing names only"
            }
        );
    }
    for user in &config.users {
        let password = match user.password_hash.as_deref() {
            Some(hash) if hash.starts_with("$argon2") => "argon2 hash ****",
            Some(_) => "bcrypt hash ****",
            None if !user.token_hashes.is_empty() => "no password",
            None => "no password (proxy auth)",
        };
        let secret = match user.token_hashes.len() {
            0 => password.to_owned(),
            tokens => format!("{password}, {tokens} token hash(es) ****"),
        };
        let hosts: Vec<String> = user.hosts.iter().map(ToString::to_string).collect();
        let lan: Vec<String> = user
            .lan_hosts
            .iter()
            .map(|lan| format!("{} = prefix + {}", lan.name, lan.interface_id))
            .collect();
        let lan = if lan.is_empty() {
            String::new()
        } else {
            format!(" lan hosts [{}]", lan.join(", "))
        };
        let _ = writeln!(
            out,
            "user: {} ({secret}) hosts [{}]{lan}",
            user.name,
            hosts.join(", ")
        );
    }
    // A table no zone uses is allowed (the example has several); say it is not used.
    let unused = |kind: BackendKind| {
        if config.worker.backend == kind || config.zones.iter().any(|zone| zone.backend == kind) {
            ""
        } else {
            " (not used: no zone uses it)"
        }
    };
    if let Some(plesk) = &config.backends.plesk {
        let _ = writeln!(
            out,
            "backend plesk: {:?}, timeout {}s{}",
            plesk.command,
            plesk.timeout.as_secs(),
            unused(BackendKind::Plesk)
        );
    }
    if let Some(zonefile) = &config.backends.zonefile {
        let reload = match &zonefile.reload {
            Some(argv) => format!("reload {argv:?}"),
            None => "no reload command".to_owned(),
        };
        let _ = writeln!(
            out,
            "backend zonefile: {}, {reload}{}",
            zonefile.path.display(),
            unused(BackendKind::ZoneFile)
        );
    }
    if let Some(rfc2136) = &config.backends.rfc2136 {
        // The secret is never read here; the summary names only its file.
        let _ = writeln!(
            out,
            "backend rfc2136: server {}, key {} ({}), secret <masked> from {}, timeout {}s{}",
            rfc2136.server,
            rfc2136.tsig_key_name,
            rfc2136.tsig_algorithm,
            rfc2136.tsig_secret,
            rfc2136.timeout.as_secs(),
            unused(BackendKind::Rfc2136)
        );
    }
    if let Some(powerdns) = &config.backends.powerdns {
        // The key stays in its file: only the file's path is shown, never what it holds.
        let _ = writeln!(
            out,
            "backend powerdns: {} server {}, api key <masked> from {}, timeout {}s{}",
            powerdns.api_url,
            powerdns.server_id,
            powerdns.api_key,
            powerdns.timeout.as_secs(),
            unused(BackendKind::PowerDns)
        );
    }
    if let Some(plesk_api) = &config.backends.plesk_api {
        let trust = match &plesk_api.tls_ca_file {
            Some(path) => format!("certificates from {}", path.display()),
            None => "public certificate authorities".to_owned(),
        };
        let _ = writeln!(
            out,
            "backend plesk-api: {}, api key <masked> from {}, trusting {trust}, timeout {}s{}",
            plesk_api.api_url,
            plesk_api.api_key,
            plesk_api.timeout.as_secs(),
            unused(BackendKind::PleskApi)
        );
    }
    if let Some(cloudflare) = &config.backends.cloudflare {
        let _ = writeln!(
            out,
            "backend cloudflare: {}, api token <masked> from {}, proxied {}, timeout {}s{}",
            cloudflare.api_url,
            cloudflare.api_token,
            cloudflare.proxied,
            cloudflare.timeout.as_secs(),
            unused(BackendKind::Cloudflare)
        );
    }
    if let Some(digitalocean) = &config.backends.digitalocean {
        let _ = writeln!(
            out,
            "backend digitalocean: {}, api token <masked> from {}, timeout {}s{}",
            digitalocean.api_url,
            digitalocean.api_token,
            digitalocean.timeout.as_secs(),
            unused(BackendKind::DigitalOcean)
        );
    }
    if let Some(command) = &config.backends.command {
        let _ = writeln!(
            out,
            "backend command: {:?}, timeout {}s, transient exit codes {:?}{}",
            command.command,
            command.timeout.as_secs(),
            command.transient_exit_codes,
            unused(BackendKind::Command)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn summary_says_which_backend_is_unused_and_when_there_is_no_reload() {
        // The example has both tables; with the reload commented out it printed `reload []`.
        let example = include_str!("../../dyndns.example.toml")
            .replace("backend = \"plesk\"", "backend = \"zonefile\"")
            .replace("reload = [", "# reload = [");
        let config = crate::Config::parse(&example, Path::new("dyndns.toml")).unwrap();
        let text = super::summary(&config);
        assert!(
            text.contains("backend plesk: [\"plesk\", \"bin\", \"dns\"], timeout 30s (not used"),
            "{text}"
        );
        assert!(
            text.contains("backend zonefile: /var/lib/bind/{zone}.zone, no reload command\n"),
            "{text}"
        );
    }
}
