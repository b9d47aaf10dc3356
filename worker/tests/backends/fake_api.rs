//! Why this exists: what the fake DNS provider APIs (`fake_cloudflare.rs`, `fake_digitalocean.rs`)
//! share: an axum server on 127.0.0.1 in a thread and runtime of its own, so it is started once per
//! test binary and outlives each test's runtime (tests keep apart by each using its own zone), and
//! the faults a test arms for its zone.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use axum::Router;

/// Something a fake answers instead of doing the next request for a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429 with `Retry-After: <seconds>`.
    RateLimited { retry_after_secs: u64 },
    /// An HTTP 5xx.
    ServerError,
}

/// Faults armed per zone name, each used by one request, after the requests it lets pass.
#[derive(Debug, Default)]
pub struct Faults(HashMap<String, VecDeque<(usize, Fault)>>);

impl Faults {
    /// `fault` answers the request about `zone` that comes after `passing` others.
    pub fn arm(&mut self, zone: &str, passing: usize, fault: Fault) {
        self.0
            .entry(zone.to_owned())
            .or_default()
            .push_back((passing, fault));
    }

    /// The fault for this request about `zone`, if one is due (used up).
    pub fn take(&mut self, zone: &str) -> Option<Fault> {
        let armed = self.0.get_mut(zone)?;
        match armed.front_mut()? {
            (0, _) => armed.pop_front().map(|(_, fault)| fault),
            (passing, _) => {
                *passing -= 1;
                None
            }
        }
    }
}

/// Serves `router` on a free 127.0.0.1 port from a thread of its own for the rest of the test
/// binary's life; returns the address.
pub fn serve_forever(router: Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .set_nonblocking(true)
        .expect("a nonblocking listener");
    let address = listener.local_addr().expect("the bound address");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the fake API");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            axum::serve(listener, router)
                .await
                .expect("the fake API serves");
        });
    });
    address
}
