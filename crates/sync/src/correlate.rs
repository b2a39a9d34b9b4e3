//! Correlation over the store: every stored asset of every source in, each record's unified
//! asset and the evidence linking them out (see `tenax-correlate` for the rules).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use tenax_correlate::{AssetKey, Node, StrongId, correlate};
use tenax_model::{Asset, SourceKind};
use tenax_store::{AssetFilter, Assignment, CorrelationWrite, Store, UnifiedLink};

/// What a correlation found and changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorrelationSummary {
    /// Per-source records correlated.
    pub records: u64,
    /// Unified assets.
    pub unified: u64,
    /// Unified assets with records from more than one source.
    pub multi_source: u64,
    /// Evidence refused because it would have joined two records of one source.
    pub conflicts: u64,
    /// What the store changed.
    pub write: CorrelationWrite,
    /// Reading the stored records (and their identifier fields).
    pub read_time: std::time::Duration,
    /// Correlating them (in memory).
    pub correlate_time: std::time::Duration,
    /// Storing the unified ids and links.
    pub write_time: std::time::Duration,
}

/// Correlates every stored asset (deleted ones as singletons) and stores the result. Unified
/// ids stored by the previous correlation are kept where the evidence still holds.
pub fn correlate_store(store: &mut dyn Store) -> Result<CorrelationSummary, tenax_store::Error> {
    let started = std::time::Instant::now();
    let mut previous: BTreeMap<AssetKey, String> = BTreeMap::new();
    let all = AssetFilter {
        include_deleted: true,
        ..AssetFilter::default()
    };
    // Every record is held while correlating: sized once (a growing vector would hold up to
    // twice the records' room; 400,000 records of four collectors measured 2 GB).
    let expected = usize::try_from(store.count_assets(&all)?).unwrap_or(0);
    let mut assets: Vec<Asset> = Vec::with_capacity(expected);
    // The identifier fields are parsed from the raw records on a second thread while the
    // store is read on this one.
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Option<SourceKind>, Option<String>)>(1024);
    let parser = std::thread::spawn(move || {
        let mut parsed = Vec::with_capacity(expected);
        parsed.extend(
            rx.into_iter()
                .map(|(kind, raw)| raw.map_or_else(Vec::new, |r| strong_ids_of_text(kind, &r))),
        );
        parsed
    });
    let read = store.for_each_asset_raw(&all, &mut |a, raw| {
        if let Some(u) = &a.unified_id {
            previous.insert(AssetKey::of(&a), u.clone());
        }
        // The parser only stops early by panicking, which the join below reports.
        let _ = tx.send((a.kind, raw.map(str::to_owned)));
        // Only what correlation reads: a record kept for each asset of every source.
        assets.push(Asset {
            source: a.source,
            kind: a.kind,
            id: a.id,
            name: a.name,
            hostnames: a.hostnames,
            fqdns: a.fqdns,
            ipv4s: a.ipv4s,
            macs: a.macs,
            deleted_at: a.deleted_at,
            ..Asset::default()
        });
        Ok(())
    });
    drop(tx);
    let parsed = parser
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
    read?;
    let strong: Vec<Vec<StrongId>> = parsed;
    let read = started.elapsed();
    let nodes: Vec<Node<'_>> = assets
        .iter()
        .zip(strong)
        .map(|(a, s)| Node::with_ids(a, s))
        .collect();
    let mut c = correlate(&nodes, &previous);
    let records = assets.len() as u64;
    let assignments: Vec<Assignment> = c
        .unified
        .iter()
        .flat_map(|u| {
            // Only what changed: a re-run with the same evidence rewrites nothing.
            u.members
                .iter()
                .filter(|m| previous.get(*m) != Some(&u.id))
                .map(|m| Assignment {
                    source: m.source.clone(),
                    id: m.id.clone(),
                    unified_id: u.id.clone(),
                })
        })
        .collect();
    // In key order: the store's rows are in that order, so each page is rewritten once.
    let mut assignments = assignments;
    assignments.sort_unstable_by(|a, b| (&a.source, &a.id).cmp(&(&b.source, &b.id)));
    let unified_of = c.assignments();
    let links: Vec<UnifiedLink> = std::mem::take(&mut c.links)
        .into_iter()
        .map(|l| UnifiedLink {
            unified_id: unified_of.get(&l.a).cloned().unwrap_or_default(),
            evidence: serde_json::value::to_raw_value(&l.evidence)
                .unwrap_or_else(|_| serde_json::value::to_raw_value(&Value::Null).expect("null")),
            a: (l.a.source, l.a.id),
            b: (l.b.source, l.b.id),
        })
        .collect();
    let computed = started.elapsed();
    let write = store.apply_correlation(&assignments, &links)?;
    tracing::debug!(
        records,
        read_ms = read.as_millis() as u64,
        correlate_ms = (computed - read).as_millis() as u64,
        write_ms = (started.elapsed() - computed).as_millis() as u64,
        "correlation timings"
    );
    Ok(CorrelationSummary {
        records,
        unified: c.unified.len() as u64,
        multi_source: c
            .unified
            .iter()
            .filter(|u| {
                let first = &u.members[0].source;
                u.members.iter().any(|m| &m.source != first)
            })
            .count() as u64,
        conflicts: c.conflicts.len() as u64,
        write,
        read_time: read,
        correlate_time: computed - read,
        write_time: started.elapsed() - computed,
    })
}

/// The identifier fields of a raw asset record, parsed without building the rest.
#[derive(Debug, Default, Deserialize)]
struct IdFields {
    #[serde(default)]
    agent_uuid: Value,
    #[serde(default)]
    tenable_uuid: Value,
    #[serde(default)]
    bios_uuid: Value,
    #[serde(default, rename = "hostUUID")]
    host_uuid: Value,
    #[serde(default)]
    uuid: Value,
    #[serde(default, rename = "tenableUUID")]
    tenable_uuid_sc: Value,
}

/// [`strong_ids`] from the raw text, parsing only the identifier fields; an unreadable
/// record has none.
pub fn strong_ids_of_text(kind: Option<SourceKind>, raw: &str) -> Vec<StrongId> {
    serde_json::from_str::<IdFields>(raw).map_or_else(|_| Vec::new(), |f| f.strong_ids(kind))
}

/// The strong identifiers a product's raw asset record carries: VM `agent_uuid`,
/// `tenable_uuid` and `bios_uuid`; SC `hostUUID`, `uuid` (the agent's, or the host's on
/// `/rest/hosts`) and `tenableUUID`. OT assets have none.
pub fn strong_ids(kind: Option<SourceKind>, raw: &Value) -> Vec<StrongId> {
    IdFields::deserialize(raw).map_or_else(|_| Vec::new(), |f| f.strong_ids(kind))
}

impl IdFields {
    fn strong_ids(&self, kind: Option<SourceKind>) -> Vec<StrongId> {
        let strings = |v: &Value| -> Vec<String> {
            match v {
                Value::String(s) if !s.trim().is_empty() => vec![s.trim().to_owned()],
                Value::Array(a) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                _ => Vec::new(),
            }
        };
        let mut out = Vec::new();
        match kind {
            Some(SourceKind::Vm) => {
                for v in [&self.agent_uuid, &self.tenable_uuid] {
                    out.extend(strings(v).into_iter().map(StrongId::TenableUuid));
                }
                out.extend(strings(&self.bios_uuid).into_iter().map(StrongId::BiosUuid));
            }
            Some(SourceKind::Sc) => {
                for v in [&self.host_uuid, &self.uuid, &self.tenable_uuid_sc] {
                    out.extend(strings(v).into_iter().map(StrongId::TenableUuid));
                }
            }
            _ => {}
        }
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strong_ids_per_product() {
        let vm = json!({"agent_uuid": "A-1", "bios_uuid": ["B-1", ""], "tenable_uuid": ["T-1"]});
        assert_eq!(
            strong_ids(Some(SourceKind::Vm), &vm),
            vec![
                StrongId::TenableUuid("A-1".into()),
                StrongId::TenableUuid("T-1".into()),
                StrongId::BiosUuid("B-1".into()),
            ]
        );
        let sc = json!({"hostUUID": "h-1", "uuid": "", "tenableUUID": "t-1"});
        assert_eq!(
            strong_ids(Some(SourceKind::Sc), &sc),
            vec![
                StrongId::TenableUuid("h-1".into()),
                StrongId::TenableUuid("t-1".into())
            ]
        );
        assert!(strong_ids(Some(SourceKind::Ot), &json!({"id": "x"})).is_empty());
        assert!(strong_ids(None, &Value::Null).is_empty());
        assert_eq!(
            strong_ids_of_text(Some(SourceKind::Vm), &vm.to_string()),
            strong_ids(Some(SourceKind::Vm), &vm)
        );
        assert!(strong_ids_of_text(Some(SourceKind::Vm), "not json").is_empty());
    }
}
