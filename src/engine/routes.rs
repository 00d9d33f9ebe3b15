//! Each workspace's way out: its own client (endpoint, project, signer, credentials, pacer)
//! and its own `max_in_flight` slots, so a workspace that is slow, throttled or refusing
//! delays only its own deliveries and job polls. Deliveries and polls pick their route by
//! the workspace recorded on the row.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::domain::WorkspaceName;
use crate::workspace::WorkspaceClient;

/// Where messages go: the API, or nowhere (`dry_run = true`).
pub enum Sender {
    DryRun,
    Api(Arc<WorkspaceClient>),
}

/// One workspace's sender and request slots.
pub struct Route {
    pub name: WorkspaceName,
    pub sender: Sender,
    /// The client audiences are listed with: the sender's; in dry run, one built when
    /// credentials are there (listing sends nothing), else why there is none.
    pub lister: Result<Arc<WorkspaceClient>, String>,
    /// `daemon.max_in_flight` requests at a time to this workspace (sends and polls).
    pub limiter: Arc<Semaphore>,
}

impl Route {
    pub fn new(name: WorkspaceName, sender: Sender, max_in_flight: usize) -> Self {
        let lister = match &sender {
            Sender::Api(client) => Ok(Arc::clone(client)),
            Sender::DryRun => {
                Err("dry run without credentials: desktops cannot be listed".to_owned())
            }
        };
        Self {
            name,
            sender,
            lister,
            limiter: Arc::new(Semaphore::new(max_in_flight)),
        }
    }

    /// In dry run, lists audiences with `client` (sending stays off).
    pub fn listing_with(mut self, client: Result<Arc<WorkspaceClient>, String>) -> Self {
        self.lister = client;
        self
    }

    /// The client that lists desktops, or why there is none.
    pub fn lister(&self) -> Result<&Arc<WorkspaceClient>, &str> {
        self.lister.as_ref().map_err(String::as_str)
    }

    /// The API client; None in dry run.
    pub fn client(&self) -> Option<&Arc<WorkspaceClient>> {
        match &self.sender {
            Sender::Api(client) => Some(client),
            Sender::DryRun => None,
        }
    }
}

/// Every configured workspace's route (a handful: looked up by a scan).
pub struct Routes {
    routes: Vec<Route>,
    max_in_flight: usize,
}

impl Routes {
    pub fn new(routes: Vec<Route>, max_in_flight: usize) -> Self {
        Self {
            routes,
            max_in_flight,
        }
    }

    pub fn get(&self, name: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.name.as_str() == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }

    /// True when no route calls the API (`dry_run`).
    pub fn dry_run(&self) -> bool {
        self.routes.iter().all(|r| r.client().is_none())
    }

    /// Requests in flight now, all workspaces together.
    pub fn in_flight(&self) -> usize {
        self.routes
            .iter()
            .map(|r| {
                self.max_in_flight
                    .saturating_sub(r.limiter.available_permits())
            })
            .sum()
    }
}
