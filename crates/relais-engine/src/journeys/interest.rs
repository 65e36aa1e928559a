//! Which events the journey runner wants: the processor writes a feed row
//! for exactly these, in the batch that resolves them to their profiles.

use relais_core::WorkspaceId;
use std::collections::HashSet;
use std::sync::RwLock;

/// (workspace, event name) pairs named by active or paused journeys
/// (triggers, waits, exit criteria, goals). Shared by the processor (reads
/// per event) and the journey registry (writes on every change).
#[derive(Default)]
pub struct Interest {
    names: RwLock<HashSet<(WorkspaceId, String)>>,
    /// The same names in any workspace: the processor keeps these events'
    /// properties when it slims payloads (triggers' filters, `data.trigger`,
    /// correlations read them).
    any: RwLock<HashSet<String>>,
}

impl Interest {
    pub fn wants(&self, ws: WorkspaceId, name: &str) -> bool {
        let names = self.names.read().unwrap_or_else(|p| p.into_inner());
        // No allocation on the hot path when nothing is wanted.
        !names.is_empty() && names.contains(&(ws, name.to_owned()))
    }

    /// Whether a journey of any workspace names the event.
    pub fn wants_name(&self, name: &str) -> bool {
        let any = self.any.read().unwrap_or_else(|p| p.into_inner());
        !any.is_empty() && any.contains(name)
    }

    pub fn replace(&self, names: HashSet<(WorkspaceId, String)>) {
        let any = names.iter().map(|(_, n)| n.clone()).collect();
        *self.any.write().unwrap_or_else(|p| p.into_inner()) = any;
        *self.names.write().unwrap_or_else(|p| p.into_inner()) = names;
    }
}
