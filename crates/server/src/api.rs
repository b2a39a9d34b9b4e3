//! The `/api/v1` endpoints and `/healthz` (see docs/API.md: the contract).

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tenax_model::{FindingState, Severity, Timestamp};
use tenax_store::{AssetFilter, EventFilter, EventKey, FindingFilter, Store, UnifiedFilter};

use crate::error::ApiError;
use crate::overview;
use crate::params::{DEFAULT_LIMIT, MAX_LIMIT, Params, bad_cursor, encode_cursor, parse_time};
use crate::state::AppState;

type ApiResult = Result<Response, ApiError>;

/// The API routes (behind the token check).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/sources", get(sources))
        .route("/api/v1/runs", get(runs))
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/sla", get(sla))
        .route("/api/v1/assets", get(assets))
        .route("/api/v1/assets/{source}/{id}", get(asset))
        .route("/api/v1/unified-assets", get(unified_assets))
        .route("/api/v1/unified-assets/{unified_id}", get(unified_asset))
        .route("/api/v1/findings", get(findings))
        .route("/api/v1/findings/{source}/{id}", get(finding))
        .route("/api/v1/events", get(events))
}

/// Routes without a token: the health check.
pub(crate) fn public_routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

fn ok(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::Internal(format!("encoding an answer: {e}")))
}

/// Source names in a `source` parameter: `[a-z0-9_-]+` each (what config accepts).
fn sources_param(p: &Params) -> Result<Vec<String>, ApiError> {
    let names = p.names("source");
    for n in &names {
        if !n
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            let shown: String = n.chars().filter(|c| !c.is_control()).take(40).collect();
            return Err(ApiError::BadRequest(format!(
                "parameter `source`: `{shown}` is not a source name ([a-z0-9_-]+)"
            )));
        }
    }
    Ok(names)
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.read(|s| Ok(s.data_version()?)).await {
        Ok(_) => Json(json!({"status": "ok"})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "Health check failed.");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "error", "error": "the store cannot be read"})),
            )
                .into_response()
        }
    }
}

async fn openapi(RawQuery(q): RawQuery) -> ApiResult {
    Params::parse(q.as_deref(), &[])?;
    ok(crate::openapi::document())
}

async fn sources(State(state): State<AppState>, RawQuery(q): RawQuery) -> ApiResult {
    Params::parse(q.as_deref(), &[])?;
    let v = state
        .cached("sources".to_owned(), overview::sources)
        .await?;
    ok(json!({ "items": *v }))
}

async fn runs(State(state): State<AppState>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref(), &["source", "limit"])?;
    let source = sources_param(&p)?;
    if source.len() > 1 {
        return Err(ApiError::BadRequest(
            "parameter `source`: one source name".to_owned(),
        ));
    }
    let limit = p.limit(50, MAX_LIMIT)?;
    let runs = state
        .read(move |s| Ok(s.list_runs(source.first().map(String::as_str), limit as usize)?))
        .await?;
    ok(json!({ "items": to_json(&runs)? }))
}

async fn stats(State(state): State<AppState>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref(), &["source"])?;
    let sources = sources_param(&p)?;
    let v = overview::overview(&state, sources).await?;
    ok((*v).clone())
}

async fn sla(State(state): State<AppState>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref(), &["source"])?;
    let sources = sources_param(&p)?;
    let sla = state.config().sla;
    let items = state
        .read(move |s| to_json(&s.remediation(&sources, &sla, chrono::Utc::now())?))
        .await?;
    ok(json!({ "sla_days": overview::sla_days(&sla), "items": items }))
}

/// A page: the items and the cursor after the last one when there may be more.
fn page(items: Vec<Value>, next: Option<String>) -> ApiResult {
    ok(json!({ "items": items, "next_cursor": next }))
}

/// A `(source, id)` cursor.
fn key_cursor(p: &Params) -> Result<Option<(String, String)>, ApiError> {
    match p.cursor()? {
        None => Ok(None),
        Some(v) => match v.as_slice() {
            [Some(s), Some(i)] => Ok(Some((s.clone(), i.clone()))),
            _ => Err(bad_cursor()),
        },
    }
}

async fn assets(State(state): State<AppState>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(
        q.as_deref(),
        &[
            "source",
            "search",
            "include_deleted",
            "unified_id",
            "limit",
            "cursor",
        ],
    )?;
    let limit = p.limit(DEFAULT_LIMIT, MAX_LIMIT)?;
    let filter = AssetFilter {
        sources: sources_param(&p)?,
        search: p.text("search"),
        include_deleted: p.bool("include_deleted")?,
        unified_id: p.text("unified_id"),
        after: key_cursor(&p)?,
        limit: Some(limit + 1),
        ..AssetFilter::default()
    };
    let rows = state
        .read(move |s| {
            let mut v = Vec::new();
            s.for_each_asset(&filter, &mut |a| {
                v.push(a);
                Ok(())
            })?;
            Ok(v)
        })
        .await?;
    let (rows, next) = split_page(rows, limit, |a| {
        encode_cursor(&[Some(&a.source), Some(&a.id)])
    });
    page(rows.iter().map(to_json).collect::<Result<_, _>>()?, next)
}

/// Keeps `limit` rows; the cursor is the last kept row's when a row beyond it was read.
fn split_page<T>(
    mut rows: Vec<T>,
    limit: u64,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(key);
        (rows, next)
    } else {
        (rows, None)
    }
}

async fn asset(
    State(state): State<AppState>,
    Path((source, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    Params::parse(q.as_deref(), &[])?;
    let (a, raw) = state
        .read(move |s| {
            let a = s
                .get_asset(&source, &id)?
                .ok_or_else(|| ApiError::NotFound(format!("no asset {source}/{id}")))?;
            let raw = s.raw_asset(&source, &id)?.unwrap_or(Value::Null);
            Ok((a, raw))
        })
        .await?;
    ok(json!({ "asset": to_json(&a)?, "raw": raw }))
}

/// A unified summary as the API shows it (UnifiedSummary of docs/API.md).
pub(crate) fn unified_json(u: &tenax_store::UnifiedSummary) -> Value {
    json!({
        "unified_id": u.unified_id,
        "name": u.name,
        "sources": u.sources,
        "records": u.records,
        "hostnames": u.hostnames,
        "ipv4s": u.ipv4s,
        "macs": u.macs,
        "open_findings": u.open_findings,
        "max_severity": u.max_severity,
    })
}

async fn unified_assets(State(state): State<AppState>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref(), &["search", "source", "limit", "cursor"])?;
    let limit = p.limit(DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = match p.cursor()? {
        None => None,
        Some(v) => match v.as_slice() {
            [Some(u)] => Some(u.clone()),
            _ => return Err(bad_cursor()),
        },
    };
    let filter = UnifiedFilter {
        sources: sources_param(&p)?,
        search: p.text("search"),
        after,
        limit: Some(limit + 1),
    };
    let rows = state
        .read(move |s| Ok(s.list_unified_assets(&filter)?))
        .await?;
    let (rows, next) = split_page(rows, limit, |u| encode_cursor(&[Some(&u.unified_id)]));
    page(rows.iter().map(unified_json).collect(), next)
}

async fn unified_asset(
    State(state): State<AppState>,
    Path(unified_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    Params::parse(q.as_deref(), &[])?;
    let v = state
        .read(move |s| {
            let u = s
                .unified_asset(&unified_id)?
                .ok_or_else(|| ApiError::NotFound(format!("no unified asset {unified_id}")))?;
            let mut records = Vec::new();
            let filter = AssetFilter {
                unified_id: Some(unified_id.clone()),
                ..AssetFilter::default()
            };
            s.for_each_asset(&filter, &mut |a| {
                records.push(a);
                Ok(())
            })?;
            let links: Vec<Value> = s
                .unified_links(&unified_id)?
                .into_iter()
                .map(|l| {
                    json!({
                        "a": {"source": l.a.0, "id": l.a.1},
                        "b": {"source": l.b.0, "id": l.b.1},
                        "evidence": l.evidence,
                    })
                })
                .collect();
            let by_sev: serde_json::Map<String, Value> = Severity::ALL
                .iter()
                .rev()
                .map(|sev| {
                    (
                        sev.as_str().to_owned(),
                        json!(u.open_by_severity[sev.id() as usize]),
                    )
                })
                .collect();
            Ok(json!({
                "unified_id": u.unified_id,
                "name": u.name,
                "records": to_json(&records)?,
                "links": links,
                "open_findings": u.open_findings,
                "findings_by_severity": by_sev,
            }))
        })
        .await?;
    ok(v)
}

async fn findings(State(state): State<AppState>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(
        q.as_deref(),
        &[
            "source",
            "severity",
            "state",
            "cve",
            "plugin",
            "asset",
            "unified_asset",
            "as_of",
            "limit",
            "cursor",
        ],
    )?;
    let limit = p.limit(DEFAULT_LIMIT, MAX_LIMIT)?;
    let filter = FindingFilter {
        sources: sources_param(&p)?,
        severities: p.list::<Severity>("severity")?,
        states: p.list::<FindingState>("state")?,
        cve: p.text("cve"),
        plugin_id: p.int("plugin")?,
        asset_id: p.text("asset"),
        unified_asset_id: p.text("unified_asset"),
        as_of: p.time("as_of")?,
        after: key_cursor(&p)?,
        limit: Some(limit + 1),
        ..FindingFilter::default()
    };
    let rows = state
        .read(move |s| {
            let mut v = Vec::new();
            s.for_each_finding(&filter, &mut |f| {
                v.push(f);
                Ok(())
            })?;
            Ok(v)
        })
        .await?;
    let (rows, next) = split_page(rows, limit, |f| {
        encode_cursor(&[Some(&f.source), Some(&f.id)])
    });
    page(rows.iter().map(to_json).collect::<Result<_, _>>()?, next)
}

async fn finding(
    State(state): State<AppState>,
    Path((source, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    Params::parse(q.as_deref(), &[])?;
    let v = state
        .read(move |s| {
            let f = s
                .get_finding(&source, &id)?
                .ok_or_else(|| ApiError::NotFound(format!("no finding {source}/{id}")))?;
            let history = s.finding_history(&source, &id)?;
            let raw = s.raw_finding(&source, &id)?.unwrap_or(Value::Null);
            Ok(json!({ "finding": to_json(&f)?, "history": to_json(&history)?, "raw": raw }))
        })
        .await?;
    ok(v)
}

/// An event time as it goes into a cursor: exact to the nanosecond.
fn cursor_time(t: &Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

async fn events(State(state): State<AppState>, RawQuery(q): RawQuery) -> ApiResult {
    let p = Params::parse(q.as_deref(), &["source", "since", "limit", "cursor"])?;
    let limit = p.limit(DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = match p.cursor()? {
        None => None,
        Some(v) => match v.as_slice() {
            [Some(source), time, Some(id)] => Some(EventKey {
                source: source.clone(),
                time: match time {
                    None => None,
                    Some(t) => Some(parse_time(t).ok_or_else(bad_cursor)?),
                },
                id: id.clone(),
            }),
            _ => return Err(bad_cursor()),
        },
    };
    let filter = EventFilter {
        sources: sources_param(&p)?,
        since: p.time("since")?,
        after,
        limit: Some(limit + 1),
        ..EventFilter::default()
    };
    let rows = state
        .read(move |s: &dyn Store| {
            let mut v = Vec::new();
            s.for_each_event(&filter, &mut |e| {
                v.push(e);
                Ok(())
            })?;
            Ok(v)
        })
        .await?;
    let (rows, next) = split_page(rows, limit, |e| {
        let t = e.time.as_ref().map(cursor_time);
        encode_cursor(&[Some(&e.source), t.as_deref(), Some(&e.id)])
    });
    page(rows.iter().map(to_json).collect::<Result<_, _>>()?, next)
}
