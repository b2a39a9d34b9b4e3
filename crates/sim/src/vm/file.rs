//! Findings and assets served from files: a JSON array of records, or a decoded pyTenable
//! cassette (array of `{request{method,uri}, response{status, body}}` interactions, from
//! which every array body of a `/chunks/` request is taken). Records are served as-is.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::data::State;
use crate::util::parse_iso_ms;

/// One finding record from a file.
pub(crate) struct FileFinding {
    pub raw: Box<str>,
    pub group: u32,
    pub state: State,
    pub sev: u8,
    pub plugin_id: i64,
    pub first_found: i64,
    pub last_found: i64,
    pub last_fixed: i64,
    pub indexed: i64,
}

/// Findings loaded from a file, grouped by interned asset uuid.
pub(crate) struct FileFindings {
    pub recs: Vec<FileFinding>,
}

/// One v1 asset record from a file.
pub(crate) struct FileAsset {
    pub raw: Box<str>,
    pub id: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: i64,
    pub terminated_at: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub licensed: Option<bool>,
}

/// Assets loaded from a file.
pub(crate) struct FileAssets {
    pub recs: Vec<FileAsset>,
}

#[derive(Deserialize)]
struct Interaction<'a> {
    #[serde(borrow)]
    request: Option<Request<'a>>,
    #[serde(borrow)]
    response: Option<Response<'a>>,
}

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(default, borrow)]
    uri: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Response<'a> {
    #[serde(borrow)]
    body: Option<&'a RawValue>,
}

/// Reads the records of a file (plain array or cassette).
fn load_records(path: &Path) -> Result<Vec<Box<str>>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let items: Vec<&RawValue> = serde_json::from_str(&text)
        .map_err(|e| format!("{}: expected a JSON array: {e}", path.display()))?;
    let is_cassette = items.first().is_some_and(|first| {
        serde_json::from_str::<HashMap<&str, &RawValue>>(first.get())
            .is_ok_and(|m| m.contains_key("request") && m.contains_key("response"))
    });
    if !is_cassette {
        return Ok(items.into_iter().map(|r| Box::from(r.get())).collect());
    }
    let mut out = Vec::new();
    for it in items {
        let Ok(i) = serde_json::from_str::<Interaction<'_>>(it.get()) else {
            continue;
        };
        let uri = i.request.and_then(|r| r.uri).unwrap_or_default();
        if !uri.contains("/chunks/") {
            continue;
        }
        let Some(body) = i.response.and_then(|r| r.body) else {
            continue;
        };
        // A decoded cassette holds the JSON itself; a raw one may hold it as a string.
        let owned;
        let text = match serde_json::from_str::<String>(body.get()) {
            Ok(s) => {
                owned = s;
                owned.as_str()
            }
            Err(_) => body.get(),
        };
        if let Ok(records) = serde_json::from_str::<Vec<&RawValue>>(text) {
            out.extend(records.into_iter().map(|r| Box::from(r.get())));
        }
    }
    Ok(out)
}

#[derive(Deserialize, Default)]
struct FindingFields {
    #[serde(default)]
    asset: Option<AssetRef>,
    #[serde(default)]
    plugin: Option<PluginRef>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    severity_id: Option<serde_json::Value>,
    #[serde(default)]
    first_found: Option<String>,
    #[serde(default)]
    last_found: Option<String>,
    #[serde(default)]
    last_fixed: Option<String>,
    #[serde(default)]
    indexed: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct AssetRef {
    #[serde(default)]
    uuid: Option<String>,
}

#[derive(Deserialize, Default)]
struct PluginRef {
    #[serde(default)]
    id: Option<serde_json::Value>,
}

fn ms(s: Option<&str>) -> i64 {
    s.and_then(parse_iso_ms).unwrap_or(0)
}

fn sev_from(name: Option<&str>, id: Option<&serde_json::Value>) -> u8 {
    if let Some(n) = id.and_then(serde_json::Value::as_u64) {
        return n.min(4) as u8;
    }
    match name.map(str::to_ascii_lowercase).as_deref() {
        Some("low") => 1,
        Some("medium") => 2,
        Some("high") => 3,
        Some("critical") => 4,
        _ => 0,
    }
}

impl FileFindings {
    pub(crate) fn load(path: &Path) -> Result<FileFindings, String> {
        let raws = load_records(path)?;
        let mut groups: HashMap<String, u32> = HashMap::new();
        let mut recs = Vec::with_capacity(raws.len());
        for raw in raws {
            let f: FindingFields = serde_json::from_str(&raw).unwrap_or_default();
            let key = f.asset.and_then(|a| a.uuid).unwrap_or_default();
            let next = groups.len() as u32;
            let group = *groups.entry(key).or_insert(next);
            let last_found = ms(f.last_found.as_deref());
            let indexed = match &f.indexed {
                Some(serde_json::Value::String(s)) => parse_iso_ms(s).unwrap_or(last_found),
                Some(v) => v.as_i64().map_or(last_found, |s| s.saturating_mul(1000)),
                None => last_found,
            };
            recs.push(FileFinding {
                group,
                state: f
                    .state
                    .as_deref()
                    .and_then(State::parse)
                    .unwrap_or(State::Open),
                sev: sev_from(f.severity.as_deref(), f.severity_id.as_ref()),
                plugin_id: f
                    .plugin
                    .and_then(|p| p.id)
                    .and_then(|v| {
                        v.as_i64()
                            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    })
                    .unwrap_or(0),
                first_found: ms(f.first_found.as_deref()),
                last_found,
                last_fixed: ms(f.last_fixed.as_deref()),
                indexed,
                raw,
            });
        }
        Ok(FileFindings { recs })
    }
}

#[derive(Deserialize, Default)]
struct AssetFields {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    deleted_at: Option<String>,
    #[serde(default)]
    terminated_at: Option<String>,
    #[serde(default)]
    first_seen: Option<String>,
    #[serde(default)]
    last_seen: Option<String>,
    #[serde(default)]
    is_licensed: Option<bool>,
}

impl FileAssets {
    pub(crate) fn load(path: &Path) -> Result<FileAssets, String> {
        let raws = load_records(path)?;
        let recs = raws
            .into_iter()
            .map(|raw| {
                let a: AssetFields = serde_json::from_str(&raw).unwrap_or_default();
                FileAsset {
                    id: a.id.unwrap_or_default(),
                    created_at: ms(a.created_at.as_deref()),
                    updated_at: ms(a.updated_at.as_deref()),
                    deleted_at: ms(a.deleted_at.as_deref()),
                    terminated_at: ms(a.terminated_at.as_deref()),
                    first_seen: ms(a.first_seen.as_deref()),
                    last_seen: ms(a.last_seen.as_deref()),
                    licensed: a.is_licensed,
                    raw,
                }
            })
            .collect();
        Ok(FileAssets { recs })
    }
}
