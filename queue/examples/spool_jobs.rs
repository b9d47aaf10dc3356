//! Why this exists: `bench/run` needs thousands of valid pending jobs in a spool at once, written
//! exactly as the frontend writes them (`SpoolWriter`: tmp, fsync, rename into new/, group-committed
//! folder fsync) but without the HTTP path, whose speed the bench measures elsewhere.
//!
//! Usage: `spool_jobs SPOOL USER SUFFIX HOSTS JOBS FIRST [THREADS]`
//! writes JOBS jobs for hosts `h0.SUFFIX` … `h{HOSTS-1}.SUFFIX`, job `j` for host `j % HOSTS` with
//! IPv4 address number `FIRST + j` counted from 10.1.0.0 (so use a zone with
//! `allow_private_addresses`), dated `j` microseconds after the start so the last job of a host is
//! its newest whatever order the threads finish in. Prints `host address` of each host's newest job
//! on stdout: what DNS must say once the worker is done.

use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use dyndns_queue::{Job, SpoolWriter};

struct Plan {
    user: String,
    suffix: String,
    hosts: usize,
    jobs: usize,
    first: u32,
    start: SystemTime,
}

impl Plan {
    fn host(&self, job: usize) -> String {
        format!("h{}.{}", job % self.hosts, self.suffix)
    }

    /// From 10.1.0.0 on, 16 million addresses before they repeat.
    fn address(&self, job: usize) -> Option<Ipv4Addr> {
        let number = u32::try_from(job).ok()?.checked_add(self.first)?;
        let base = u32::from(Ipv4Addr::new(10, 1, 0, 0));
        Some(Ipv4Addr::from(base + number % 0x00fe_0000))
    }

    fn job(&self, job: usize) -> Option<Job> {
        let received_at = self.start + Duration::from_micros(u64::try_from(job).ok()?);
        Some(Job::new(
            self.user.clone(),
            self.host(job),
            Some(self.address(job)?),
            None,
            received_at,
            None,
        ))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| args.get(i).and_then(|a| a.parse::<usize>().ok());
    let (Some(spool), Some(user), Some(suffix), Some(hosts), Some(jobs), Some(first)) = (
        args.first(),
        args.get(1),
        args.get(2),
        number(3).filter(|h| *h > 0),
        number(4),
        number(5).and_then(|f| u32::try_from(f).ok()),
    ) else {
        eprintln!("usage: spool_jobs SPOOL USER SUFFIX HOSTS JOBS FIRST [THREADS]");
        return ExitCode::from(2);
    };
    let threads = number(6).unwrap_or(32).max(1);
    let writer = match SpoolWriter::open(spool) {
        Ok(writer) => writer,
        Err(error) => {
            eprintln!("spool_jobs: {error}");
            return ExitCode::FAILURE;
        }
    };
    let plan = Plan {
        user: user.clone(),
        suffix: suffix.clone(),
        hosts,
        jobs,
        first,
        start: SystemTime::now(),
    };
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    // Many writers at once, as under real load: they share the folder fsync (group commit).
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                if j >= plan.jobs {
                    break;
                }
                let written = plan.job(j).map(|job| writer.submit(&job));
                // The first failure is shown; the count says how many more.
                if !matches!(written, Some(Ok(_))) && failed.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!("spool_jobs: job {j} not written: {written:?}");
                }
            });
        }
    });
    let failed = failed.into_inner();
    if failed > 0 {
        eprintln!("spool_jobs: {failed} of {jobs} jobs not written");
        return ExitCode::FAILURE;
    }
    for job in jobs.saturating_sub(hosts)..jobs {
        if let Some(address) = plan.address(job) {
            println!("{} {address}", plan.host(job));
        }
    }
    ExitCode::SUCCESS
}
