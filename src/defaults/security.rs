//! TODO(security): being written.

use serde_json::Value;

use super::{Outcome, WorkloadCtx};

pub fn apply(_ctx: &WorkloadCtx, _item: &mut Value, _out: &mut Outcome) {}
