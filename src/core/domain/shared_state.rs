//! What replicas share (a Redis or Valkey server): whether it answers, and what it saved.

/// The state of the store replicas share, as one instance sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SharedStateHealth {
    /// Whether it answered the last time it was asked (otherwise the instance runs on its own
    /// share of the budget and its own cache until it answers again).
    pub reachable: bool,
    /// Portal requests that waited for a slot of the shared budget.
    pub budget_waits: u64,
    /// Ids this instance did not read because another instance was reading them.
    pub flights_joined: u64,
    /// Times the instance fell back to its own share and cache since start.
    pub fallbacks: u64,
}
