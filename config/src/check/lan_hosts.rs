//! Why this exists: the checks of `[[user.lan_host]]` tables (a name inside a zone, exactly one of
//! `interface_id` or `mac`, each name belonging to one user), kept beside `check.rs`'s other user
//! checks without growing it.

use crate::lan_host::{self, LanHost};
use crate::locate::Step;
use crate::names::{self, HostPattern};
use crate::raw::RawLanHost;
use crate::{ConfigError, User, Zone};

use super::Checker;

impl Checker<'_> {
    /// The LAN hosts of user number `user_index`, each checked on its own.
    pub(super) fn check_lan_hosts(
        &self,
        user_index: usize,
        entries: &[RawLanHost],
        zones: &[Zone],
    ) -> Result<Vec<LanHost>, ConfigError> {
        let mut lan_hosts = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let table = vec![
                Step::Key("user".into()),
                Step::Index(user_index),
                Step::Key("lan_host".into()),
                Step::Index(index),
            ];
            let at = |key: &str| {
                let mut path = table.clone();
                path.push(Step::Key(key.into()));
                path
            };
            let name = names::normalize_host(&entry.name)
                .map(std::borrow::Cow::into_owned)
                .map_err(|err| self.error(&at("name"), format!("`{}`: {err}", entry.name)))?;
            if !zones
                .iter()
                .any(|zone| names::is_at_or_below(&name, &zone.name))
            {
                return Err(self.error(
                    &at("name"),
                    format!("`{name}` is outside every configured zone"),
                ));
            }
            let interface_id = match (&entry.interface_id, &entry.mac) {
                (Some(_), Some(_)) => {
                    return Err(self.error(&at("mac"), "give `interface_id` or `mac`, not both"))
                }
                (None, None) => {
                    return Err(self.error(
                        &table,
                        format!("LAN host `{name}` needs `interface_id` or `mac`"),
                    ))
                }
                (Some(text), None) => lan_host::interface_id(text)
                    .map_err(|err| self.error(&at("interface_id"), err.to_string()))?,
                (None, Some(text)) => lan_host::interface_id_from_mac(text)
                    .map_err(|err| self.error(&at("mac"), err.to_string()))?,
            };
            lan_hosts.push(LanHost { name, interface_id });
        }
        Ok(lan_hosts)
    }

    /// Each LAN host name belongs to one user: configured once, and no other user names it as an
    /// exact host (two routers would move its address back and forth).
    pub(super) fn check_lan_host_names(&self, users: &[User]) -> Result<(), ConfigError> {
        for (user_index, user) in users.iter().enumerate() {
            for (index, lan_host) in user.lan_hosts.iter().enumerate() {
                let path = [
                    Step::Key("user".into()),
                    Step::Index(user_index),
                    Step::Key("lan_host".into()),
                    Step::Index(index),
                    Step::Key("name".into()),
                ];
                let earlier = users[..=user_index]
                    .iter()
                    .flat_map(|earlier| earlier.lan_hosts.iter().map(move |lan| (earlier, lan)))
                    .take_while(|(_, lan)| !std::ptr::eq(*lan, lan_host))
                    .find(|(_, lan)| lan.name == lan_host.name);
                if let Some((owner, _)) = earlier {
                    return Err(self.error(
                        &path,
                        format!(
                            "LAN host `{}` is configured twice (also a LAN host of user `{}`)",
                            lan_host.name, owner.name
                        ),
                    ));
                }
                let exact = |pattern: &HostPattern| matches!(pattern, HostPattern::Exact(name) if *name == lan_host.name);
                let other = users
                    .iter()
                    .filter(|other| other.name != user.name)
                    .find(|other| other.hosts.iter().any(exact));
                if let Some(other) = other {
                    return Err(self.error(
                        &path,
                        format!(
                            "LAN host `{}` is also a host of user `{}`: a LAN host belongs to one user",
                            lan_host.name, other.name
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}
