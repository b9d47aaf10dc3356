//! Why this exists: the one definition of a host name, a user name and a publishable address, so the frontend
//! (through `dyndns-config`), the job format (`dyndns-queue`) and the worker's backends cannot drift
//! apart. It depends on nothing of ours, so each of them can depend on it.

pub mod address;
pub mod names;
pub mod user_name;
