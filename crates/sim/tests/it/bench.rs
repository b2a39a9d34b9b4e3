//! Throughput over HTTP (ignored; run in release):
//! `cargo test --release -p tenax-sim --test it bench -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tenax_sim::{SimConfig, VmOptions};

use crate::{Client, all_states, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn http_throughput() {
    let assets: usize = std::env::var("BENCH_ASSETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let t = Instant::now();
    let sim = start(SimConfig {
        assets,
        vm: VmOptions {
            chunk_interval: Duration::ZERO,
            ..VmOptions::default()
        },
        ..SimConfig::default()
    })
    .await;
    let truth = sim.vm_truth();
    println!(
        "generated {assets} assets / {} findings in {:?}",
        truth.findings,
        t.elapsed()
    );
    let c = Client::new(&sim);
    let uuid = c.create("vulns", &all_states(1000)).await;
    let (_, ids) = c.wait("vulns", &uuid).await;
    let t = Instant::now();
    let mut bytes = 0usize;
    for id in ids {
        let mut s = c.chunk("vulns", &uuid, id).await.bytes_stream();
        while let Some(b) = s.next().await {
            bytes += b.expect("body").len();
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "downloaded {:.1} MB in {secs:.2} s = {:.0} MB/s",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs
    );
    sim.shutdown().await;
}
