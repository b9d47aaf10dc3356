//! Why this exists: the reasons [`crate::Config::check_job`] refuses a spooled job, as a type the
//! worker can match on and whose words end up in the dead letter's `.reason` file.

use std::net::IpAddr;

use crate::address::AddressError;
use crate::names::NameError;

/// Why a job does not fit the config (a hostile or outdated frontend, or a config changed since the
/// job was spooled). Each message names the job's value it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobRejection {
    #[error("host `{host}`: {problem}")]
    BadHost { host: String, problem: NameError },
    #[error("host `{host}` is not in canonical form")]
    NotCanonical { host: String },
    #[error("host `{host}` is outside every configured zone")]
    OutsideZones { host: String },
    #[error("user `{user}` is not configured")]
    UnknownUser { user: String },
    #[error("user `{user}` may not update host `{host}`")]
    NotAllowed { user: String, host: String },
    #[error("address {address} for `{host}`: {problem}")]
    Unpublishable {
        address: IpAddr,
        host: String,
        problem: AddressError,
    },
}
