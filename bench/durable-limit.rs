//! Why this exists: the ceiling `bench/run` compares the frontend's durable `good` path against — the
//! same filesystem work per item (create, write ~250 bytes, fsync, rename into `new/`, fsync `new/`)
//! done by N concurrent writers with nothing else around it. Unlike the frontend, every item pays its
//! own folder fsync (no group commit). Standard library only: `bench/run` compiles it with rustc.
//!
//! Usage: durable-limit <folder> <writers> <seconds>; prints `items=<n> seconds=<s> items_per_s=<r>`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// About the size of one spooled job file.
const PAYLOAD: [u8; 250] = [b'x'; 250];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 && args.len() != 5 {
        eprintln!("usage: durable-limit <folder> <writers> <seconds> [name-prefix]");
        std::process::exit(2);
    }
    let root = PathBuf::from(&args[1]);
    // Runs into the same folder use different prefixes, so their files add up like a spool's do.
    let prefix = args.get(4).cloned().unwrap_or_default();
    let writers: usize = args[2]
        .parse()
        .unwrap_or_else(|_| fail("writers must be a number"));
    let seconds: f64 = args[3]
        .parse()
        .unwrap_or_else(|_| fail("seconds must be a number"));
    let (tmp, new) = (root.join("tmp"), root.join("new"));
    for dir in [&tmp, &new] {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|err| fail(&format!("mkdir {}: {err}", dir.display())));
    }

    let start = Arc::new(Barrier::new(writers + 1));
    let run_for = Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..writers)
        .map(|writer| {
            let (tmp, new, start, prefix) = (tmp.clone(), new.clone(), start.clone(), prefix.clone());
            std::thread::spawn(move || {
                let new_dir = File::open(&new)
                    .unwrap_or_else(|err| fail(&format!("open {}: {err}", new.display())));
                start.wait();
                let began = Instant::now();
                let mut items = 0u64;
                while began.elapsed() < run_for {
                    let name = format!("{prefix}{writer:03}-{items:09}.json");
                    spool_one(&tmp.join(&name), &new.join(&name), &new_dir);
                    items += 1;
                }
                items
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    let items: u64 = threads
        .into_iter()
        .map(|thread| {
            thread
                .join()
                .unwrap_or_else(|_| fail("a writer thread panicked"))
        })
        .sum();
    let elapsed = began.elapsed().as_secs_f64();
    println!(
        "items={items} seconds={elapsed:.2} items_per_s={:.0}",
        items as f64 / elapsed
    );
}

fn spool_one(tmp: &Path, dest: &Path, new_dir: &File) {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(tmp)
        .unwrap_or_else(|err| fail(&format!("create {}: {err}", tmp.display())));
    file.write_all(&PAYLOAD)
        .and_then(|()| file.sync_all())
        .unwrap_or_else(|err| fail(&format!("write+fsync {}: {err}", tmp.display())));
    drop(file);
    std::fs::rename(tmp, dest)
        .unwrap_or_else(|err| fail(&format!("rename to {}: {err}", dest.display())));
    new_dir
        .sync_all()
        .unwrap_or_else(|err| fail(&format!("fsync folder of {}: {err}", dest.display())));
}

fn fail(message: &str) -> ! {
    eprintln!("durable-limit: {message}");
    std::process::exit(1);
}
