//! In-process stages of one function run on synthetic prod input (every workload a backend):
//! parse the ResourceList, load the config, run the pipeline, emit the ResourceList.
//! Whole-process comparisons against the baselines are in `benches/compare.sh`.

#[path = "common/gen.rs"]
#[allow(dead_code)] // the package writers are for bench-tools
mod generate;

use std::hint::black_box;
use std::time::Duration;

use apply_defaults::Config;
use apply_defaults::krm::ResourceList;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn sizes() -> Vec<usize> {
    // BENCH_SIZES=10,100,1000,10000 for the full range; 10,000 takes a while per sample.
    std::env::var("BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100, 1000])
}

fn stages(c: &mut Criterion) {
    for n in sizes() {
        let input = generate::resource_list(n);
        let mut group = c.benchmark_group(format!("workloads_{n}"));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(if n >= 10_000 { 30 } else { 5 }));
        group.throughput(Throughput::Bytes(input.len() as u64));

        group.bench_function("parse", |b| {
            b.iter(|| ResourceList::parse(black_box(&input)).expect("generated input parses"))
        });

        let rl = ResourceList::parse(&input).expect("generated input parses");
        group.bench_function("config_load", |b| {
            b.iter(|| Config::load(black_box(rl.function_config.as_ref())).expect("valid config"))
        });

        let config = Config::load(rl.function_config.as_ref()).expect("valid config");
        group.bench_function("pipeline", |b| {
            b.iter_batched(
                || rl.items.clone(),
                |mut items| {
                    let summary = apply_defaults::process_items(&mut items, &config);
                    (items, summary)
                },
                BatchSize::LargeInput,
            )
        });

        let mut out = rl.clone();
        let summary = apply_defaults::process_items(&mut out.items, &config);
        out.results.extend(summary.results);
        group.bench_function("emit", |b| b.iter(|| out.to_yaml().expect("emits")));

        group.bench_function("function_end_to_end", |b| {
            b.iter(|| {
                apply_defaults::run::function(
                    black_box(input.clone().into_bytes()),
                    false,
                    &Default::default(),
                )
            })
        });
        group.finish();
    }
}

criterion_group!(benches, stages);
criterion_main!(benches);
