//! The OT sync: GraphQL Relay pages of assets (window on `lastUpdate`), the plugin
//! catalogue, findings (GraphQL `findings`, or `plugin_hits` per asset) and events (window on
//! `time`), streamed into store batches. Cursors are offsets into the current sorted result
//! and go stale: they are never kept between runs; an interrupted run reads its window again
//! (upserts are idempotent).

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{SecondsFormat, TimeZone, Utc};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tenax_model::Timestamp;
use tenax_source::retry::RetryPolicy;
use tenax_source::{
    Progress, Result, SourceBatch, SourceError, SourceEvent, SourceOutcome, SyncRequest, Window,
    WindowStart,
};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::client::{OtClient, OtError};
use crate::config::{FindingsMode, OtAuth, OtSettings};
use crate::map::{self, AssetCtx, Catalog};

/// Checkpoint key of the assets window (`lastUpdate`).
pub const ASSETS_KEY: &str = "ot.window.assets";
/// Checkpoint key of the events window (`time`).
pub const EVENTS_KEY: &str = "ot.window.events";

const ASSETS_QUERY: &str = "query Assets($filter: AssetExpressionsParams!, $sort: [AssetSortParams!]!, $first: Int!, $after: String) { assets(filter: $filter, sort: $sort, first: $first, after: $after) { pageInfo { hasNextPage endCursor } totalCount nodes { id name type superType category vendor family model firmwareVersion serial slot os purdueLevel criticality hidden firstSeen lastSeen lastUpdate risk { totalRisk unresolvedEvents } ips { nodes } macs { nodes } directIps { nodes } directMacs { nodes } backplane { id name size } segments { nodes { id name subnet vlan } } } } }";

const PLUGINS_QUERY: &str = "query Plugins($sort: [PluginSortParams!]!, $first: Int!, $after: String) { plugins(sort: $sort, first: $first, after: $after) { pageInfo { hasNextPage endCursor } totalCount nodes { id name source family severity vprScore details { description solution refs { name value url } cvssBaseScore cvssV3BaseScore } } } }";

const FINDINGS_QUERY: &str = "query Findings($filter: FindingsObjExpressionsParams!, $sort: [FindingsObjSortParams!]!, $first: Int!, $after: String) { findings(filter: $filter, sort: $sort, first: $first, after: $after) { pageInfo { hasNextPage endCursor } totalCount nodes { id status firstHit lastHit fixedAt port protocol svcName output asset { id name ips { nodes } } plugin { id name family severity vprScore } } } }";

const EVENTS_QUERY: &str = "query Events($filter: EventsExpressionsParams!, $sort: [EventsSortParams!]!, $first: Int!, $after: String) { events(filter: $filter, sort: $sort, first: $first, after: $after) { pageInfo { hasNextPage endCursor } totalCount nodes { id type category severity time resolved srcIP dstIP srcMac dstMac protocol protocolNiceName protocolRaw port logId eventType { type description category } policy { title } srcAssets { nodes { id name } } dstAssets { nodes { id name } } } } }";

/// Asset ids per `findings` filter (`assetId In [...]`): keeps request bodies small whatever
/// the page size.
const MAX_IDS_PER_FILTER: usize = 500;

/// The read-only probe of `tenax check` and `tenax ot robot create`.
pub const PROBE_QUERY: &str = "query Probe { assets(first: 1) { nodes { id } } }";

const FINDINGS_PROBE: &str = "query FindingsProbe { findings(first: 1) { nodes { id } } }";

/// Forward paging through one Relay connection, from `after: null`.
struct Pager {
    root: &'static str,
    query: &'static str,
    vars: Value,
    first: u32,
    after: Option<String>,
    done: bool,
    pages: u64,
    /// `totalCount` of the first page, when the appliance gave one ≥ 0.
    total: Option<u64>,
    /// The cursor stopped advancing while `hasNextPage` said more.
    stalled: bool,
}

impl Pager {
    fn new(root: &'static str, query: &'static str, vars: Value, first: u32) -> Self {
        Self {
            root,
            query,
            vars,
            first,
            after: None,
            done: false,
            pages: 0,
            total: None,
            stalled: false,
        }
    }

    /// The next page's nodes (raw JSON text); `None` after the last page. Stops on
    /// `hasNextPage == false` or an empty page, whichever comes first.
    async fn next(&mut self, client: &OtClient) -> Result<Option<Vec<Box<str>>>, OtError> {
        if self.done {
            return Ok(None);
        }
        let mut vars = self.vars.clone();
        vars["first"] = json!(self.first);
        vars["after"] = json!(self.after);
        let page = client.graphql(self.root, self.query, vars).await?;
        let conn = page.connection()?;
        if self.pages == 0 {
            self.total = conn.total_count.and_then(|t| u64::try_from(t).ok());
        }
        self.pages += 1;
        let nodes: Vec<Box<str>> = conn.nodes.iter().map(|r| Box::from(r.get())).collect();
        if nodes.is_empty() {
            self.done = true;
            return Ok(None);
        }
        match (conn.page_info.has_next_page, conn.page_info.end_cursor) {
            (Some(false), _) | (_, None) => self.done = true,
            (_, Some(c)) if self.after.as_deref() == Some(c.as_str()) => {
                self.done = true;
                self.stalled = true;
            }
            (_, Some(c)) => self.after = Some(c),
        }
        Ok(Some(nodes))
    }
}

/// What one phase produced.
#[derive(Debug, Default)]
struct Phase {
    /// Records received (duplicates included).
    received: u64,
    /// Distinct records (what the store ends up with).
    distinct: u64,
    skipped: u64,
    pages: u64,
    /// Newest window-key time seen.
    newest: Option<Timestamp>,
    problems: Vec<String>,
}

impl Phase {
    fn json(&self) -> Value {
        json!({"received": self.received, "distinct": self.distinct, "skipped": self.skipped, "pages": self.pages, "problems": self.problems})
    }
}

/// Collects records into store batches.
struct Batcher<'a> {
    tx: &'a mpsc::Sender<SourceEvent>,
    batch: SourceBatch,
    limit: usize,
}

impl Batcher<'_> {
    fn len(&self) -> usize {
        self.batch.assets.len() + self.batch.findings.len() + self.batch.events.len()
    }

    async fn maybe_flush(&mut self) -> Result<()> {
        if self.len() >= self.limit {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        let b = std::mem::take(&mut self.batch);
        if b.is_empty() {
            return Ok(());
        }
        self.tx
            .send(SourceEvent::Batch(b))
            .await
            .map_err(|_| SourceError::Config("the store writer stopped".into()))
    }
}

/// The OT Security connector.
#[derive(Debug, Clone)]
pub struct OtSource {
    settings: Arc<OtSettings>,
    client: OtClient,
}

fn rfc3339(secs: i64) -> String {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl OtSource {
    /// Builds the connector (HTTP client included) from validated settings.
    pub fn new(settings: OtSettings) -> Result<Self> {
        let client = OtClient::new(&settings)?;
        Ok(Self {
            settings: Arc::new(settings),
            client,
        })
    }

    /// Replaces the retry policy (tests use millisecond delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.client = self.client.with_retry(retry);
        self
    }

    /// The source name.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// The API client.
    pub fn client(&self) -> &OtClient {
        &self.client
    }

    /// The settings.
    pub fn settings(&self) -> &OtSettings {
        &self.settings
    }

    /// Read-only connection test: a one-asset GraphQL query (reachability, TLS, the robot's
    /// certificate or the API key), `GET /v1/version` when the appliance has it, and whether
    /// the GraphQL `findings` field exists. One line per proven thing; the first failure is
    /// the error.
    pub async fn check(&self) -> Result<Vec<String>> {
        let s = &self.settings;
        let page = match self.client.graphql("assets", PROBE_QUERY, json!({})).await {
            Ok(p) => p,
            Err(e) => {
                let e = SourceError::from(e);
                let msg = e.to_string();
                if msg.contains("server certificate not trusted")
                    && s.tls.pin.is_none()
                    && let Some(f) =
                        crate::tls::presented_certificate(&s.http, self.client.base()).await
                {
                    return Err(SourceError::Config(format!(
                        "{msg} (the appliance presented sha256 {f}: compare it with the \
                         appliance's own certificate before pinning it)"
                    )));
                }
                return Err(e);
            }
        };
        let n = page.connection().map(|c| c.nodes.len()).unwrap_or(0);
        let who = match &s.auth {
            OtAuth::Robot { name, identity } => format!(
                "robot `{name}` accepted over mutual TLS (client certificate sha256 {})",
                identity.fingerprint()
            ),
            OtAuth::ApiKey(_) => "API key accepted".to_owned(),
        };
        let mut lines = vec![
            format!(
                "GraphQL answers, {who}; {}",
                if n > 0 {
                    "assets are readable"
                } else {
                    "no asset visible yet"
                }
            ),
            s.tls.describe(),
        ];
        match self.client.get("/v1/version").await {
            Ok(b) => {
                let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
                let ver = v
                    .get("Version")
                    .or_else(|| v.get("version"))
                    .and_then(|x| x.as_str())
                    .unwrap_or("unknown");
                lines.push(format!("OT Security version {ver} (GET /v1/version)"));
            }
            Err(e) if e.status() == Some(404) => {
                lines.push("no GET /v1/version on this appliance (fine on 4.x)".into())
            }
            Err(e) => lines.push(format!("version unknown: {e}")),
        }
        let findings = match s.findings {
            FindingsMode::PluginHits => "findings from plugin_hits (configured)".to_owned(),
            _ => match self
                .client
                .graphql("findings", FINDINGS_PROBE, json!({}))
                .await
            {
                Ok(_) => "findings from GraphQL `findings`".to_owned(),
                Err(OtError::Graphql(g)) if g.is_validation() => {
                    if s.findings == FindingsMode::Graphql {
                        return Err(SourceError::Config(format!(
                            "findings = \"graphql\" but the appliance has no GraphQL `findings` \
                             field ({g}): use findings = \"auto\" or \"plugin_hits\""
                        )));
                    }
                    "findings from GET /v1/assets/{id}/plugin_hits (no GraphQL `findings` here)"
                        .to_owned()
                }
                Err(e) => return Err(e.into()),
            },
        };
        lines.push(findings);
        Ok(lines)
    }

    /// Runs one sync: sends batches to `tx` and returns the outcome; the window checkpoints
    /// are in `final_checkpoint`. GraphQL errors make the run partial; transport, TLS and
    /// credential failures end it with an error.
    pub async fn run(
        &self,
        req: SyncRequest,
        tx: mpsc::Sender<SourceEvent>,
    ) -> Result<SourceOutcome> {
        let s = &self.settings;
        let now = Utc::now().timestamp();
        let aw = Window::plan(&req, ASSETS_KEY, now, s.lookback, s.overlap);
        let ew = Window::plan(&req, EVENTS_KEY, now, s.lookback, s.overlap);
        info!(source = %s.name, full = aw.full, assets_since = aw.since, events_since = ew.since, "Starting OT sync.");
        let mut out = Batcher {
            tx: &tx,
            batch: SourceBatch::default(),
            limit: s.batch_records,
        };

        let mut assets_ctx: Vec<AssetCtx> = Vec::new();
        let assets = self.assets(&req, &mut out, aw, &mut assets_ctx).await?;
        out.flush().await?;
        let (catalog, plugins) = self.plugins(&req, &tx).await?;
        let (findings, mode) = self.findings(&req, &mut out, &assets_ctx, &catalog).await?;
        out.flush().await?;
        let events = if s.events {
            let e = self.events(&req, &mut out, ew).await?;
            out.flush().await?;
            Some(e)
        } else {
            None
        };

        let mut o = SourceOutcome {
            complete: true,
            ..SourceOutcome::default()
        };
        for p in [
            Some(&assets),
            Some(&plugins),
            Some(&findings),
            events.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            o.problems.extend(p.problems.iter().cloned());
        }
        o.complete = o.problems.is_empty();
        o.expected_assets = Some(assets.distinct);
        o.expected_findings = Some(findings.distinct);
        o.expected_events = events.as_ref().map(|e| e.distinct);
        o.final_checkpoint.push((
            ASSETS_KEY.to_owned(),
            Some(json!(next_window(&req, ASSETS_KEY, aw, assets.newest))),
        ));
        if let Some(e) = &events {
            o.final_checkpoint.push((
                EVENTS_KEY.to_owned(),
                Some(json!(next_window(&req, EVENTS_KEY, ew, e.newest))),
            ));
        }
        o.contributing_runs = vec![req.run_id];
        o.details = json!({
            "assets": assets.json(),
            "plugins": plugins.json(),
            "findings": findings.json(),
            "findings_from": mode,
            "events": events.as_ref().map(Phase::json),
            "assets_since": rfc3339(aw.since),
            "events_since": rfc3339(ew.since),
            "full": aw.full,
        });
        Ok(o)
    }

    fn progress(
        &self,
        tx: &mpsc::Sender<SourceEvent>,
        phase: &'static str,
        p: &Pager,
        records: u64,
    ) {
        let total = p
            .total
            .map(|t| t.div_ceil(u64::from(self.settings.page_size)).max(p.pages));
        let _ = tx.try_send(SourceEvent::Progress(Progress {
            phase,
            done: p.pages,
            total,
            records,
        }));
    }

    /// Pages a connection; GraphQL errors become a problem of the phase (the run is then
    /// partial) and end its paging; other failures end the run.
    async fn page(
        &self,
        req: &SyncRequest,
        pager: &mut Pager,
        phase: &mut Phase,
        what: &str,
    ) -> Result<Option<Vec<Box<str>>>> {
        if req.cancel.is_cancelled() {
            return Err(SourceError::Cancelled);
        }
        match pager.next(&self.client).await {
            Ok(Some(nodes)) => {
                phase.pages = pager.pages;
                Ok(Some(nodes))
            }
            Ok(None) => {
                phase.pages = pager.pages;
                if pager.stalled {
                    phase.problems.push(format!(
                        "{what}: the appliance's endCursor stopped advancing after page {}",
                        pager.pages
                    ));
                }
                Ok(None)
            }
            Err(OtError::Graphql(g)) => {
                warn!(source = %self.settings.name, phase = what, page = pager.pages + 1, error = %g, "GraphQL error; the run is partial.");
                phase.problems.push(format!(
                    "{what}: page {} after {} records: {g}",
                    pager.pages + 1,
                    phase.received
                ));
                Ok(None)
            }
            Err(OtError::Source(e)) => Err(e),
        }
    }

    fn check_total(phase: &mut Phase, what: &str, total: Option<u64>, complete: bool) {
        if let Some(t) = total
            && complete
            && phase.distinct < t
        {
            phase.problems.push(format!(
                "{what}: received {} of the {t} the appliance counted (records moved while \
                 paging); the window is read again next run",
                phase.distinct
            ));
        }
    }

    async fn assets(
        &self,
        req: &SyncRequest,
        out: &mut Batcher<'_>,
        w: WindowStart,
        ctx: &mut Vec<AssetCtx>,
    ) -> Result<Phase> {
        let s = &self.settings;
        let vars = json!({
            "filter": {"op": "And", "expressions": [
                {"field": "hidden", "op": "Equal", "values": "false"},
                {"field": "lastUpdate", "op": "GreaterEqual", "values": rfc3339(w.since)},
            ]},
            "sort": [
                {"field": "lastUpdate", "direction": "AscNullLast"},
                {"field": "id", "direction": "AscNullLast"},
            ],
        });
        let mut pager = Pager::new("assets", ASSETS_QUERY, vars, s.page_size);
        let mut ph = Phase::default();
        let mut seen: HashSet<String> = HashSet::new();
        let mut first_skip = None;
        while let Some(nodes) = self.page(req, &mut pager, &mut ph, "assets").await? {
            for raw in nodes {
                let index = ph.received;
                ph.received += 1;
                match map::parse_asset(&s.name, index, &raw) {
                    Ok((a, last_update)) => {
                        ph.newest = ph.newest.max(last_update);
                        if seen.insert(a.id.clone()) {
                            ctx.push(AssetCtx::of(&a));
                        }
                        out.batch.assets.push((a, raw));
                        out.maybe_flush().await?;
                    }
                    Err(e) => {
                        ph.skipped += 1;
                        first_skip.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            self.progress(out.tx, "ot assets", &pager, ph.received);
        }
        ph.distinct = seen.len() as u64;
        let complete = ph.problems.is_empty();
        Self::check_total(&mut ph, "assets", pager.total, complete);
        skipped(&s.name, "assets", &ph, first_skip);
        Ok(ph)
    }

    async fn plugins(
        &self,
        req: &SyncRequest,
        tx: &mpsc::Sender<SourceEvent>,
    ) -> Result<(Catalog, Phase)> {
        let s = &self.settings;
        let vars = json!({"sort": [{"field": "id", "direction": "AscNullLast"}]});
        let mut pager = Pager::new("plugins", PLUGINS_QUERY, vars, s.page_size);
        let mut ph = Phase::default();
        let mut catalog = Catalog::new();
        let mut first_skip = None;
        while let Some(nodes) = self.page(req, &mut pager, &mut ph, "plugins").await? {
            for raw in nodes {
                let index = ph.received;
                ph.received += 1;
                match map::parse_plugin(index, &raw) {
                    Ok((id, p)) => {
                        catalog.insert(id, p);
                    }
                    Err(e) => {
                        ph.skipped += 1;
                        first_skip.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            self.progress(tx, "ot plugins", &pager, ph.received);
        }
        ph.distinct = catalog.len() as u64;
        skipped(&s.name, "plugins", &ph, first_skip);
        Ok((catalog, ph))
    }

    async fn findings(
        &self,
        req: &SyncRequest,
        out: &mut Batcher<'_>,
        assets: &[AssetCtx],
        catalog: &Catalog,
    ) -> Result<(Phase, &'static str)> {
        let s = &self.settings;
        let mut ph = Phase::default();
        let mut keys: HashSet<String> = HashSet::new();
        let mut mode = match s.findings {
            FindingsMode::PluginHits => "plugin_hits",
            _ => "graphql",
        };
        if mode == "graphql" && !assets.is_empty() {
            let mut first_skip = None;
            'chunks: for chunk in assets.chunks((s.page_size as usize).min(MAX_IDS_PER_FILTER)) {
                let ids: Vec<&str> = chunk.iter().map(|a| a.id.as_str()).collect();
                let vars = json!({
                    "filter": {"field": "assetId", "op": "In", "values": ids},
                    "sort": [{"field": "findingId", "direction": "AscNullLast"}],
                });
                let mut pager = Pager::new("findings", FINDINGS_QUERY, vars, s.page_size);
                let before = keys.len() as u64;
                loop {
                    if req.cancel.is_cancelled() {
                        return Err(SourceError::Cancelled);
                    }
                    let nodes = match pager.next(&self.client).await {
                        Ok(Some(n)) => n,
                        Ok(None) => break,
                        Err(OtError::Graphql(g))
                            if g.is_validation()
                                && ph.received == 0
                                && s.findings == FindingsMode::Auto =>
                        {
                            info!(source = %s.name, error = %g, "No GraphQL `findings` on this appliance; reading plugin_hits per asset.");
                            mode = "plugin_hits";
                            break 'chunks;
                        }
                        Err(OtError::Graphql(g)) => {
                            warn!(source = %s.name, error = %g, "GraphQL error; the run is partial.");
                            ph.problems.push(format!(
                                "findings: page {} after {} records: {g}",
                                pager.pages + 1,
                                ph.received
                            ));
                            break 'chunks;
                        }
                        Err(OtError::Source(e)) => return Err(e),
                    };
                    ph.pages += 1;
                    for raw in nodes {
                        let index = ph.received;
                        ph.received += 1;
                        match map::parse_finding(&s.name, index, &raw, catalog) {
                            Ok(f) => {
                                keys.insert(f.id.clone());
                                out.batch.findings.push((f, raw));
                                out.maybe_flush().await?;
                            }
                            Err(e) => {
                                ph.skipped += 1;
                                first_skip.get_or_insert_with(|| e.to_string());
                            }
                        }
                    }
                    self.progress(out.tx, "ot findings", &pager, ph.received);
                }
                if pager.stalled {
                    ph.problems
                        .push("findings: the appliance's endCursor stopped advancing".into());
                }
                if let Some(t) = pager.total
                    && (keys.len() as u64 - before) < t
                {
                    ph.problems.push(format!(
                        "findings: received {} of the {t} the appliance counted for {} assets",
                        keys.len() as u64 - before,
                        chunk.len()
                    ));
                }
            }
            skipped(&s.name, "findings", &ph, first_skip);
        }
        if mode == "plugin_hits" {
            self.plugin_hits(req, out, assets, catalog, &mut ph, &mut keys)
                .await?;
        }
        ph.distinct = keys.len() as u64;
        Ok((ph, mode))
    }

    async fn plugin_hits(
        &self,
        req: &SyncRequest,
        out: &mut Batcher<'_>,
        assets: &[AssetCtx],
        catalog: &Catalog,
        ph: &mut Phase,
        keys: &mut HashSet<String>,
    ) -> Result<()> {
        let s = &self.settings;
        let client = &self.client;
        let mut hits = futures_util::stream::iter(assets.iter())
            .map(|a| async move {
                let path = format!("/v1/assets/{}/plugin_hits", a.id);
                (a, client.get(&path).await)
            })
            .buffered(s.plugin_hits_concurrency);
        let mut first_skip = None;
        let mut done = 0u64;
        while let Some((asset, body)) = hits.next().await {
            if req.cancel.is_cancelled() {
                return Err(SourceError::Cancelled);
            }
            let body = body?;
            let rows: Vec<&serde_json::value::RawValue> =
                serde_json::from_slice(&body).map_err(|e| SourceError::Decode {
                    endpoint: "GET /v1/assets/{id}/plugin_hits".into(),
                    message: format!("not a JSON array: {e}"),
                })?;
            for r in rows {
                let index = ph.received;
                ph.received += 1;
                let raw: Box<str> = Box::from(r.get());
                match map::parse_plugin_hit(&s.name, asset, index, &raw, catalog) {
                    Ok(f) => {
                        keys.insert(f.id.clone());
                        out.batch.findings.push((f, raw));
                        out.maybe_flush().await?;
                    }
                    Err(e) => {
                        ph.skipped += 1;
                        first_skip.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            done += 1;
            ph.pages = done;
            if done.is_multiple_of(50) || done == assets.len() as u64 {
                let _ = out.tx.try_send(SourceEvent::Progress(Progress {
                    phase: "ot plugin hits",
                    done,
                    total: Some(assets.len() as u64),
                    records: ph.received,
                }));
            }
        }
        skipped(&s.name, "plugin_hits", ph, first_skip);
        Ok(())
    }

    async fn events(
        &self,
        req: &SyncRequest,
        out: &mut Batcher<'_>,
        w: WindowStart,
    ) -> Result<Phase> {
        let s = &self.settings;
        let vars = json!({
            "filter": {"field": "time", "op": "GreaterEqual", "values": rfc3339(w.since)},
            "sort": [{"field": "eventId", "direction": "AscNullLast"}],
        });
        let mut pager = Pager::new("events", EVENTS_QUERY, vars, s.page_size);
        let mut ph = Phase::default();
        let mut seen: HashSet<String> = HashSet::new();
        let mut first_skip = None;
        while let Some(nodes) = self.page(req, &mut pager, &mut ph, "events").await? {
            for raw in nodes {
                let index = ph.received;
                ph.received += 1;
                match map::parse_event(&s.name, index, &raw) {
                    Ok(e) => {
                        ph.newest = ph.newest.max(e.time);
                        seen.insert(e.id.clone());
                        out.batch.events.push((e, raw));
                        out.maybe_flush().await?;
                    }
                    Err(e) => {
                        ph.skipped += 1;
                        first_skip.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            self.progress(out.tx, "ot events", &pager, ph.received);
        }
        ph.distinct = seen.len() as u64;
        let complete = ph.problems.is_empty();
        Self::check_total(&mut ph, "events", pager.total, complete);
        skipped(&s.name, "events", &ph, first_skip);
        debug!(source = %s.name, events = ph.distinct, "Events read.");
        Ok(ph)
    }
}

/// The window checkpoint a complete run writes: the newest `lastUpdate`/`time` seen (the
/// appliance's clock, not ours), never earlier than where the previous window stood. The
/// overlap is subtracted when the next run reads it ([`Window::plan`]).
fn next_window(
    req: &SyncRequest,
    key: &str,
    planned: WindowStart,
    newest: Option<Timestamp>,
) -> Window {
    let prev = req
        .checkpoints
        .get(key)
        .and_then(|v| serde_json::from_value::<Window>(v.clone()).ok())
        .map(|w| w.since);
    let base = prev.unwrap_or(planned.since);
    Window {
        since: newest.map_or(base, |t| t.timestamp().max(base)),
    }
}

fn skipped(source: &str, what: &str, ph: &Phase, first: Option<String>) {
    if ph.skipped > 0 {
        warn!(
            source,
            phase = what,
            skipped = ph.skipped,
            first = first.as_deref().unwrap_or(""),
            "Records skipped: they could not be mapped."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(cp: Option<i64>) -> SyncRequest {
        SyncRequest {
            run_id: 1,
            full: false,
            checkpoints: cp
                .map(|s| {
                    [(ASSETS_KEY.to_owned(), json!({"since": s}))]
                        .into_iter()
                        .collect()
                })
                .unwrap_or_default(),
            cancel: tenax_source::CancellationToken::new(),
        }
    }

    #[test]
    fn window_moves_to_the_newest_time_seen() {
        let t = |s: i64| Utc.timestamp_opt(s, 0).single();
        let planned = WindowStart {
            since: 1000,
            full: true,
        };
        assert_eq!(
            next_window(&req(None), ASSETS_KEY, planned, None).since,
            1000
        );
        assert_eq!(
            next_window(&req(None), ASSETS_KEY, planned, t(5000)).since,
            5000
        );
        let planned = WindowStart {
            since: 6400,
            full: false,
        };
        // Incremental with nothing new: the stored window stays (not the overlap-shifted start).
        assert_eq!(
            next_window(&req(Some(10_000)), ASSETS_KEY, planned, None).since,
            10_000
        );
        assert_eq!(
            next_window(&req(Some(10_000)), ASSETS_KEY, planned, t(9_000)).since,
            10_000
        );
        assert_eq!(
            next_window(&req(Some(10_000)), ASSETS_KEY, planned, t(12_000)).since,
            12_000
        );
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
