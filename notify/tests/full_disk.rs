//! The notifier's state folder full (a small tmpfs mounted over it, as root): deliveries go on, the
//! failed save is logged once, not every second, and once there is room the state is saved again,
//! so a kill after that resends nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// The root package's small tmpfs, shared by path.
#[path = "../../tests/util/small_disk.rs"]
mod small_disk;
mod util;

use nix::sys::signal::{kill, Signal};
use small_disk::SmallDisk;
use util::binary_site::*;
// The real binary's site, not the library's (`util::Site`).
use util::binary_site::Site;
use util::*;

#[test]
fn a_full_state_folder_logs_its_failed_save_once_not_at_every_delivery_and_saves_once_there_is_room(
) {
    let receiver = Receiver::start();
    let site = Site::new(&webhook(&receiver.url("/hook"), "0"));
    let Some(disk) = SmallDisk::over(site.dir.path().join("notify")) else {
        return;
    };
    let mut notifier = site.start_logged();
    eventually("the first save", || site.state_file().exists());
    let mut log = history(&site.state());

    disk.fill();
    for n in 1..=5u64 {
        log.append(&[change(&format!("h{n}.dyn.example.com"), n)])
            .unwrap();
        receiver.wait_for(n as usize);
    }
    let text = notifier.wait_for_log("No space left on device", 1);
    assert!(text.contains("notify-state.json"), "{text}");
    assert!(
        text.matches("No space left on device").count() <= 2,
        "said once, not at every save: {text}"
    );

    disk.empty();
    log.append(&[change("last.dyn.example.com", 6)]).unwrap();
    receiver.wait_for(6);
    eventually("the delivery saved once there is room", || {
        let Ok(text) = std::fs::read_to_string(site.state_file()) else {
            return false;
        };
        let saved: serde_json::Value = serde_json::from_str(&text).unwrap();
        saved["targets"]
            .as_object()
            .unwrap()
            .values()
            .all(|outbox| {
                let host = &outbox["hosts"]["last.dyn.example.com"];
                host["last_sent"].is_string()
                    && host["pending"].as_array().is_some_and(Vec::is_empty)
            })
    });
    kill(pid(&notifier.child), Signal::SIGKILL).unwrap();
    let _ = wait_exit(&mut notifier.child);
    succeeded(&site.once());
    assert_eq!(
        receiver.received().len(),
        6,
        "nothing resent after the kill"
    );
}
