//! Why this exists: the unprivileged dyndns2 frontend as a library (routes, auth, spooling), so
//! `main.rs` stays thin and unit tests build the router with their own state. Only the command line
//! is public: the binary and its tests need nothing else, and the compiler then finds dead code.

mod accepted;
mod app;
mod auth;
mod check;
pub mod cli;
mod client_addr;
mod demo;
mod demo_guard;
mod demo_worker;
mod dyndns2;
mod file_version;
mod json_api;
mod lan_hosts;
mod limits;
mod logging;
mod memory;
mod metrics;
mod reload;
mod reply;
mod request;
mod request_log;
mod serve;
mod start;
mod status_api;
mod status_data;
mod status_page;
mod token;
mod token_url;
mod tplink;
mod update;
