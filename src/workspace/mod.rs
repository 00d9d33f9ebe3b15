//! The Huawei Cloud Workspace client: endpoints, credentials, AK/SK signing and the HTTP calls.
//! It knows HTTP and signing, nothing about schedules or the database.

mod client;
pub mod credentials;
mod error;
mod response;
pub mod signer;

pub use client::{Accepted, Prepared, WorkspaceClient};
pub use credentials::{CredentialPaths, Credentials, CredentialsError, Resolved};
pub use error::ApiError;
