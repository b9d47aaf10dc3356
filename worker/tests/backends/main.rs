//! Why this exists: one test binary for the worker's backends and the command runner they share, so the
//! workspace links one executable instead of several on a small machine.

// Test helpers outside #[test] functions fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cloudflare;
mod cloudflare_worker;
mod command;
mod command_backend;
mod digitalocean;
mod dns_server;
mod dns_server_smoke;
mod fake_api;
mod fake_cloudflare;
mod fake_digitalocean;
mod fake_plesk_api;
mod hostile_api;
mod hostile_listing;
mod hostile_tls;
mod named;
mod none;
mod plesk;
mod plesk_api;
mod plesk_api_tls;
mod powerdns;
mod powerdns_server;
mod rfc2136;
mod scripted_api;
mod secret_leaks;
mod tls_proxy;
mod util;
mod zonefile;
mod zonefile_batch;
mod zonefile_real_world;
mod zonefile_refusals;
mod zonefile_txt;
