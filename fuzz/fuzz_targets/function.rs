//! The whole function: never a panic; exit 1 exactly when there is no output or the output
//! carries an error result; any output is a readable ResourceList.
#![no_main]

use apply_defaults::krm::{ResourceList, yaml};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let out = apply_defaults::run::function(data.to_vec(), false, &Default::default());
    let Some(text) = out.stdout.map(|t| t.into_string()) else {
        assert_eq!(out.code, 1, "no output but exit {}", out.code);
        return;
    };
    let v: Value = yaml::from_str(&text).expect("stdout is YAML");
    let errors = v["results"]
        .as_array()
        .is_some_and(|r| r.iter().any(|r| r["severity"] == "error"));
    ResourceList::from_value(v).expect("stdout is a ResourceList");
    assert_eq!(out.code == 1, errors, "exit {} but error results: {errors}", out.code);
});
