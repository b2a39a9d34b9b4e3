use chrono::{TimeZone, Utc};
use serde_json::json;
use tenax_sim::SimConfig;

use crate::{Client, all_states, cfg, start};

async fn bytes_of(seed: u64) -> (Vec<Vec<u8>>, Vec<u64>) {
    let anchor = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single();
    let sim = start(SimConfig {
        anchor,
        ..cfg(seed, 250)
    })
    .await;
    let c = Client::new(&sim);
    let mut out = Vec::new();
    let v = c.create("vulns", &all_states(50)).await;
    let (_, order) = c.wait("vulns", &v).await;
    let total = order.len() as u64;
    for id in 1..=total {
        out.push(
            c.chunk("vulns", &v, id)
                .await
                .bytes()
                .await
                .expect("body")
                .to_vec(),
        );
    }
    let a = c.create("assets", &json!({"chunk_size": 100})).await;
    c.wait("assets", &a).await;
    out.push(
        c.chunk("assets", &a, 1)
            .await
            .bytes()
            .await
            .expect("body")
            .to_vec(),
    );
    sim.shutdown().await;
    (out, order)
}

#[tokio::test]
async fn same_seed_same_bytes() {
    let (a, order_a) = bytes_of(5).await;
    let (b, order_b) = bytes_of(5).await;
    assert_eq!(a.len(), b.len());
    assert!(
        a.iter().zip(&b).all(|(x, y)| x == y),
        "byte-identical chunks"
    );
    assert_eq!(order_a, order_b, "same availability order");
    let (c, _) = bytes_of(6).await;
    assert_ne!(a[0], c[0]);
}
