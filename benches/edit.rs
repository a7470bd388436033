//! Speed of the core on the files it meets: parse+print of the stock ALARM file, the
//! standard edit (enable, add a host, recompute -j), and parse+print of generated
//! multi-megabyte configs (the cost should grow linearly with size).

use alarm_distcc::document::Document;
use alarm_distcc::hosts::HostSpec;
use alarm_distcc::plan::{HostChange, plan_hosts};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn stock() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/alarm-aarch64-stock.conf"
    ))
    .unwrap()
}

/// A config of about `size` bytes made of the stock file repeated with its assignments
/// renamed, so the lexer sees realistic text throughout.
fn generated(size: usize) -> Vec<u8> {
    let base = String::from_utf8(stock()).unwrap();
    let mut out = String::with_capacity(size + base.len());
    let mut i = 0;
    while out.len() < size {
        out.push_str(
            &base
                .replace("FLAGS=", &format!("FLAGS_{i}="))
                .replace("BUILDENV=", &format!("BUILDENV_{i}=")),
        );
        i += 1;
    }
    out.push_str("BUILDENV=(!distcc color check)\n#MAKEFLAGS=\"-j2\"\n");
    out.into_bytes()
}

fn benches(c: &mut Criterion) {
    let stock = stock();
    c.bench_function("parse+print stock aarch64", |b| {
        b.iter(|| Document::parse(black_box(stock.clone())).to_bytes())
    });
    let spec: HostSpec = "192.168.1.100:3636/6".parse().unwrap();
    let doc = Document::parse(stock.clone());
    c.bench_function("standard edit (enable, add host, -j)", |b| {
        b.iter(|| {
            plan_hosts(
                black_box(&doc),
                &HostChange::Add(vec![spec.clone()]),
                &Default::default(),
            )
            .unwrap()
        })
    });
    let mut group = c.benchmark_group("parse+print generated");
    group.sample_size(10);
    for mib in [1usize, 2, 4, 8] {
        let text = generated(mib << 20);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{mib} MiB")),
            &text,
            |b, t| b.iter(|| Document::parse(black_box(t.clone())).to_bytes()),
        );
    }
    group.finish();
}

criterion_group!(core, benches);
criterion_main!(core);
