//! The function itself: config in, items in, items and results out. Pure: no I/O.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::config::{Config, DefaultKind, Mode};
use crate::defaults::{self, Change, WorkloadCtx};
use crate::emit::{InOrder, Place};
use crate::generated;
use crate::graph;
use crate::krm::{FnResult, ResourceRef, annotations};
use crate::model::Model;
use crate::object::{self, Key};
use crate::optout;
use crate::results::{self, ChangedResource, Summary};
use crate::workload;

/// Processes items with an already loaded config, in place: the items afterwards are the
/// output items (in check mode, the input items unchanged).
pub fn process_items(items: &mut Vec<Value>, config: &Config) -> Summary {
    let original = (config.mode == Mode::Check).then(|| items.clone());
    let mut out = InOrder::default();
    let summary = process(std::mem::take(items), config, &mut |place, item| {
        out.put(place, item)
    });
    *items = original.unwrap_or_else(|| out.into_ordered().collect());
    summary
}

/// The function: every input item is handed to `put` exactly once, in its final form, as soon
/// as nothing later can change it, and every new resource likewise; so a caller that writes
/// items out as they come never holds the whole output as trees (at 10,000 workloads the output
/// trees are several times the size of the input's).
///
/// NetworkPolicies are built from the input before any workload changes (the service graph
/// reads labels, ports, env and Services, none of which a default writes). Input HPAs and PDBs
/// are held to the end, since a workload later in the list may regenerate one of them.
pub fn process(
    mut items: Vec<Value>,
    config: &Config,
    put: &mut dyn FnMut(Place, Value),
) -> Summary {
    let check = config.mode == Mode::Check;
    let keep_change_details = check || config.per_field_results;
    let mut summary = Summary::default();
    // One model of the input, before any default changes it: the graph, the config-usage
    // warnings and every workload's defaults read the same facts.
    let model = Model::build(&items, config);
    // Where each identity is: the input's from the model, and what this run adds.
    let mut index = Placed {
        input: &model.by_key,
        added: HashMap::new(),
    };

    let unmatched = crate::unmatched::warnings(&items, config, &model);
    let mut graph_results = Vec::new();
    let mut policy_upserts = Upserts::default();
    if config.applies(DefaultKind::NetworkPolicy) {
        let g = graph::generate_with(&items, config, &model);
        graph_results = g.results;
        summary.uncalled_services = g.uncalled;
        for policy in g.resources {
            policy_upserts.upsert(&mut items, &mut index, policy, put, Place::Policy);
        }
    }

    let mut generated_upserts = Upserts::default();
    let mut held = Vec::new();
    for i in 0..items.len() {
        let item = &mut items[i];
        if let Some(outcome) = process_item(item, i, config, &model, &mut summary.results) {
            let changes = if keep_change_details {
                outcome.changes
            } else {
                outcome
                    .changes
                    .into_iter()
                    .map(Change::counted_only)
                    .collect()
            };
            if !changes.is_empty() {
                summary.changed.push(ChangedResource {
                    resource: ResourceRef::of(item),
                    class: Some(outcome.class),
                    changes,
                    generated: false,
                    file: annotations::source_file(item),
                });
            }
            for g in outcome.generated {
                generated_upserts.upsert(&mut items, &mut index, g, put, Place::Generated);
            }
        }
        if may_be_regenerated(&items[i]) {
            held.push(i);
        } else {
            put(Place::Item(i), std::mem::take(&mut items[i]));
        }
    }
    for i in held {
        put(Place::Item(i), std::mem::take(&mut items[i]));
    }

    summary.results.extend(unmatched);
    summary.results.extend(graph_results);
    for upserts in [generated_upserts, policy_upserts] {
        summary.results.extend(upserts.results);
        summary.changed.extend(upserts.changed);
    }

    results::finish(&mut summary, config);
    summary
}

/// What one workload came out with, for the pipeline to record.
struct ItemOutcome {
    class: String,
    changes: Vec<Change>,
    generated: Vec<Value>,
}

/// Applies the defaults to one item when it is a selected workload that did not opt out;
/// problems go to `results`.
fn process_item(
    item: &mut Value,
    i: usize,
    config: &Config,
    model: &Model,
    results: &mut Vec<FnResult>,
) -> Option<ItemOutcome> {
    // A kustomization file kpt hands over (often without apiVersion and kind) is no object to
    // default; crate::kustomization lists the generated files in it.
    if crate::kustomization::is_kustomization_file(item) {
        return None;
    }
    if let Some(err) = shape_error(item, i) {
        results.push(err);
        return None;
    }
    if annotations::is_local_config(item) || !config.selects(item) {
        return None;
    }
    if model.unnamed_workloads.contains(&i) {
        results.push(
            FnResult::error(format!(
                "{} at item {i} has no metadata.name; a workload needs one",
                object::kind(item)
            ))
            .about(item)
            .at("metadata.name"),
        );
        return None;
    }
    let w = model.workload_at(i)?;
    warn_opt_out_problems(item, w, results);
    if w.opt_out.all {
        return None;
    }
    let class = match &w.class {
        Ok(c) => config.class(&c.name)?,
        Err(message) => {
            results.push(
                FnResult::error(message.clone())
                    .about(item)
                    .at(format!("metadata.annotations.{}", optout::CLASS)),
            );
            return None;
        }
    };
    let ctx = WorkloadCtx {
        config,
        class,
        workload: w,
        model,
    };
    let outcome = defaults::apply_all(&ctx, item);
    for r in outcome.results {
        results.push(if r.resource_ref.is_none() {
            r.about(item)
        } else {
            r
        });
    }
    Some(ItemOutcome {
        class: class.name.clone(),
        changes: outcome.changes,
        generated: outcome.generated,
    })
}

/// Warnings for opt-out annotations that name no default or no container of the pod.
fn warn_opt_out_problems(item: &Value, w: &crate::model::Workload, results: &mut Vec<FnResult>) {
    let template = workload::pod_template(item, &w.kind);
    let template_annotations = template.map(|t| &t["metadata"]["annotations"]);
    let template_at = format!("{}.metadata.annotations", w.kind.template_path.join("."));
    let containers: Vec<&str> = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .filter_map(|f| template?["spec"][f].as_array())
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for (at, message) in optout::problems(
        &[
            (
                "metadata.annotations".into(),
                item["metadata"].get("annotations"),
            ),
            (template_at, template_annotations),
        ],
        &containers,
    ) {
        results.push(FnResult::warning(message).about(item).at(at));
    }
}

/// Input resources of the kinds a workload generates (HPA, PDB): one of them may be an earlier
/// run's copy that a workload later in the list regenerates, so they are written last.
fn may_be_regenerated(item: &Value) -> bool {
    matches!(
        item["kind"].as_str(),
        Some("HorizontalPodAutoscaler" | "PodDisruptionBudget")
    )
}

/// An item the function cannot read as a Kubernetes object.
fn shape_error(item: &Value, i: usize) -> Option<FnResult> {
    let Some(obj) = item.as_object() else {
        return Some(FnResult::error(format!(
            "item {i} is not a mapping (found {}); every item must be a Kubernetes object",
            type_name(item)
        )));
    };
    for field in ["apiVersion", "kind"] {
        match obj.get(field) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(other) => {
                return Some(
                    FnResult::error(format!(
                        "item {i} has a {} `{field}`; it must be a non-empty string",
                        type_name(other)
                    ))
                    .about(item)
                    .at(field),
                );
            }
            None => {
                return Some(
                    FnResult::error(format!("item {i} has no `{field}`"))
                        .about(item)
                        .at(field),
                );
            }
        }
    }
    match obj.get("metadata") {
        None | Some(Value::Object(_)) => None,
        Some(other) => Some(
            FnResult::error(format!(
                "item {i} has a {} `metadata`; it must be a mapping",
                type_name(other)
            ))
            .about(item)
            .at("metadata"),
        ),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

/// Where a resource of a given identity is in the output.
struct Placed<'a> {
    input: &'a HashMap<Key, usize>,
    added: HashMap<Key, Place>,
}

impl Placed<'_> {
    fn get(&self, key: &Key) -> Option<Place> {
        self.added
            .get(key)
            .copied()
            .or_else(|| self.input.get(key).map(|&i| Place::Item(i)))
    }
}

/// Generated resources placed so far, with what placing them said.
#[derive(Default)]
struct Upserts {
    count: usize,
    results: Vec<FnResult>,
    changed: Vec<ChangedResource>,
}

impl Upserts {
    /// Adds a generated resource, or updates the copy an earlier run generated. A resource of
    /// the same identity that the user wrote is kept as it is. `new_place` numbers the group
    /// this resource is appended to when it is new.
    fn upsert(
        &mut self,
        items: &mut [Value],
        index: &mut Placed,
        resource: Value,
        put: &mut dyn FnMut(Place, Value),
        new_place: fn(usize) -> Place,
    ) {
        let key = object::key_of(&resource);
        let changed = |r: &Value| ChangedResource {
            resource: ResourceRef::of(r),
            class: None,
            changes: Vec::new(),
            generated: true,
            file: annotations::source_file(r),
        };
        match index.get(&key) {
            None => {
                let place = new_place(self.count);
                self.count += 1;
                index.added.insert(key, place);
                self.changed.push(changed(&resource));
                put(place, resource);
            }
            Some(Place::Item(i)) => {
                let existing = &items[i];
                let ours = generated::is_generated(existing);
                if !ours {
                    self.results.push(
                        FnResult::info(format!(
                            "kept the user's {}; no {} generated",
                            ResourceRef::of(existing).display(),
                            resource["kind"].as_str().unwrap_or_default()
                        ))
                        .about(existing),
                    );
                    return;
                }
                if annotations::without_orchestrator_annotations(existing)
                    == annotations::without_orchestrator_annotations(&resource)
                {
                    return;
                }
                let mut updated = resource;
                let kept: Map<String, Value> = existing["metadata"]["annotations"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| annotations::is_orchestrator_annotation(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if let Some(a) = updated["metadata"]["annotations"].as_object_mut() {
                    a.extend(kept);
                }
                self.changed.push(changed(&updated));
                items[i] = updated;
            }
            // Two resources of one identity generated in this run (say an HPA for a Deployment
            // and one for a StatefulSet of the same name): the later one wins, as it would over
            // an earlier run's copy. The earlier one is already written, so it is not compared.
            Some(place) => {
                self.changed.push(changed(&resource));
                put(place, resource);
            }
        }
    }
}
