//! Parse-path micro benchmark: split + validate + parse + map + copy raw, as `try_download`
//! does, over saved chunk files. `cargo run --release -p tenax-source-vm --example parse_bench -- FILE…`
use std::time::Instant;

use tenax_source::json_array::{ArraySplitter, SplitError};

fn main() {
    let files: Vec<Vec<u8>> = std::env::args()
        .skip(1)
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    let mut best = f64::MAX;
    for _ in 0..7 {
        let t = Instant::now();
        let mut n = 0u64;
        let mut keep = Vec::new();
        for data in &files {
            let mut sp = ArraySplitter::new();
            for piece in data.chunks(16 << 10) {
                sp.feed(piece, |elem: &[u8]| {
                    let raw = simdutf8::basic::from_utf8(elem).expect("utf8");
                    let f = tenax_source_vm::map::parse_finding_str("s", 0, raw).expect("map");
                    keep.push((f, Box::<str>::from(raw)));
                    if keep.len() == 1000 {
                        n += keep.len() as u64;
                        keep.clear();
                    }
                    Ok::<(), SplitError>(())
                })
                .expect("split");
            }
        }
        n += keep.len() as u64;
        let ns = t.elapsed().as_nanos() as f64 / n as f64;
        best = best.min(ns);
        eprintln!("{n} findings, {:.2} µs/finding", ns / 1e3);
    }
    println!("best {:.2} µs/finding", best / 1e3);
}
