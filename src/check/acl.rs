//! Why this exists: check-config judges owners and mode bits. A POSIX ACL can give other users more
//! than the mode bits show (and turns the group bits into a mask), so where one is set check-config
//! says it did not judge it, instead of reporting a path safe that it did not check.

use std::path::Path;

use super::Findings;

/// The extended attributes Linux keeps ACLs in: who may use the path, and what new entries in a
/// folder inherit. A file or folder whose ACL says no more than its mode has neither.
const ACLS: [(&str, &str); 2] = [
    ("system.posix_acl_access", "an access ACL"),
    ("system.posix_acl_default", "a default ACL"),
];

/// A warning for each ACL on `path`.
pub fn note(path: &Path, findings: &mut Findings) {
    for (attribute, kind) in ACLS {
        if has_attribute(path, attribute) {
            findings.warning(format!(
                "{}: has {kind}, which check-config does not judge: it may let other users read \
                 or change what the owner and mode checks call safe; `getfacl {}` shows it, \
                 `setfacl -b` removes it",
                path.display(),
                path.display()
            ));
        }
    }
}

/// Whether `path` has the extended attribute `name`. No such attribute, and a file system without
/// ACLs, is a no; any other error (the path cannot be reached) is reported by the caller's own
/// checks.
fn has_attribute(path: &Path, name: &str) -> bool {
    rustix::fs::getxattr_query(path, name).is_ok_and(|size| size > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal access ACL granting user `uid` read and write: version 2, then (tag, permissions,
    /// id) entries for the owner, the named user, the owning group, the mask and others.
    fn acl_granting(uid: u32) -> Vec<u8> {
        let mut acl = 2u32.to_le_bytes().to_vec();
        for (tag, permissions, id) in [
            (0x01u16, 6u16, u32::MAX),
            (0x02, 6, uid),
            (0x04, 4, u32::MAX),
            (0x10, 6, u32::MAX),
            (0x20, 0, u32::MAX),
        ] {
            acl.extend(tag.to_le_bytes());
            acl.extend(permissions.to_le_bytes());
            acl.extend(id.to_le_bytes());
        }
        acl
    }

    #[test]
    fn a_path_with_an_acl_is_said_to_be_unjudged() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("dyndns.toml");
        std::fs::write(&file, "").unwrap();
        let mut findings = Findings::default();
        note(&file, &mut findings);
        assert_eq!(findings.iter().count(), 0);
        let set = rustix::fs::setxattr(
            &file,
            "system.posix_acl_access",
            &acl_granting(65534),
            rustix::fs::XattrFlags::empty(),
        );
        if set.is_err() {
            eprintln!("WARNING: this file system takes no ACLs, ACL test SKIPPED");
            return;
        }
        note(&file, &mut findings);
        let texts: Vec<String> = findings.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 1, "{texts:?}");
        assert!(texts[0].contains("has an access ACL"), "{texts:?}");
    }
}
