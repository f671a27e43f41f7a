//! The KRM wire layer: the ResourceList envelope, results, orchestrator annotations and YAML.
//! Nothing in here knows about the defaults this function applies.

pub mod annotations;
pub mod resource_list;
pub mod result;
pub mod yaml;

pub use resource_list::{ReadError, ResourceList};
pub use result::{Field, FnResult, ResourceRef, Severity};
