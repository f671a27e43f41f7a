//! The shipped default profile (`profile.yaml`, embedded at build time).

use serde_json::Value;

/// The profile document as written in the repository.
pub const SHIPPED_PROFILE_YAML: &str = include_str!("profile.yaml");

/// The `spec` of the shipped profile as JSON, the base a user's spec is merged over. Parsed
/// once per process: reading the profile YAML was a third of a 10-resource run, and both the
/// config loader and the unmatched-config warnings need it.
pub fn shipped_spec_json() -> Value {
    static SPEC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| {
        let doc: Value = crate::krm::yaml::from_str(SHIPPED_PROFILE_YAML)
            .expect("the embedded profile is valid YAML (tested)");
        doc.get("spec").cloned().unwrap_or(Value::Null)
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_is_a_valid_apply_defaults_document() {
        let doc: Value = crate::krm::yaml::from_str(SHIPPED_PROFILE_YAML).unwrap();
        let _: super::super::ApplyDefaults = serde_json::from_value(doc).unwrap();
    }
}
