//! Why this exists: one test binary for the worker's backends and the command runner they share, so the
//! workspace links one executable instead of three on a small machine.

mod command;
mod plesk;
mod util;
mod zonefile;
