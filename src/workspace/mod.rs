//! The Huawei Cloud Workspace client: endpoints, credentials, AK/SK signing and the HTTP calls.
//! It knows HTTP and signing, nothing about schedules or the database.

mod client;
pub(crate) mod credentials;
pub(crate) mod desktops;
mod error;
mod jobs;
mod mode;
mod pacer;
mod profile;
mod response;
pub mod signer;
pub(crate) mod tasks;

pub(crate) use client::{Accepted, Prepared, WorkspaceClient};
pub(crate) use credentials::{CredentialPaths, CredentialsError};
pub(crate) use error::ApiError;
pub(crate) use pacer::Pacer;
