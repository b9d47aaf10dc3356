//! A small tmpfs mounted over a site's folder (its spool, its state), so a test can fill that disk
//! (blocks or inodes) or make it read-only the way a real file system goes, as root and without
//! touching the machine's disks. Shared by path with the notifier's tests.

// Each test binary uses some of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// 64 KiB and 64 inodes: room for the spool's folders and a few jobs, filled in moments.
const OPTIONS: &str = "size=64k,nr_inodes=64,mode=0755";

/// A tmpfs over a folder, unmounted on drop.
pub struct SmallDisk {
    mount_point: PathBuf,
}

impl SmallDisk {
    /// Mounts it over the spool folder `spool` with its four folders made again inside, or `None`
    /// where mounting is not allowed (see [`SmallDisk::over`]).
    pub fn over_spool(spool: PathBuf) -> Option<SmallDisk> {
        let disk = SmallDisk::over(spool)?;
        dyndns_queue::SpoolDirs::at(&disk.mount_point)
            .create_all()
            .expect("make the spool folders on the tmpfs");
        Some(disk)
    }

    /// Mounts it over `mount_point` (root-owned, mode 0755, empty), or `None` where mounting is not
    /// allowed (a container without CAP_SYS_ADMIN), said loudly; with `CI=true` that is a failure,
    /// never a skip.
    pub fn over(mount_point: PathBuf) -> Option<SmallDisk> {
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", OPTIONS, "tmpfs"])
            .arg(&mount_point)
            .status()
            .is_ok_and(|status| status.success());
        if !mounted {
            let why = "cannot mount a tmpfs here (needs root, CAP_SYS_ADMIN)";
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
            eprintln!("\n!!!!!!!! WARNING: {why}: this test did NOT run !!!!!!!!\n");
            return None;
        }
        Some(SmallDisk { mount_point })
    }

    /// Takes every block left, as a full disk would.
    pub fn fill(&self) {
        let mut filler = std::fs::File::create(self.mount_point.join("filler")).expect("filler");
        let block = [0u8; 4096];
        while std::io::Write::write_all(&mut filler, &block).is_ok() {}
    }

    /// Takes every inode left (blocks stay free): no new file can be made, as on a disk full of
    /// small files.
    pub fn fill_inodes(&self) {
        let folder = self.mount_point.join("inodes");
        std::fs::create_dir(&folder).expect("the inode filler's folder");
        // Bounded: the mount has 64 inodes.
        for n in 0..1000 {
            if std::fs::File::create(folder.join(n.to_string())).is_err() {
                return;
            }
        }
        panic!("1000 files made on a tmpfs of 64 inodes");
    }

    /// Frees what [`SmallDisk::fill`] and [`SmallDisk::fill_inodes`] took.
    pub fn empty(&self) {
        let _ = std::fs::remove_file(self.mount_point.join("filler"));
        let _ = std::fs::remove_dir_all(self.mount_point.join("inodes"));
    }

    /// Makes it read-only (`writable = false`) or writable again, as an administrator's remount or
    /// the kernel's `errors=remount-ro` after a disk error does. A plain `remount,ro` is refused while
    /// the worker holds its lock file open for writing, so a read-only bind mount goes over it (what
    /// opens the path from then on meets the read-only mount) and is taken off again.
    pub fn set_writable(&self, writable: bool) {
        let steps: &[&[&str]] = if writable {
            &[&["umount"]]
        } else {
            &[&["mount", "--bind"], &["mount", "-o", "remount,bind,ro"]]
        };
        for step in steps {
            let mut command = Command::new(step[0]);
            command.args(&step[1..]);
            if step.contains(&"--bind") {
                command.arg(&self.mount_point);
            }
            let status = command.arg(&self.mount_point).status().expect("run mount");
            assert!(
                status.success(),
                "{step:?} {} failed",
                self.mount_point.display()
            );
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // The read-only bind of a failed test may still lie over the tmpfs: unmount both, at most;
        // lazily, so a process of a failed test still holding a file there cannot keep it mounted.
        for _ in 0..2 {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(&self.mount_point)
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}
