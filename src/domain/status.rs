//! What became of a delivery: the `deliveries.status` values.

/// `deliveries.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Sent,
    Failed,
    Missed,
    /// Due while the service could not fire it, superseded by a newer occurrence it sent
    /// (catch_up = "latest", within misfire_grace): users got the newer message.
    Coalesced,
    DryRun,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Pending,
        Status::Sent,
        Status::Failed,
        Status::Missed,
        Status::Coalesced,
        Status::DryRun,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Missed => "missed",
            Status::Coalesced => "coalesced",
            Status::DryRun => "dry_run",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }
}
