//! Why this exists: the notifier's two ways to run. `--once` (tests, cron) reads what is new,
//! delivers what is due, saves and exits; a target that fails is tried once per run. Continuous
//! (the systemd unit) polls the history every second and gives each due message a thread of its
//! own, so a slow or failing target never holds up another, reloads its config on SIGHUP and
//! stops on SIGTERM, each after the deliveries under way have settled.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, SystemTime};

use crate::deliver::DeliveryError;
use crate::message::Message;
use crate::notifier::{Notifier, NotifierError};
use crate::reload::Reload;

/// How often the continuous notifier looks at the history: the file is small to stat and read
/// from a cursor, and a second is well inside what anyone expects of a notification.
pub const POLL: Duration = Duration::from_secs(1);

/// What a `--once` run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnceReport {
    pub delivered: usize,
    pub failed: usize,
    /// Events still owed at the end (held back by a rate limit, or for a failed target).
    pub owed: usize,
}

type Outcome = (usize, Message, Result<(), DeliveryError>);

/// Delivers `message` to target `index` on the calling thread, a panic turned into an error.
fn deliver(notifier: &Notifier, index: usize, message: Message) -> impl FnOnce() -> Outcome {
    let deliver = notifier.deliverer(index);
    move || {
        let result = match deliver {
            Some(deliver) => {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| deliver.deliver(&message)))
                    .unwrap_or_else(|_| {
                        Err(DeliveryError::Thread {
                            target: dyndns_config::notify::shown_id(&message.target),
                            problem: "it panicked".into(),
                        })
                    })
            }
            None => Err(DeliveryError::Thread {
                target: dyndns_config::notify::shown_id(&message.target),
                problem: "no such target".into(),
            }),
        };
        (index, message, result)
    }
}

/// Reads, delivers everything due at the clock's time (targets side by side), saves, exits.
pub fn run_once(
    notifier: &mut Notifier,
    clock: &dyn Fn() -> SystemTime,
) -> Result<OnceReport, NotifierError> {
    notifier.read_history()?;
    notifier.save()?;
    let mut report = OnceReport {
        delivered: 0,
        failed: 0,
        owed: 0,
    };
    loop {
        let due = notifier.due(clock());
        if due.is_empty() {
            break;
        }
        let jobs: Vec<_> = due
            .into_iter()
            .map(|(index, message)| deliver(notifier, index, message))
            .collect();
        let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
            let handles: Vec<_> = jobs.into_iter().map(|job| scope.spawn(job)).collect();
            // `deliver` catches panics, so every thread returns its outcome.
            handles
                .into_iter()
                .filter_map(|handle| handle.join().ok())
                .collect()
        });
        for (index, message, result) in outcomes {
            match &result {
                Ok(()) => report.delivered += 1,
                Err(_) => report.failed += 1,
            }
            notifier.settle(index, &message, result, clock());
        }
        notifier.save()?;
    }
    report.owed = notifier.owed();
    Ok(report)
}

/// What the continuous loop reports an error of.
#[derive(Clone, Copy)]
enum Step {
    Read = 0,
    Save = 1,
}

/// Set when the process is asked to stop.
#[derive(Debug, Default, Clone)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Runs until `stop`: reads the history every [`POLL`], delivers due messages on threads of their
/// own, saves after every change. A history or state error is logged and tried again next time
/// (the worker's folder may come later, a full disk may clear); the process keeps running.
pub fn run_continuous(notifier: &mut Notifier, stop: &Stop, reload: &mut Reload) {
    let (sender, outcomes) = mpsc::channel::<Outcome>();
    // The last error of reading the history and of saving the state, each apart: a good read
    // between two failed saves (a full disk) is no news that the save failed again.
    let mut last_errors: [Option<String>; 2] = [None, None];
    let mut report = |what: Step, result: Result<(), NotifierError>| {
        let last_error = &mut last_errors[what as usize];
        match result {
            Ok(()) => *last_error = None,
            Err(error) => {
                let text = error.to_string();
                // Once per distinct error, not once a second.
                if last_error.as_deref() != Some(text.as_str()) {
                    tracing::error!(%error, "the notifier cannot go on for now; trying again");
                }
                *last_error = Some(text);
            }
        }
    };
    loop {
        if stop.requested() {
            if !notifier.busy() {
                report(Step::Save, notifier.save());
                break;
            }
        } else if reload.pending() {
            // Between deliveries: none starts while a reload waits, and the reload is taken up
            // once those under way have settled, so no answer comes back for a changed target.
            if reload.apply(notifier) {
                report(Step::Save, notifier.save());
            }
            if !reload.pending() {
                continue;
            }
        } else {
            let read = notifier.read_history().map(|_| ());
            let failed_read = read.is_err();
            report(Step::Read, read);
            if !failed_read && notifier.dirty() {
                report(Step::Save, notifier.save());
            }
            for (index, message) in notifier.due(SystemTime::now()) {
                let job = deliver(notifier, index, message);
                let sender = sender.clone();
                std::thread::spawn(move || {
                    let _ = sender.send(job());
                });
            }
        }
        match outcomes.recv_timeout(POLL) {
            Ok(first) => {
                let mut settled = vec![first];
                settled.extend(outcomes.try_iter());
                for (index, message, result) in settled {
                    notifier.settle(index, &message, result, SystemTime::now());
                }
                report(Step::Save, notifier.save());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // We hold a sender, so the channel never closes.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
}
