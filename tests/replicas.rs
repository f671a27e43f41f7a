//! Owned by the replicas work; filled in on its branch.
