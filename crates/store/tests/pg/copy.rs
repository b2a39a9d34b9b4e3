//! `tenax db copy`: a SQLite store copied into PostgreSQL reads back identically through the
//! trait, for the data every conformance check leaves behind.

use std::collections::BTreeSet;

use tenax_store::{AssetFilter, EventFilter, FindingFilter, Sla, Store, testsuite};

use crate::harness::Schema;

/// Everything a store says about its data, through the trait.
fn snapshot(store: &dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    out.push(format!(
        "{:?}",
        store.list_runs(None, 100_000).expect("runs")
    ));
    let mut findings = Vec::new();
    store
        .for_each_finding(&FindingFilter::default(), &mut |f| {
            findings.push(f);
            Ok(())
        })
        .expect("findings");
    let mut unified = BTreeSet::new();
    let mut sources = BTreeSet::new();
    for f in &findings {
        out.push(format!("{f:?}"));
        out.push(format!(
            "{:?}",
            store.raw_finding(&f.source, &f.id).expect("raw")
        ));
        out.push(format!(
            "{:?}",
            store.finding_history(&f.source, &f.id).expect("history")
        ));
        sources.insert(f.source.clone());
    }
    let all = AssetFilter {
        include_deleted: true,
        ..AssetFilter::default()
    };
    store
        .for_each_asset_raw(&all, &mut |a, raw| {
            out.push(format!("{a:?} {raw:?}"));
            unified.extend(a.unified_id.clone());
            sources.insert(a.source.clone());
            Ok(())
        })
        .expect("assets");
    let mut events = Vec::new();
    store
        .for_each_event(&EventFilter::default(), &mut |e| {
            events.push(e);
            Ok(())
        })
        .expect("events");
    for e in &events {
        out.push(format!(
            "{e:?} {:?}",
            store.raw_event(&e.source, &e.id).expect("raw")
        ));
    }
    for u in &unified {
        out.push(format!("{:?}", store.unified_links(u).expect("links")));
    }
    for s in &sources {
        for key in ["vulns", "assets", "events", "never"] {
            out.push(format!(
                "{s} {key} {:?}",
                store.checkpoint(s, key).expect("cp")
            ));
        }
    }
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time");
    out.push(format!(
        "{:?}",
        store.remediation(&[], &Sla::default(), now).expect("stats")
    ));
    let as_of = FindingFilter {
        as_of: Some(chrono::DateTime::from_timestamp(450, 0).expect("time")),
        ..FindingFilter::default()
    };
    out.push(format!("{}", store.count_findings(&as_of).expect("as of")));
    out
}

#[test]
fn db_copy_round_trips_every_conformance_data_set() {
    if crate::harness::base_url().is_none() {
        return;
    }
    for (name, check) in testsuite::CHECKS {
        let dir = tempfile::tempdir().expect("temp dir");
        let from = format!("sqlite://{}", dir.path().join("a.db").display());
        {
            let mut src = tenax_store::open(&from).expect("sqlite");
            check(src.as_mut());
        }
        let schema = Schema::new().expect("server");
        let report = tenax_store::copy::copy(&from, &schema.url, &mut |_, _| {}).expect(name);
        assert!(report.matches(), "{name}: {report:?}");
        let src = tenax_store::open(&from).expect("sqlite");
        let dst = tenax_store::open(&schema.url).expect("postgres");
        let (a, b) = (snapshot(src.as_ref()), snapshot(dst.as_ref()));
        assert_eq!(a.len(), b.len(), "{name}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{name}");
        }
        // The copy is a store like any other: it takes new runs after the copied ones.
        drop(dst);
        let mut dst = tenax_store::open(&schema.url).expect("postgres");
        let last = src
            .list_runs(None, 1)
            .expect("runs")
            .first()
            .map_or(0, |r| r.id.0);
        let next = dst
            .begin_run(
                "cloud",
                tenax_model::SourceKind::Vm,
                tenax_store::RunMode::Full,
            )
            .expect("begin");
        assert!(next.0 > last, "{name}: new run {next} after {last}");
    }
}

#[test]
fn db_copy_refuses_a_target_with_data() {
    let Some(schema) = Schema::new() else { return };
    {
        let mut dst = tenax_store::open(&schema.url).expect("postgres");
        dst.begin_run(
            "cloud",
            tenax_model::SourceKind::Vm,
            tenax_store::RunMode::Full,
        )
        .expect("begin");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let from = format!("sqlite://{}", dir.path().join("a.db").display());
    let e = tenax_store::copy::copy(&from, &schema.url, &mut |_, _| {}).expect_err("not empty");
    assert!(e.to_string().contains("not empty"), "{e}");
}
