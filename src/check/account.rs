//! Why this exists: check-config judges owners and modes from the frontend user's side while it runs
//! as root (or anyone), so it works out what that user may do to a path from the path's owner, group
//! and mode bits, the way the kernel does for an unprivileged process.

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;

use nix::unistd::{getgrouplist, Gid, Uid, User};

/// Read, write or search/execute, as in the mode bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read = 4,
    Write = 2,
    Search = 1,
}

/// The user the frontend runs as, with every group it is in.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub uid: Uid,
    groups: Vec<Gid>,
}

/// Why the frontend's user cannot be looked up.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("there is no user `{0}` on this machine")]
    NoSuchUser(String),
    #[error("cannot look up user `{name}`: {cause}")]
    Lookup { name: String, cause: nix::Error },
}

impl Account {
    pub fn lookup(name: &str) -> Result<Account, AccountError> {
        let lookup = |cause| AccountError::Lookup {
            name: name.to_owned(),
            cause,
        };
        let user = User::from_name(name)
            .map_err(lookup)?
            .ok_or_else(|| AccountError::NoSuchUser(name.to_owned()))?;
        // A name from the passwd database has no NUL; if it had, the primary group is still right.
        let groups = CString::new(name)
            .ok()
            .and_then(|cname| getgrouplist(&cname, user.gid).ok())
            .unwrap_or_else(|| vec![user.gid]);
        Ok(Account {
            name: user.name,
            uid: user.uid,
            groups,
        })
    }

    #[cfg(test)]
    pub fn for_test(uid: u32, groups: &[u32]) -> Account {
        Account {
            name: format!("uid{uid}"),
            uid: Uid::from_raw(uid),
            groups: groups.iter().copied().map(Gid::from_raw).collect(),
        }
    }

    pub fn is_root(&self) -> bool {
        self.uid.is_root()
    }

    pub fn owns(&self, metadata: &impl Owned) -> bool {
        metadata.owner() == self.uid.as_raw()
    }

    /// Whether this user may `access` a path (ACLs aside): the owner's bits if it owns it, else the
    /// group's if it is in the group, else the others'. Root may do anything (it may not execute a
    /// file without any x bit, which does not matter for the folders and files checked here).
    pub fn may(&self, metadata: &impl Owned, access: Access) -> bool {
        if self.is_root() {
            return true;
        }
        let mode = metadata.mode_bits();
        let bits = if self.owns(metadata) {
            mode >> 6
        } else if self
            .groups
            .iter()
            .any(|gid| gid.as_raw() == metadata.group())
        {
            mode >> 3
        } else {
            mode
        };
        bits & access as u32 != 0
    }

    /// The first folder on the way to `path` this user may not enter, if any: a file is only
    /// readable if every folder above it can be searched.
    pub fn blocked_at(&self, path: &std::path::Path) -> Option<std::path::PathBuf> {
        path.ancestors().skip(1).find_map(|folder| {
            let metadata = std::fs::metadata(folder).ok()?;
            (!self.may(&metadata, Access::Search)).then(|| folder.to_path_buf())
        })
    }

    /// May change what is in a folder or file: write permission, or ownership (an owner can chmod).
    pub fn controls(&self, metadata: &impl Owned) -> bool {
        self.owns(metadata) || self.may(metadata, Access::Write)
    }
}

/// Owner, group and mode of a path: `std::fs::Metadata`, or made-up values in tests.
pub trait Owned {
    fn owner(&self) -> u32;
    fn group(&self) -> u32;
    fn mode_bits(&self) -> u32;
}

impl Owned for std::fs::Metadata {
    fn owner(&self) -> u32 {
        self.uid()
    }
    fn group(&self) -> u32 {
        self.gid()
    }
    fn mode_bits(&self) -> u32 {
        self.mode() & 0o7777
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (owner, group, mode)
    struct Fake(u32, u32, u32);

    impl Owned for Fake {
        fn owner(&self) -> u32 {
            self.0
        }
        fn group(&self) -> u32 {
            self.1
        }
        fn mode_bits(&self) -> u32 {
            self.2
        }
    }

    #[test]
    fn owner_group_and_others_bits_are_chosen_like_the_kernel() {
        let folder = Fake(0, 100, 0o750);
        let member = Account::for_test(1000, &[1000, 100]);
        let stranger = Account::for_test(1001, &[1001]);
        assert!(member.may(&folder, Access::Read) && member.may(&folder, Access::Search));
        assert!(!member.may(&folder, Access::Write) && !member.controls(&folder));
        assert!(!stranger.may(&folder, Access::Read));
        assert!(stranger.may(&Fake(0, 100, 0o755), Access::Read));
        assert!(
            Account::for_test(0, &[0]).may(&folder, Access::Write),
            "root"
        );
    }

    #[test]
    fn the_owner_class_wins_even_when_the_group_would_allow_more() {
        let folder = Fake(1000, 100, 0o570);
        let owner = Account::for_test(1000, &[100]);
        assert!(!owner.may(&folder, Access::Write));
        assert!(owner.controls(&folder), "an owner can chmod");
    }
}
