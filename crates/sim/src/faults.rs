//! Opt-in fault injection, parsed from a compact spec string (grammar on [`Faults`]).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// Every Nth request is rate limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitFault {
    /// Period in requests (≥ 1).
    pub every: u64,
    /// `retry-after` header value in seconds.
    pub after_secs: u64,
}

/// The set of faults a simulator injects. `Default` is no faults; parse one with
/// `"429:every=7,5xx:p=0.05".parse::<Faults>()`.
///
/// Grammar: comma-separated items `name[:key=value[:key=value]]`:
///
/// | item | effect |
/// |---|---|
/// | `429:every=N[:after=SECS]` | every Nth request (counted over all requests) answers 429 with `retry-after: SECS` (default 1, may be 0) |
/// | `5xx:p=P` | each request answers 500/502/503/504 with probability P (seeded) |
/// | `reset:chunk=K` | the first download of chunk K of each export aborts the connection mid-body |
/// | `truncate:chunk=K` | the first download of chunk K of each export returns a cut-off JSON array |
/// | `export:error` | vulnerability exports end in status ERROR after about half their chunks |
/// | `failed:chunk=K` | chunk K of vulnerability exports ends up in `chunks_failed` |
/// | `409:first` | the first `POST /vulns/export` answers 409 with the id of an identical export |
/// | `expire:chunk=K` | the first download of chunk K of the first vulnerability export answers 404 |
/// | `slow:ms=N` | adds N ms of latency to every request |
/// | `sc-slow:ms=N` | adds N ms of latency to every SC request (paths under `/rest`) |
/// | `sc-5xx:p=P` | each SC request answers 500/502/503/504 (Apache HTML page) with probability P (seeded) |
/// | `sc-short:page=K` | the K-th `POST /rest/analysis` (1-based, counted over the simulator's life) returns one row fewer than its window holds, once; `totalRecords` is unchanged and `returnedRecords` matches the rows sent |
/// | `sc-expire:after=N` | every SC session token expires after serving N requests: the next request with it answers HTTP 403, `error_code` 12 (invalid token) and the token is gone (N = 0: tokens are dead on first use) |
/// | `ot-error:page=K` | the K-th `POST /graphql` request (1-based, counted over the simulator's life, only requests that pass authentication) answers HTTP 200 with `errors` (`INTERNAL_SERVER_ERROR`, `path` = the first root field) and that root field `null` in `data`; other root fields of the request resolve normally |
/// | `ot-node-error:page=K` | like `ot-error`, but only the first node's `osDetails` of the first root field fails: it is `null` and the error's `path` is `["assets","nodes",0,"osDetails"]` (a resolver failure the reference quotes); everything else is returned. Without `osDetails` in the selection it behaves like `ot-error` |
/// | `ot-429:every=N[:after=SECS]` | every Nth OT request (counted over OT requests) answers 429 `Too Many Requests` with `retry-after: SECS` (default 1) |
/// | `ot-5xx:p=P` | each OT request answers 500/502/503/504 (nginx HTML page) with probability P (seeded) |
///
/// An empty spec or `none` means no faults. Unprefixed items affect the VM API only (the
/// `429:` period still counts every request); `sc-` items affect the SC API (`/rest/…`) only; `ot-` items the OT listener only.
///
/// `reset` and `truncate` apply to vulnerability and asset exports; `export`, `failed`,
/// `409` and `expire` to vulnerability exports only. Items may repeat for different
/// chunks (`reset:chunk=1,reset:chunk=4`). A fault never fires on a request it does not
/// name: 429/5xx replace the whole answer before authentication, the chunk faults only
/// hit a chunk that would otherwise be served.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// `429:every=N[:after=S]`.
    pub rate_limit: Option<RateLimitFault>,
    /// `5xx:p=P`: probability of a random 5xx per request.
    pub server_error_p: Option<f64>,
    /// `reset:chunk=K`: chunk ids whose first download per export is aborted mid-body.
    pub reset_chunks: BTreeSet<u32>,
    /// `truncate:chunk=K`: chunk ids whose first download per export is cut short.
    pub truncate_chunks: BTreeSet<u32>,
    /// `export:error`: vulnerability exports end in ERROR.
    pub export_error: bool,
    /// `failed:chunk=K`: chunk ids reported in `chunks_failed` by vulnerability exports.
    pub failed_chunks: BTreeSet<u32>,
    /// `409:first`: the first vulnerability export request gets a 409.
    pub conflict_first: bool,
    /// `expire:chunk=K`: first download of chunk K of the first vulnerability export is 404.
    pub expire_chunks: BTreeSet<u32>,
    /// `slow:ms=N`: latency added to every request, in milliseconds.
    pub slow_ms: u64,
    /// `sc-slow:ms=N`: latency added to every SC request, in milliseconds.
    pub sc_slow_ms: u64,
    /// `sc-5xx:p=P`: probability of a random 5xx per SC request.
    pub sc_server_error_p: Option<f64>,
    /// `sc-short:page=K`: analysis requests (1-based) answered once with one row too few.
    pub sc_short_pages: BTreeSet<u32>,
    /// `sc-expire:after=N`: requests a session token serves before it expires.
    pub sc_session_requests: Option<u64>,
    /// `ot-error:page=K`: `/graphql` requests (1-based) answered with an `INTERNAL_SERVER_ERROR`.
    pub ot_error_pages: BTreeSet<u32>,
    /// `ot-node-error:page=K`: `/graphql` requests (1-based) whose first node's `osDetails` fails.
    pub ot_node_error_pages: BTreeSet<u32>,
    /// `ot-429:every=N[:after=S]` on the OT listener.
    pub ot_rate_limit: Option<RateLimitFault>,
    /// `ot-5xx:p=P`: probability of a random 5xx per OT request.
    pub ot_server_error_p: Option<f64>,
}

impl Faults {
    /// No faults.
    pub fn none() -> Faults {
        Faults::default()
    }

    /// True when no fault is configured.
    pub fn is_none(&self) -> bool {
        *self == Faults::default()
    }
}

/// A fault spec that could not be parsed; names the offending item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault item `{item}`: {reason}")]
pub struct FaultSpecError {
    /// The item as written.
    pub item: String,
    /// What is wrong with it.
    pub reason: String,
}

fn err(item: &str, reason: impl Into<String>) -> FaultSpecError {
    FaultSpecError {
        item: item.to_string(),
        reason: reason.into(),
    }
}

/// Parsed `key=value` parameters of one item; every key must be consumed.
struct Params<'a> {
    item: &'a str,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Params<'a> {
    fn parse(item: &'a str, parts: &[&'a str]) -> Result<Params<'a>, FaultSpecError> {
        let mut pairs = Vec::new();
        for p in parts {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| err(item, format!("expected key=value, got `{p}`")))?;
            let (k, v) = (k.trim(), v.trim());
            if pairs.iter().any(|(pk, _)| *pk == k) {
                return Err(err(item, format!("duplicate key `{k}`")));
            }
            pairs.push((k, v));
        }
        Ok(Params { item, pairs })
    }

    fn take(&mut self, key: &str) -> Option<&'a str> {
        let pos = self.pairs.iter().position(|(k, _)| *k == key)?;
        Some(self.pairs.remove(pos).1)
    }

    fn required_u64(&mut self, key: &str, min: u64) -> Result<u64, FaultSpecError> {
        let v = self
            .take(key)
            .ok_or_else(|| err(self.item, format!("missing `{key}=`")))?;
        parse_u64(self.item, key, v, min)
    }

    fn done(self) -> Result<(), FaultSpecError> {
        match self.pairs.first() {
            None => Ok(()),
            Some((k, _)) => Err(err(self.item, format!("unknown key `{k}`"))),
        }
    }
}

fn parse_u64(item: &str, key: &str, v: &str, min: u64) -> Result<u64, FaultSpecError> {
    let n: u64 = v
        .parse()
        .map_err(|_| err(item, format!("`{key}` must be an integer, got `{v}`")))?;
    if n < min {
        return Err(err(item, format!("`{key}` must be at least {min}")));
    }
    Ok(n)
}

fn chunk_id(p: &mut Params<'_>) -> Result<u32, FaultSpecError> {
    let k = p.required_u64("chunk", 1)?;
    u32::try_from(k).map_err(|_| err(p.item, "`chunk` is too large"))
}

impl FromStr for Faults {
    type Err = FaultSpecError;

    fn from_str(spec: &str) -> Result<Faults, FaultSpecError> {
        let mut f = Faults::default();
        let spec = spec.trim();
        if spec.is_empty() || spec.eq_ignore_ascii_case("none") {
            return Ok(f);
        }
        for raw in spec.split(',') {
            let item = raw.trim();
            if item.is_empty() {
                continue;
            }
            let parts: Vec<&str> = item.split(':').map(str::trim).collect();
            let name = parts[0];
            let rest = &parts[1..];
            match name {
                "429" => {
                    if f.rate_limit.is_some() {
                        return Err(err(item, "given twice"));
                    }
                    let mut p = Params::parse(item, rest)?;
                    let every = p.required_u64("every", 1)?;
                    let after_secs = match p.take("after") {
                        Some(v) => parse_u64(item, "after", v, 0)?,
                        None => 1,
                    };
                    p.done()?;
                    f.rate_limit = Some(RateLimitFault { every, after_secs });
                }
                "ot-error" | "ot-node-error" => {
                    let mut p = Params::parse(item, rest)?;
                    let k = p.required_u64("page", 1)?;
                    let k = u32::try_from(k).map_err(|_| err(item, "`page` is too large"))?;
                    p.done()?;
                    if name == "ot-error" {
                        f.ot_error_pages.insert(k);
                    } else {
                        f.ot_node_error_pages.insert(k);
                    }
                }
                "ot-429" => {
                    if f.ot_rate_limit.is_some() {
                        return Err(err(item, "given twice"));
                    }
                    let mut p = Params::parse(item, rest)?;
                    let every = p.required_u64("every", 1)?;
                    let after_secs = match p.take("after") {
                        Some(v) => parse_u64(item, "after", v, 0)?,
                        None => 1,
                    };
                    p.done()?;
                    f.ot_rate_limit = Some(RateLimitFault { every, after_secs });
                }
                "5xx" | "sc-5xx" | "ot-5xx" => {
                    let mut p = Params::parse(item, rest)?;
                    let v = p.take("p").ok_or_else(|| err(item, "missing `p=`"))?;
                    let prob: f64 = v
                        .parse()
                        .map_err(|_| err(item, format!("`p` must be a number, got `{v}`")))?;
                    if !(0.0..=1.0).contains(&prob) {
                        return Err(err(item, "`p` must be between 0 and 1"));
                    }
                    p.done()?;
                    if name == "5xx" {
                        f.server_error_p = Some(prob);
                    } else if name == "ot-5xx" {
                        f.ot_server_error_p = Some(prob);
                    } else {
                        f.sc_server_error_p = Some(prob);
                    }
                }
                "sc-slow" => {
                    let mut p = Params::parse(item, rest)?;
                    f.sc_slow_ms = p.required_u64("ms", 0)?;
                    p.done()?;
                }
                "sc-short" => {
                    let mut p = Params::parse(item, rest)?;
                    let k = p.required_u64("page", 1)?;
                    let k = u32::try_from(k).map_err(|_| err(item, "`page` is too large"))?;
                    p.done()?;
                    f.sc_short_pages.insert(k);
                }
                "sc-expire" => {
                    if f.sc_session_requests.is_some() {
                        return Err(err(item, "given twice"));
                    }
                    let mut p = Params::parse(item, rest)?;
                    f.sc_session_requests = Some(p.required_u64("after", 0)?);
                    p.done()?;
                }
                "reset" | "truncate" | "failed" | "expire" => {
                    let mut p = Params::parse(item, rest)?;
                    let k = chunk_id(&mut p)?;
                    p.done()?;
                    let set = match name {
                        "reset" => &mut f.reset_chunks,
                        "truncate" => &mut f.truncate_chunks,
                        "failed" => &mut f.failed_chunks,
                        _ => &mut f.expire_chunks,
                    };
                    set.insert(k);
                }
                "export" => {
                    if rest != ["error"] {
                        return Err(err(item, "expected `export:error`"));
                    }
                    f.export_error = true;
                }
                "409" => {
                    if rest != ["first"] {
                        return Err(err(item, "expected `409:first`"));
                    }
                    f.conflict_first = true;
                }
                "slow" => {
                    let mut p = Params::parse(item, rest)?;
                    f.slow_ms = p.required_u64("ms", 0)?;
                    p.done()?;
                }
                _ => return Err(err(item, format!("unknown fault `{name}`"))),
            }
        }
        Ok(f)
    }
}

impl fmt::Display for Faults {
    /// The canonical spec string (parses back to an equal value); `none` when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items: Vec<String> = Vec::new();
        if let Some(r) = self.rate_limit {
            items.push(format!("429:every={}:after={}", r.every, r.after_secs));
        }
        if let Some(p) = self.server_error_p {
            items.push(format!("5xx:p={p}"));
        }
        items.extend(self.reset_chunks.iter().map(|k| format!("reset:chunk={k}")));
        items.extend(
            self.truncate_chunks
                .iter()
                .map(|k| format!("truncate:chunk={k}")),
        );
        if self.export_error {
            items.push("export:error".into());
        }
        items.extend(
            self.failed_chunks
                .iter()
                .map(|k| format!("failed:chunk={k}")),
        );
        if self.conflict_first {
            items.push("409:first".into());
        }
        items.extend(
            self.expire_chunks
                .iter()
                .map(|k| format!("expire:chunk={k}")),
        );
        if self.slow_ms > 0 {
            items.push(format!("slow:ms={}", self.slow_ms));
        }
        if self.sc_slow_ms > 0 {
            items.push(format!("sc-slow:ms={}", self.sc_slow_ms));
        }
        if let Some(p) = self.sc_server_error_p {
            items.push(format!("sc-5xx:p={p}"));
        }
        items.extend(
            self.sc_short_pages
                .iter()
                .map(|k| format!("sc-short:page={k}")),
        );
        if let Some(n) = self.sc_session_requests {
            items.push(format!("sc-expire:after={n}"));
        }
        items.extend(
            self.ot_error_pages
                .iter()
                .map(|k| format!("ot-error:page={k}")),
        );
        items.extend(
            self.ot_node_error_pages
                .iter()
                .map(|k| format!("ot-node-error:page={k}")),
        );
        if let Some(r) = self.ot_rate_limit {
            items.push(format!("ot-429:every={}:after={}", r.every, r.after_secs));
        }
        if let Some(p) = self.ot_server_error_p {
            items.push(format!("ot-5xx:p={p}"));
        }
        if items.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&items.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_item() {
        let f: Faults = "429:every=7:after=0, 5xx:p=0.05,reset:chunk=3,truncate:chunk=2,export:error,failed:chunk=1,409:first,expire:chunk=4,slow:ms=5,sc-slow:ms=3,sc-5xx:p=0.5,sc-short:page=2,sc-expire:after=4,ot-error:page=3,ot-node-error:page=5,ot-429:every=4:after=2,ot-5xx:p=0.25"
            .parse()
            .expect("valid spec");
        assert_eq!(
            f.rate_limit,
            Some(RateLimitFault {
                every: 7,
                after_secs: 0
            })
        );
        assert_eq!(f.server_error_p, Some(0.05));
        assert!(f.reset_chunks.contains(&3) && f.truncate_chunks.contains(&2));
        assert!(f.export_error && f.conflict_first);
        assert!(f.failed_chunks.contains(&1) && f.expire_chunks.contains(&4));
        assert_eq!(f.slow_ms, 5);
        assert_eq!(f.sc_slow_ms, 3);
        assert_eq!(f.sc_server_error_p, Some(0.5));
        assert!(f.sc_short_pages.contains(&2));
        assert_eq!(f.sc_session_requests, Some(4));
        assert!(f.ot_error_pages.contains(&3));
        assert!(f.ot_node_error_pages.contains(&5));
        assert_eq!(
            f.ot_rate_limit,
            Some(RateLimitFault {
                every: 4,
                after_secs: 2
            })
        );
        assert_eq!(f.ot_server_error_p, Some(0.25));
        let again: Faults = f.to_string().parse().expect("round trip");
        assert_eq!(again, f);
        assert_eq!(
            "429:every=3"
                .parse::<Faults>()
                .expect("ok")
                .rate_limit
                .map(|r| r.after_secs),
            Some(1)
        );
        assert!("".parse::<Faults>().expect("empty").is_none());
        assert!("none".parse::<Faults>().expect("none").is_none());
        assert_eq!(Faults::none().to_string(), "none");
    }

    #[test]
    fn errors_name_the_item() {
        for bad in [
            "bogus",
            "429:every=0",
            "429",
            "429:every=x",
            "5xx:p=2",
            "reset:chunk=0",
            "reset:k=1",
            "export:oops",
            "409",
            "slow:ms=-1",
            "429:every=2:foo=1",
            "truncate:chunk=1:chunk=2",
            "sc-slow:ms=x",
            "sc-5xx:p=1.5",
            "sc-short:page=0",
            "sc-short:chunk=1",
            "sc-bogus",
            "sc-expire",
            "sc-expire:after=x",
            "sc-expire:n=1",
            "ot-error:page=0",
            "ot-error",
            "ot-node-error:page=x",
            "ot-429:every=0",
            "ot-5xx:p=3",
        ] {
            let e = format!("429:every=5,{bad}")
                .parse::<Faults>()
                .expect_err(bad);
            assert_eq!(e.item, bad, "{e}");
            let msg = e.to_string();
            assert!(msg.contains(bad) && !msg.contains('\n'), "{msg}");
        }
    }
}
