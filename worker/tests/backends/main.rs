//! Why this exists: one test binary for the worker's backends and the command runner they share, so the
//! workspace links one executable instead of several on a small machine.

mod command;
mod named;
mod plesk;
mod util;
mod zonefile;
mod zonefile_real_world;
mod zonefile_refusals;
