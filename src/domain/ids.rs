//! Validated identifiers, parsed once at the config or CLI boundary; the engine passes these
//! types, never raw strings. (Rows read back only for display, and the raw config structs,
//! keep the stored text.)

use std::fmt;

/// Why an identifier was refused; the caller adds the key path and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidId(pub &'static str);

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        // Shared text: the scheduler keeps several copies of each id (slot, heap entry,
        // `record_as`), and clones are only a reference count.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(std::sync::Arc<str>);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                let check: fn(&str) -> Result<(), InvalidId> = $check;
                check(raw)?;
                Ok(Self(raw.into()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A workspace's name, `[a-z0-9-]{1,32}`: one `[[workspaces]]` entry (a region, project
    /// and account); the single `[workspace]` section is `default`.
    WorkspaceName,
    |raw| {
        let ok = (1..=32).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(())
        } else {
            Err(InvalidId("must be 1 to 32 characters of a-z 0-9 -"))
        }
    }
);

impl WorkspaceName {
    /// The name of the single `[workspace]` section, and of every delivery recorded before
    /// there could be several.
    pub const DEFAULT: &'static str = "default";

    pub fn default_name() -> Self {
        Self(Self::DEFAULT.into())
    }
}

id_type!(
    /// `[A-Za-z0-9._-]{1,64}`, unique across the config file and the database; `test:` and
    /// such an id is the `schedule_id` of `send --test` (refused in the file and `schedule
    /// add`, which check the id before it is used).
    ScheduleId,
    |raw| {
        let id = raw.strip_prefix("test:").unwrap_or(raw);
        let ok = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(())
        } else {
            Err(InvalidId("must be 1 to 64 characters of A-Z a-z 0-9 . _ -"))
        }
    }
);

/// Ids Workspace hands out (pools, desktops): UUIDs in practice; anything printable of 1 to 128
/// characters is accepted and percent-encoded where it goes in a request.
fn printable_id(raw: &str) -> Result<(), InvalidId> {
    if raw.trim().is_empty() || raw.len() > 128 {
        Err(InvalidId("must be 1 to 128 characters"))
    } else if raw != raw.trim() || raw.chars().any(char::is_control) {
        Err(InvalidId(
            "must not contain spaces at either end or control characters",
        ))
    } else {
        Ok(())
    }
}

id_type!(
    /// A desktop pool id as Workspace returns it (a UUID in practice). Anything printable is
    /// accepted and percent-encoded in the request path.
    PoolId,
    printable_id
);

id_type!(
    /// A Huawei Cloud project id (32 hex digits in practice).
    ProjectId,
    |raw| {
        let ok = (1..=64).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(())
        } else {
            Err(InvalidId("must be 1 to 64 characters of A-Z a-z 0-9 - _"))
        }
    }
);

id_type!(
    /// A desktop id as Workspace returns it (a UUID in practice).
    DesktopId,
    printable_id
);

/// Where one delivery goes: every user of a pool, or a batch of individual desktops.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Pool(PoolId),
    /// One batch (`label` numbers it, e.g. `desktops:0`, or `resend:41:0` for a re-send).
    Desktops {
        label: String,
        ids: Vec<DesktopId>,
    },
    /// Switching a batch of desktops into Workspace's maintenance mode (`on`) or out of it
    /// (`mode-on:0`, `mode-off:<id of the switch-on>`).
    Mode {
        on: bool,
        label: String,
        ids: Vec<DesktopId>,
    },
}

impl Target {
    /// `deliveries.target`: with the schedule and due time, what makes a delivery happen once.
    pub fn key(&self) -> String {
        match self {
            Target::Pool(pool) => format!("pool:{pool}"),
            Target::Desktops { label, .. } | Target::Mode { label, .. } => label.clone(),
        }
    }

    pub fn pool(&self) -> Option<&PoolId> {
        match self {
            Target::Pool(pool) => Some(pool),
            Target::Desktops { .. } | Target::Mode { .. } => None,
        }
    }

    /// The desktops of a batch (none for a pool).
    pub fn desktop_ids(&self) -> &[DesktopId] {
        match self {
            Target::Pool(_) => &[],
            Target::Desktops { ids, .. } | Target::Mode { ids, .. } => ids,
        }
    }

    /// For a maintenance-mode switch: on (true) or off (false).
    pub fn mode(&self) -> Option<bool> {
        match self {
            Target::Mode { on, .. } => Some(*on),
            _ => None,
        }
    }

    /// Batches of at most `batch` desktops, labelled `{prefix}{n}`.
    pub fn desktop_batches(prefix: &str, ids: &[DesktopId], batch: usize) -> Vec<Target> {
        ids.chunks(batch.max(1))
            .enumerate()
            .map(|(n, chunk)| Target::Desktops {
                label: format!("{prefix}{n}"),
                ids: chunk.to_vec(),
            })
            .collect()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Pool(pool) => write!(f, "pool {pool}"),
            Target::Desktops { label, ids } => write!(f, "{label} ({} desktops)", ids.len()),
            Target::Mode { on, label, ids } => write!(
                f,
                "{label} (maintenance mode {} for {} desktops)",
                if *on { "on" } else { "off" },
                ids.len()
            ),
        }
    }
}

impl ScheduleId {
    /// An internal id for one part of a maintenance window (`{id}~{part}`); it keys the
    /// scheduler's progress and is never a delivery's `schedule_id`.
    pub fn derived(&self, part: &str) -> ScheduleId {
        ScheduleId(format!("{}~{part}", self.0).into())
    }
}

/// The `schedule_id` of deliveries made with `send` when no `--schedule-id` is given.
pub fn manual_schedule_id() -> ScheduleId {
    ScheduleId("manual".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_ids_follow_the_documented_alphabet() {
        assert!(ScheduleId::parse("friday-logoff.v2_x").is_ok());
        assert!(ScheduleId::parse("").is_err());
        assert!(ScheduleId::parse("has space").is_err());
        assert!(ScheduleId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn pool_ids_refuse_blank_and_control_characters() {
        assert!(PoolId::parse("a130ab3a-72bf-4b71-baa9-af4987c8e338").is_ok());
        assert!(PoolId::parse("pool a/b").is_ok());
        assert!(PoolId::parse(" ").is_err());
        assert!(PoolId::parse("a\nb").is_err());
    }
}
