//! One integration-test binary; each topic is a module of its own (ripgrep's layout).
//! Every test runs the built binary or real tools; nothing is stubbed.

mod util;

mod apiserver;
mod checkers;
mod examples;
mod hardening;
mod helm;
mod hostile;
mod modules;
mod netpol;
mod netpol_flows;
mod netpol_oracle;
mod newcomer;
mod probes_security;
mod properties;
mod readme;
mod rendered;
mod replicas;
mod runners;
mod stacks;
mod wire;
