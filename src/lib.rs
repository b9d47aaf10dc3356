//! Why this exists: the unprivileged dyndns2 frontend as a library (routes, auth, spooling), so
//! `main.rs` stays thin and tests build the router with their own state.

pub mod accepted;
pub mod app;
pub mod auth;
pub mod check;
pub mod cli;
pub mod client_addr;
pub mod demo;
mod demo_guard;
pub mod demo_worker;
pub mod limits;
pub mod logging;
pub mod memory;
pub mod reply;
pub mod request;
pub mod request_log;
pub mod serve;
pub mod start;
pub mod update;
