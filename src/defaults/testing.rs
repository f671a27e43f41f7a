//! A workload context over a real resolved config and model, for the unit tests of the
//! defaults: the workload is put in the class a test names, with the opt-outs it names.

use serde_json::{Value, json};

use crate::config::{Config, DefaultKind};
use crate::defaults::{Outcome, WorkloadCtx};
use crate::model::{Model, scaling};
use crate::optout::OptOut;

pub fn config(env: &str, enforce: &[DefaultKind]) -> Config {
    let enforce: Vec<&str> = enforce.iter().map(|d| d.name()).collect();
    Config::load(Some(
        &json!({"apiVersion": "apply-defaults.dev/v1alpha1", "kind": "ApplyDefaults",
        "spec": {"environment": env, "enforce": enforce}}),
    ))
    .expect("valid config")
}

pub fn deployment(name: &str, spec: Value) -> Value {
    let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "ns", "labels": {"app.kubernetes.io/name": name, "team": "x"}},
        "spec": {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": "app:1",
                "resources": {"requests": {"cpu": "100m"}}}]}}}});
    if let (Some(d), Some(extra)) = (d["spec"].as_object_mut(), spec.as_object()) {
        d.extend(extra.clone());
    }
    d
}

/// Runs `f` on the item with the class `class` of `config`, the given other input items and
/// opt-out annotations.
pub fn run(
    config: &Config,
    class: &str,
    item: &mut Value,
    others: &[Value],
    skip: Option<&str>,
    f: impl Fn(&WorkloadCtx, &mut Value, &mut Outcome),
) -> Outcome {
    let mut all = others.to_vec();
    all.push(item.clone());
    let model = Model::build(&all, config);
    let mut workload = model
        .workload_at(all.len() - 1)
        .expect("a named workload")
        .clone();
    let ann = skip.map(|s| json!({crate::optout::SKIP: s}));
    workload.opt_out = OptOut::read(&[ann.as_ref()]);
    let class = &config.classes[class];
    workload.scaling = scaling::decide(
        config,
        class,
        &workload.kind,
        &workload.opt_out,
        item,
        &model.scaling,
    );
    let ctx = WorkloadCtx {
        config,
        class,
        workload: &workload,
        model: &model,
    };
    let mut out = Outcome::default();
    f(&ctx, item, &mut out);
    out
}
