//! The graph for people: Mermaid flowcharts (GitHub renders them) and Graphviz DOT. Nodes are
//! workloads, ingress controllers, monitoring scrapers and external services; edges carry the
//! pod ports they allow. Services with no visible caller are drawn as red nodes pointing (dashed)
//! at their pods, so they are seen at a glance. Cluster DNS, allowed for every workload, is left out as noise.

use std::collections::{BTreeMap, BTreeSet};

use super::infer::{ANY_PORT, Graph};
use crate::config::{Config, PeerSpec};
use crate::model::PortProto;

/// A node: stable id and label.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Node {
    id: String,
    label: String,
    /// Workloads without a generated policy are drawn dashed.
    unmanaged: bool,
    /// A workload's namespace (`""`: none in the input), drawn as a box around its workloads;
    /// None for the peers outside the workloads (controllers, scrapers, external services).
    namespace: Option<String>,
    /// A workload whose generated policy admits no caller at all: drawn marked, since a
    /// workload nobody may reach is either dead or missing an edge.
    unreachable: bool,
}

/// What a node unreachable by any caller says in its label.
const UNREACHABLE: &str = " (nothing may reach it)";

/// The box label of a namespace.
fn namespace_label(ns: &str) -> String {
    if ns.is_empty() {
        "no namespace (lands where applied)".into()
    } else {
        format!("namespace {ns}")
    }
}

/// Workloads whose generated policy has no ingress rule: no flow from a labelled caller, no
/// ingress controller, scraper or caller outside the input. Only workloads the function writes
/// a policy for count (not the unmanaged, the label-less, or those left to the user's own
/// policies), and only when NetworkPolicies are generated at all.
fn unreachable(g: &Graph, config: &Config) -> BTreeSet<usize> {
    use crate::config::{DefaultKind, UserPolicies};
    let ix = g.model;
    if !config.applies(DefaultKind::NetworkPolicy) {
        return BTreeSet::new();
    }
    let keep = config.network.user_policies.unwrap_or(UserPolicies::Keep) == UserPolicies::Keep;
    let theirs = if keep {
        ix.user_covered()
    } else {
        BTreeSet::new()
    };
    let labelled = |w: usize| !ix.workloads[w].labels.is_empty();
    let reached: BTreeSet<usize> = g
        .flows
        .keys()
        .filter(|&&(f, t)| labelled(f) && labelled(t))
        .map(|&(_, t)| t)
        .chain(g.controllers.keys().map(|&(_, w)| w))
        .chain(g.monitoring.keys().map(|&(_, w)| w))
        .chain(
            g.extra_ingress
                .iter()
                .filter(|(_, peers)| !peers.is_empty())
                .map(|(&w, _)| w),
        )
        .collect();
    (0..ix.workloads.len())
        .filter(|&w| ix.workloads[w].managed && labelled(w))
        .filter(|w| !theirs.contains(w) && !reached.contains(w))
        .collect()
}

fn ident(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn ports_label(ports: &BTreeSet<PortProto>) -> String {
    if ports
        .iter()
        .any(|(p, n)| p == ANY_PORT.0 && *n == ANY_PORT.1)
    {
        return "any".into();
    }
    ports
        .iter()
        .map(|(proto, n)| {
            if proto == "TCP" {
                n.to_string()
            } else {
                format!("{n}/{proto}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn peer_label(p: &PeerSpec) -> String {
    let mut parts = Vec::new();
    if let Some(ns) = &p.namespace {
        parts.push(format!("ns {ns}"));
    }
    parts.extend(
        p.namespace_labels
            .iter()
            .map(|(k, v)| format!("ns {k}={v}")),
    );
    parts.extend(p.pod_labels.iter().map(|(k, v)| format!("{k}={v}")));
    if parts.is_empty() {
        "all namespaces".into()
    } else {
        parts.join(", ")
    }
}

/// Nodes and edges, sorted.
fn model(g: &Graph, config: &Config) -> (BTreeSet<Node>, BTreeMap<(String, String), String>) {
    let ix = g.model;
    let multi_ns = ix
        .workloads
        .iter()
        .map(|w| &w.namespace)
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    let unreached = unreachable(g, config);
    let wnode = |w: usize| {
        let wl = &ix.workloads[w];
        let unreachable = unreached.contains(&w);
        Node {
            id: ident(&if multi_ns {
                format!("w_{}_{}", wl.namespace, wl.name)
            } else {
                format!("w_{}", wl.name)
            }),
            // Across namespaces the label keeps `namespace/name`: the box shows where a node
            // is, the label stays unique when read alone (a legend, a test, a search).
            label: format!(
                "{}{}",
                if multi_ns {
                    wl.display()
                } else {
                    wl.name.clone()
                },
                if unreachable { UNREACHABLE } else { "" }
            ),
            unmanaged: !wl.managed,
            namespace: Some(wl.namespace.clone()),
            unreachable,
        }
    };
    let mut nodes = BTreeSet::new();
    let mut edges = BTreeMap::new();
    for w in 0..ix.workloads.len() {
        nodes.insert(wnode(w));
    }
    for (&(f, t), ports) in &g.flows {
        edges.insert((wnode(f).id, wnode(t).id), ports_label(ports));
    }
    let controllers = super::ingress_controllers(config);
    for (&(c, w), ports) in &g.controllers {
        let n = Node {
            id: format!("ingress_{c}"),
            label: format!("ingress controller ({})", peer_label(&controllers[c])),
            unmanaged: false,
            namespace: None,
            unreachable: false,
        };
        edges.insert((n.id.clone(), wnode(w).id), ports_label(ports));
        nodes.insert(n);
    }
    for (&(m, w), ports) in &g.monitoring {
        let n = Node {
            id: format!("monitoring_{m}"),
            label: format!(
                "monitoring ({})",
                peer_label(&config.network.monitoring[m].peer)
            ),
            unmanaged: false,
            namespace: None,
            unreachable: false,
        };
        edges.insert((n.id.clone(), wnode(w).id), ports_label(ports));
        nodes.insert(n);
    }
    // Services nothing in the input is seen to call: drawn apart, so they stand out.
    for &sv in &g.uncalled {
        let svc = &ix.services[sv];
        let who = if svc.namespace.is_empty() {
            svc.name.clone()
        } else {
            format!("{}/{}", svc.namespace, svc.name)
        };
        let n = Node {
            id: ident(&format!("uncalled_{}_{}", svc.namespace, svc.name)),
            label: format!("Service {who}: no visible caller"),
            unmanaged: false,
            // Beside the workloads' boxes: a Service marker, not a workload of the namespace.
            namespace: None,
            unreachable: false,
        };
        for &b in &svc.backends {
            edges.insert((n.id.clone(), wnode(b).id), "no caller".into());
        }
        nodes.insert(n);
    }
    for ((w, ext), ports) in &g.external {
        let n = Node {
            id: ident(&format!("ext_{ext}")),
            label: ext.clone(),
            unmanaged: false,
            namespace: None,
            unreachable: false,
        };
        edges.insert((wnode(*w).id, n.id.clone()), ports_label(ports));
        nodes.insert(n);
    }
    (nodes, edges)
}

/// Nodes grouped for drawing: the peers outside any namespace box first, then each namespace's
/// workloads, namespaces sorted by name.
fn by_namespace(nodes: &BTreeSet<Node>) -> (Vec<&Node>, BTreeMap<&str, Vec<&Node>>) {
    let mut outside = Vec::new();
    let mut boxes: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
    for n in nodes {
        match &n.namespace {
            Some(ns) => boxes.entry(ns.as_str()).or_default().push(n),
            None => outside.push(n),
        }
    }
    (outside, boxes)
}

/// Mermaid flowchart, left to right, a subgraph per namespace.
pub fn mermaid(g: &Graph, config: &Config) -> String {
    let (nodes, edges) = model(g, config);
    let mut s = String::from("flowchart LR\n");
    let shape = |n: &Node| {
        let label = n.label.replace('"', "'");
        if n.id.starts_with("ext_") {
            format!("{}((\"{label}\"))", n.id)
        } else if n.id.starts_with("ingress_") || n.id.starts_with("monitoring_") {
            format!("{}[/\"{label}\"/]", n.id)
        } else if n.id.starts_with("uncalled_") {
            format!("{}{{{{\"{label}\"}}}}", n.id)
        } else {
            format!("{}[\"{label}\"]", n.id)
        }
    };
    let (outside, boxes) = by_namespace(&nodes);
    for n in outside {
        s.push_str(&format!("  {}\n", shape(n)));
    }
    for (ns, members) in &boxes {
        s.push_str(&format!(
            "  subgraph {} [\"{}\"]\n",
            ident(&format!("ns_{ns}")),
            namespace_label(ns)
        ));
        for n in members {
            s.push_str(&format!("    {}\n", shape(n)));
        }
        s.push_str("  end\n");
    }
    for ((f, t), label) in &edges {
        let arrow = if f.starts_with("uncalled_") {
            "-.->"
        } else {
            "-->"
        };
        s.push_str(&format!("  {f} {arrow}|\"{label}\"| {t}\n"));
    }
    let uncalled: Vec<&str> = nodes
        .iter()
        .filter(|n| n.id.starts_with("uncalled_"))
        .map(|n| n.id.as_str())
        .collect();
    if !uncalled.is_empty() {
        s.push_str("  classDef uncalled stroke:#c00,color:#c00\n");
        s.push_str(&format!("  class {} uncalled\n", uncalled.join(",")));
    }
    for (class, style, pick) in [
        (
            "unmanaged",
            "stroke-dasharray: 5 5",
            (|n: &Node| n.unmanaged) as fn(&Node) -> bool,
        ),
        ("unreachable", "stroke:#c00,stroke-width:2px", |n: &Node| {
            n.unreachable
        }),
    ] {
        let ids: Vec<&str> = nodes
            .iter()
            .filter(|n| pick(n))
            .map(|n| n.id.as_str())
            .collect();
        if !ids.is_empty() {
            s.push_str(&format!("  classDef {class} {style}\n"));
            s.push_str(&format!("  class {} {class}\n", ids.join(",")));
        }
    }
    s
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Graphviz DOT digraph, left to right, a cluster per namespace.
pub fn dot(g: &Graph, config: &Config) -> String {
    let (nodes, edges) = model(g, config);
    let mut s = String::from("digraph services {\n  rankdir=LR;\n  node [shape=box];\n");
    let line = |n: &Node| {
        let mut attrs = vec![format!("label={}", dot_quote(&n.label))];
        if n.id.starts_with("ext_") {
            attrs.push("shape=ellipse".into());
        } else if n.id.starts_with("ingress_") || n.id.starts_with("monitoring_") {
            attrs.push("shape=parallelogram".into());
        } else if n.id.starts_with("uncalled_") {
            attrs.push("shape=octagon, color=red, fontcolor=red".into());
        }
        if n.unmanaged {
            attrs.push("style=dashed".into());
        }
        if n.unreachable {
            attrs.push("color=red".into());
        }
        format!("{} [{}];\n", n.id, attrs.join(", "))
    };
    let (outside, boxes) = by_namespace(&nodes);
    for n in outside {
        s.push_str(&format!("  {}", line(n)));
    }
    for (ns, members) in &boxes {
        // Graphviz draws a box only around subgraphs whose name starts with `cluster`.
        s.push_str(&format!(
            "  subgraph {} {{\n    label={};\n",
            ident(&format!("cluster_{ns}")),
            dot_quote(&namespace_label(ns))
        ));
        for n in members {
            s.push_str(&format!("    {}", line(n)));
        }
        s.push_str("  }\n");
    }
    for ((f, t), label) in &edges {
        let style = if f.starts_with("uncalled_") {
            ", style=dashed, color=red"
        } else {
            ""
        };
        s.push_str(&format!(
            "  {f} -> {t} [label={}{style}];\n",
            dot_quote(label)
        ));
    }
    s.push_str("}\n");
    s
}
