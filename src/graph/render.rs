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
    let wnode = |w: usize| {
        let wl = &ix.workloads[w];
        Node {
            id: ident(&if multi_ns {
                format!("w_{}_{}", wl.namespace, wl.name)
            } else {
                format!("w_{}", wl.name)
            }),
            label: if multi_ns {
                wl.display()
            } else {
                wl.name.clone()
            },
            unmanaged: !wl.managed,
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
        };
        edges.insert((wnode(*w).id, n.id.clone()), ports_label(ports));
        nodes.insert(n);
    }
    (nodes, edges)
}

/// Mermaid flowchart, left to right.
pub fn mermaid(g: &Graph, config: &Config) -> String {
    let (nodes, edges) = model(g, config);
    let mut s = String::from("flowchart LR\n");
    for n in &nodes {
        let label = n.label.replace('"', "'");
        if n.id.starts_with("ext_") {
            s.push_str(&format!("  {}((\"{label}\"))\n", n.id));
        } else if n.id.starts_with("ingress_") || n.id.starts_with("monitoring_") {
            s.push_str(&format!("  {}[/\"{label}\"/]\n", n.id));
        } else if n.id.starts_with("uncalled_") {
            s.push_str(&format!("  {}{{{{\"{label}\"}}}}\n", n.id));
        } else {
            s.push_str(&format!("  {}[\"{label}\"]\n", n.id));
        }
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
    let unmanaged: Vec<&str> = nodes
        .iter()
        .filter(|n| n.unmanaged)
        .map(|n| n.id.as_str())
        .collect();
    if !unmanaged.is_empty() {
        s.push_str("  classDef unmanaged stroke-dasharray: 5 5\n");
        s.push_str(&format!("  class {} unmanaged\n", unmanaged.join(",")));
    }
    s
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Graphviz DOT digraph, left to right.
pub fn dot(g: &Graph, config: &Config) -> String {
    let (nodes, edges) = model(g, config);
    let mut s = String::from("digraph services {\n  rankdir=LR;\n  node [shape=box];\n");
    for n in &nodes {
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
        s.push_str(&format!("  {} [{}];\n", n.id, attrs.join(", ")));
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
