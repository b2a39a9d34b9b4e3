//! Output formats: table for people; JSON, NDJSON and CSV derived from the records' JSON.

use std::io::{BufWriter, Write};

use serde::Serialize;
use tenax_model::{Asset, Event, Finding};
use tenax_store::{AssetFilter, EventFilter, FindingFilter, RunRecord, Store, Tally};
use tenax_sync::RunSummary;

use crate::Failure;
use crate::args::Format;
use crate::cmd::io_failure;

fn stdout() -> BufWriter<std::io::StdoutLock<'static>> {
    BufWriter::with_capacity(1 << 16, std::io::stdout().lock())
}

fn tally(t: &Tally) -> String {
    match t.expected {
        Some(e) => format!("{}/{}", t.stored, e),
        None => t.stored.to_string(),
    }
}

fn ts(t: &Option<tenax_model::Timestamp>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut c: String = s.chars().take(n.saturating_sub(1)).collect();
        c.push('…');
        c
    }
}

/// Per-source summary after a sync.
pub fn summaries(s: &[RunSummary]) -> std::io::Result<()> {
    let mut w = stdout();
    if s.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "\n{:<16} {:<4} {:<11} {:<10} {:>15} {:>13} {:>8} {:>9}",
        "SOURCE", "KIND", "MODE", "STATUS", "FINDINGS", "ASSETS", "DELETED", "TIME"
    )?;
    for r in s {
        writeln!(
            w,
            "{:<16} {:<4} {:<11} {:<10} {:>15} {:>13} {:>8} {:>8.1}s",
            cut(&r.source, 16),
            r.kind.as_str(),
            r.mode.as_str(),
            r.status.as_str(),
            tally(&r.findings),
            tally(&r.assets),
            r.deleted_assets,
            r.duration.as_secs_f64()
        )?;
        writeln!(w, "  {}", r.message)?;
    }
    w.flush()
}

/// `tenax runs`.
pub fn runs(runs: &[RunRecord], format: Format) -> std::io::Result<()> {
    let mut w = stdout();
    match format {
        Format::Table => {
            writeln!(
                w,
                "{:>5} {:<16} {:<4} {:<11} {:<10} {:<20} {:>15} {:>13} {:>8} {:>9}  MESSAGE",
                "RUN",
                "SOURCE",
                "KIND",
                "MODE",
                "STATUS",
                "STARTED",
                "FINDINGS",
                "ASSETS",
                "DELETED",
                "TIME"
            )?;
            for r in runs {
                let dur = r
                    .finished_at
                    .map(|f| {
                        format!(
                            "{:.1}s",
                            (f - r.started_at).num_milliseconds() as f64 / 1000.0
                        )
                    })
                    .unwrap_or_else(|| "-".into());
                writeln!(
                    w,
                    "{:>5} {:<16} {:<4} {:<11} {:<10} {:<20} {:>15} {:>13} {:>8} {:>9}  {}",
                    r.id.0,
                    cut(&r.source, 16),
                    r.kind.as_str(),
                    r.mode.as_str(),
                    r.status.as_str(),
                    r.started_at.format("%Y-%m-%d %H:%M:%S"),
                    tally(&r.findings),
                    tally(&r.assets),
                    r.deleted_assets,
                    dur,
                    r.message.as_deref().unwrap_or("")
                )?;
            }
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut w, runs)?;
            writeln!(w)?;
        }
        Format::Ndjson => {
            for r in runs {
                serde_json::to_writer(&mut w, r)?;
                writeln!(w)?;
            }
        }
        Format::Csv => {
            let mut c = csv::Writer::from_writer(&mut w);
            c.write_record([
                "id",
                "source",
                "kind",
                "mode",
                "status",
                "started_at",
                "finished_at",
                "findings_expected",
                "findings_stored",
                "assets_expected",
                "assets_stored",
                "deleted_assets",
                "message",
                "events_expected",
                "events_stored",
            ])?;
            for r in runs {
                let opt = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
                c.write_record([
                    r.id.0.to_string(),
                    r.source.clone(),
                    r.kind.as_str().into(),
                    r.mode.as_str().into(),
                    r.status.as_str().into(),
                    r.started_at.to_rfc3339(),
                    r.finished_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    opt(r.findings.expected),
                    r.findings.stored.to_string(),
                    opt(r.assets.expected),
                    r.assets.stored.to_string(),
                    r.deleted_assets.to_string(),
                    r.message.clone().unwrap_or_default(),
                    opt(r.events.expected),
                    r.events.stored.to_string(),
                ])?;
            }
            c.flush()?;
        }
    }
    w.flush()
}

/// A record that can be printed in every format.
trait Row: Serialize {
    /// Table header line.
    fn table_header() -> String;
    /// One table line.
    fn table_line(&self) -> String;
    /// CSV column names (the JSON field names).
    const CSV_COLUMNS: &'static [&'static str];
    /// One CSV row, in `CSV_COLUMNS` order.
    fn csv_row(&self) -> Vec<String>;
}

/// Streams records in a format.
struct Emitter<W: Write> {
    out: Out<W>,
    format: Format,
    n: u64,
}

enum Out<W: Write> {
    Plain(W),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> Emitter<W> {
    fn new(w: W, format: Format) -> Self {
        let out = if format == Format::Csv {
            Out::Csv(Box::new(csv::Writer::from_writer(w)))
        } else {
            Out::Plain(w)
        };
        Self { out, format, n: 0 }
    }

    fn record<R: Row>(&mut self, rec: &R) -> std::io::Result<()> {
        match &mut self.out {
            Out::Csv(c) => {
                if self.n == 0 {
                    c.write_record(R::CSV_COLUMNS)?;
                }
                c.write_record(rec.csv_row())?;
            }
            Out::Plain(w) => match self.format {
                Format::Table => {
                    if self.n == 0 {
                        writeln!(w, "{}", R::table_header())?;
                    }
                    writeln!(w, "{}", rec.table_line())?;
                }
                Format::Json => {
                    w.write_all(if self.n == 0 { b"[\n" } else { b",\n" })?;
                    serde_json::to_writer(&mut *w, rec)?;
                }
                _ => {
                    serde_json::to_writer(&mut *w, rec)?;
                    w.write_all(b"\n")?;
                }
            },
        }
        self.n += 1;
        Ok(())
    }

    fn finish(self) -> std::io::Result<()> {
        match self.out {
            Out::Csv(mut c) => c.flush(),
            Out::Plain(mut w) => {
                if self.format == Format::Json {
                    w.write_all(if self.n == 0 { b"[]\n" } else { b"\n]\n" })?;
                }
                w.flush()
            }
        }
    }
}

/// Prints every record a store walk yields; an output error stops the walk.
fn print_all<R: Row>(
    format: Format,
    walk: impl FnOnce(&mut dyn FnMut(R) -> tenax_store::Result<()>) -> tenax_store::Result<()>,
) -> Result<(), Failure> {
    let mut e = Emitter::new(stdout(), format);
    let mut io_err = None;
    let r = walk(&mut |rec: R| {
        e.record(&rec).map_err(|err| {
            let msg = err.to_string();
            io_err = Some(err);
            tenax_store::Error::Callback(msg)
        })
    });
    if let Some(err) = io_err {
        return Err(io_failure(err));
    }
    r?;
    e.finish().map_err(io_failure)
}

fn join(v: &[String]) -> String {
    v.join(";")
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(|x| x.to_string()).unwrap_or_default()
}

impl Row for Finding {
    fn table_header() -> String {
        format!(
            "{:<12} {:<9} {:<9} {:>8} {:<10} {:<16} {:<17} NAME",
            "SOURCE", "SEVERITY", "STATE", "PLUGIN", "PORT", "HOST", "LAST FOUND"
        )
    }

    fn table_line(&self) -> String {
        let f = self;
        let host = f
            .hostname
            .as_deref()
            .or(f.ipv4.as_deref())
            .unwrap_or(&f.asset_id);
        format!(
            "{:<12} {:<9} {:<9} {:>8} {:<10} {:<16} {:<17} {}",
            cut(&f.source, 12),
            f.severity.as_str(),
            f.state.as_str(),
            f.plugin_id,
            format!("{}/{}", f.port, f.protocol),
            cut(host, 16),
            ts(&f.last_found),
            cut(f.plugin_name.as_deref().unwrap_or(""), 60)
        )
    }

    const CSV_COLUMNS: &'static [&'static str] = &[
        "source",
        "kind",
        "id",
        "asset_id",
        "unified_asset_id",
        "plugin_id",
        "plugin_name",
        "plugin_family",
        "severity",
        "state",
        "port",
        "protocol",
        "service",
        "cves",
        "cvss3_base_score",
        "cvss2_base_score",
        "vpr_score",
        "first_found",
        "last_found",
        "last_fixed",
        "hostname",
        "ipv4",
        "synopsis",
        "solution",
        "output",
    ];

    fn csv_row(&self) -> Vec<String> {
        finding_csv(self)
    }
}

fn finding_csv(f: &Finding) -> Vec<String> {
    let t = |t: &Option<tenax_model::Timestamp>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    vec![
        f.source.clone(),
        f.kind.as_str().into(),
        f.id.clone(),
        f.asset_id.clone(),
        opt(&f.unified_asset_id),
        f.plugin_id.to_string(),
        opt(&f.plugin_name),
        opt(&f.plugin_family),
        f.severity.as_str().into(),
        f.state.as_str().into(),
        f.port.to_string(),
        f.protocol.clone(),
        opt(&f.service),
        join(&f.cves),
        opt(&f.cvss3_base_score),
        opt(&f.cvss2_base_score),
        opt(&f.vpr_score),
        t(&f.first_found),
        t(&f.last_found),
        t(&f.last_fixed),
        opt(&f.hostname),
        opt(&f.ipv4),
        opt(&f.synopsis),
        opt(&f.solution),
        opt(&f.output),
    ]
}

/// `tenax findings`.
pub fn findings(store: &dyn Store, filter: &FindingFilter, format: Format) -> Result<(), Failure> {
    print_all::<Finding>(format, |f| store.for_each_finding(filter, f))
}

impl Row for Asset {
    fn table_header() -> String {
        format!(
            "{:<12} {:<36} {:<28} {:<15} {:<17} {:<17} OS",
            "SOURCE", "ID", "NAME", "IPV4", "MAC", "LAST SEEN"
        )
    }

    fn table_line(&self) -> String {
        let a = self;
        format!(
            "{:<12} {:<36} {:<28} {:<15} {:<17} {:<17} {}",
            cut(&a.source, 12),
            cut(&a.id, 36),
            cut(a.name.as_deref().unwrap_or(""), 28),
            a.ipv4s.first().map(String::as_str).unwrap_or(""),
            a.macs.first().map(String::as_str).unwrap_or(""),
            ts(&a.last_seen),
            cut(
                a.operating_systems
                    .first()
                    .map(String::as_str)
                    .unwrap_or(""),
                40
            )
        )
    }

    const CSV_COLUMNS: &'static [&'static str] = &[
        "source",
        "kind",
        "id",
        "unified_id",
        "name",
        "hostnames",
        "fqdns",
        "ipv4s",
        "ipv6s",
        "macs",
        "operating_systems",
        "type",
        "vendor",
        "model",
        "firmware",
        "first_seen",
        "last_seen",
        "tags",
        "risk",
        "deleted_at",
    ];

    fn csv_row(&self) -> Vec<String> {
        asset_csv(self)
    }
}

fn asset_csv(a: &Asset) -> Vec<String> {
    let t = |t: &Option<tenax_model::Timestamp>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    vec![
        a.source.clone(),
        a.kind.map(|k| k.as_str().to_owned()).unwrap_or_default(),
        a.id.clone(),
        opt(&a.unified_id),
        opt(&a.name),
        join(&a.hostnames),
        join(&a.fqdns),
        join(&a.ipv4s),
        join(&a.ipv6s),
        join(&a.macs),
        join(&a.operating_systems),
        opt(&a.asset_type),
        opt(&a.vendor),
        opt(&a.model),
        opt(&a.firmware),
        t(&a.first_seen),
        t(&a.last_seen),
        serde_json::to_string(&a.tags).unwrap_or_default(),
        opt(&a.risk),
        t(&a.deleted_at),
    ]
}

/// `tenax assets`.
pub fn assets(store: &dyn Store, filter: &AssetFilter, format: Format) -> Result<(), Failure> {
    print_all::<Asset>(format, |f| store.for_each_asset(filter, f))
}

impl Row for Event {
    fn table_header() -> String {
        format!(
            "{:<12} {:<20} {:<8} {:<22} {:<15} {:<15} {:<5} DESCRIPTION",
            "SOURCE", "TIME", "SEVERITY", "TYPE", "SRC IP", "DST IP", "PORT"
        )
    }

    fn table_line(&self) -> String {
        let e = self;
        format!(
            "{:<12} {:<20} {:<8} {:<22} {:<15} {:<15} {:<5} {}",
            cut(&e.source, 12),
            ts(&e.time),
            e.severity.map(|s| s.as_str()).unwrap_or(""),
            cut(e.event_type.as_deref().unwrap_or(""), 22),
            e.src_ip.as_deref().unwrap_or(""),
            e.dst_ip.as_deref().unwrap_or(""),
            opt(&e.port),
            cut(
                e.description
                    .as_deref()
                    .or(e.policy.as_deref())
                    .unwrap_or(""),
                60
            )
        )
    }

    const CSV_COLUMNS: &'static [&'static str] = &[
        "source",
        "kind",
        "id",
        "time",
        "type",
        "category",
        "severity",
        "description",
        "policy",
        "src_ip",
        "dst_ip",
        "src_mac",
        "dst_mac",
        "protocol",
        "port",
        "asset_ids",
        "resolved",
    ];

    fn csv_row(&self) -> Vec<String> {
        let e = self;
        vec![
            e.source.clone(),
            e.kind.as_str().to_owned(),
            e.id.clone(),
            e.time.map(|t| t.to_rfc3339()).unwrap_or_default(),
            opt(&e.event_type),
            opt(&e.category),
            e.severity
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            opt(&e.description),
            opt(&e.policy),
            opt(&e.src_ip),
            opt(&e.dst_ip),
            opt(&e.src_mac),
            opt(&e.dst_mac),
            opt(&e.protocol),
            opt(&e.port),
            join(&e.asset_ids),
            e.resolved.to_string(),
        ]
    }
}

/// `tenax events`.
pub fn events(store: &dyn Store, filter: &EventFilter, format: Format) -> Result<(), Failure> {
    print_all::<Event>(format, |f| store.for_each_event(filter, f))
}

/// `tenax stats`.
pub fn stats(stats: &[tenax_store::RemediationStat], format: Format) -> std::io::Result<()> {
    let mut w = stdout();
    let days = |d: Option<f64>| d.map(|d| format!("{d:.1}")).unwrap_or_default();
    match format {
        Format::Table => {
            writeln!(
                w,
                "{:<16} {:<9} {:>8} {:>9} {:>6} {:>8} {:>10}",
                "SOURCE", "SEVERITY", "OPEN", "PAST SLA", "SLA", "FIXED", "MTTR DAYS"
            )?;
            for s in stats {
                writeln!(
                    w,
                    "{:<16} {:<9} {:>8} {:>9} {:>6} {:>8} {:>10}",
                    cut(&s.source, 16),
                    s.severity.as_str(),
                    s.open,
                    s.past_sla,
                    s.sla_days
                        .map(|d| format!("{d}d"))
                        .unwrap_or_else(|| "-".into()),
                    s.fixed,
                    days(s.mean_days_to_remediate)
                )?;
            }
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut w, stats)?;
            writeln!(w)?;
        }
        Format::Ndjson => {
            for s in stats {
                serde_json::to_writer(&mut w, s)?;
                writeln!(w)?;
            }
        }
        Format::Csv => {
            let mut c = csv::Writer::from_writer(&mut w);
            c.write_record([
                "source",
                "severity",
                "open",
                "past_sla",
                "sla_days",
                "fixed",
                "mean_days_to_remediate",
            ])?;
            for s in stats {
                c.write_record([
                    s.source.clone(),
                    s.severity.as_str().to_owned(),
                    s.open.to_string(),
                    s.past_sla.to_string(),
                    opt(&s.sla_days),
                    s.fixed.to_string(),
                    opt(&s.mean_days_to_remediate),
                ])?;
            }
            c.flush()?;
        }
    }
    w.flush()
}

/// `tenax history`.
pub fn history(h: &[tenax_store::Transition], format: Format) -> std::io::Result<()> {
    let mut w = stdout();
    match format {
        Format::Table => {
            writeln!(w, "{:<32} {:>5} {:<9} STATE", "AT", "RUN", "CHANGE")?;
            for t in h {
                writeln!(
                    w,
                    "{:<32} {:>5} {:<9} {}",
                    t.at.to_rfc3339(),
                    t.run.0,
                    t.change.as_str(),
                    t.state.as_str()
                )?;
            }
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut w, h)?;
            writeln!(w)?;
        }
        Format::Ndjson => {
            for t in h {
                serde_json::to_writer(&mut w, t)?;
                writeln!(w)?;
            }
        }
        Format::Csv => {
            let mut c = csv::Writer::from_writer(&mut w);
            c.write_record(["at", "run", "change", "state"])?;
            for t in h {
                c.write_record([
                    t.at.to_rfc3339(),
                    t.run.0.to_string(),
                    t.change.as_str().to_owned(),
                    t.state.as_str().to_owned(),
                ])?;
            }
            c.flush()?;
        }
    }
    w.flush()
}

/// The one line after a correlation.
pub fn correlation(c: &tenax_sync::CorrelationSummary) -> std::io::Result<()> {
    let mut w = stdout();
    writeln!(
        w,
        "correlated: {} records into {} unified assets ({} seen by more than one source), {} \
         conflicting links refused; {} records re-linked ({:.2} s: read {:.2} s, correlate {:.2} \
         s, write {:.2} s)",
        c.records,
        c.unified,
        c.multi_source,
        c.conflicts,
        c.write.assets_changed,
        (c.read_time + c.correlate_time + c.write_time).as_secs_f64(),
        c.read_time.as_secs_f64(),
        c.correlate_time.as_secs_f64(),
        c.write_time.as_secs_f64()
    )?;
    w.flush()
}

/// A unified asset as `tenax assets --unified` prints it.
#[derive(Debug, Serialize)]
struct Unified {
    id: String,
    name: Option<String>,
    sources: Vec<String>,
    members: Vec<Member>,
    evidence: Vec<tenax_store::UnifiedLink>,
}

#[derive(Debug, Serialize)]
struct Member {
    source: String,
    kind: Option<tenax_model::SourceKind>,
    id: String,
    name: Option<String>,
    ipv4s: Vec<String>,
    macs: Vec<String>,
}

impl Row for Unified {
    fn table_header() -> String {
        format!(
            "{:<36} {:<28} {:<24} RECORDS",
            "UNIFIED ID", "NAME", "SOURCES"
        )
    }

    fn table_line(&self) -> String {
        format!(
            "{:<36} {:<28} {:<24} {}",
            self.id,
            cut(self.name.as_deref().unwrap_or(""), 28),
            cut(&self.sources.join(","), 24),
            self.members.len()
        )
    }

    const CSV_COLUMNS: &'static [&'static str] = &["id", "name", "sources", "members"];

    fn csv_row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            opt(&self.name),
            self.sources.join(";"),
            self.members
                .iter()
                .map(|m| format!("{}/{}", m.source, m.id))
                .collect::<Vec<_>>()
                .join(";"),
        ]
    }
}

/// `tenax assets --unified`: the records grouped by unified asset, with the evidence.
pub fn unified_assets(
    store: &dyn Store,
    filter: &AssetFilter,
    format: Format,
) -> Result<(), Failure> {
    let mut groups: std::collections::BTreeMap<String, Vec<Asset>> = Default::default();
    let walk = AssetFilter {
        limit: None,
        ..filter.clone()
    };
    store.for_each_asset(&walk, &mut |a| {
        if let Some(u) = a.unified_id.clone() {
            groups.entry(u).or_default().push(a);
        }
        Ok(())
    })?;
    let limit = filter.limit.unwrap_or(u64::MAX);
    print_all::<Unified>(format, |emit| {
        for (id, members) in groups
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
        {
            let mut sources: Vec<String> = members.iter().map(|m| m.source.clone()).collect();
            sources.dedup();
            let evidence = store.unified_links(&id)?;
            emit(Unified {
                name: members.iter().find_map(|m| m.name.clone()),
                sources,
                members: members
                    .into_iter()
                    .map(|m| Member {
                        source: m.source,
                        kind: m.kind,
                        id: m.id,
                        name: m.name,
                        ipv4s: m.ipv4s,
                        macs: m.macs,
                    })
                    .collect(),
                evidence,
                id,
            })?;
        }
        Ok(())
    })
}
