//! The OpenAPI 3.1 document of the API, written by hand (docs/API.md is the prose contract).

use serde_json::{Value, json};

fn param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description,
           "schema": schema})
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": {"type": "string"}})
}

fn list(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn limit(default: u64) -> Value {
    param(
        "limit",
        "Page size (1–1000).",
        json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": default}),
    )
}

fn cursor() -> Value {
    param(
        "cursor",
        "The `next_cursor` of the previous page (opaque).",
        json!({"type": "string"}),
    )
}

fn sources() -> Value {
    param("source", "Source names, comma-separated.", list("a,b"))
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn page_of(name: &str) -> Value {
    json!({"type": "object", "required": ["items", "next_cursor"], "properties": {
        "items": {"type": "array", "items": schema_ref(name)},
        "next_cursor": {"type": ["string", "null"]}}})
}

fn get(summary: &str, params: Vec<Value>, ok: Value) -> Value {
    let err = |d: &str| json!({"description": d, "content": {"application/json": {"schema": schema_ref("Error")}}});
    json!({"get": {
        "summary": summary,
        "parameters": params,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": ok}}},
            "400": err("A bad parameter."),
            "401": err("Missing or wrong bearer token (when the server has one)."),
            "404": err("No such record."),
            "500": err("Store failure."),
        }
    }})
}

fn obj(props: &[(&str, Value)]) -> Value {
    let m: serde_json::Map<String, Value> = props
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    json!({"type": "object", "properties": m})
}

fn t(ty: &str) -> Value {
    json!({"type": ty})
}

fn nullable(ty: &str) -> Value {
    json!({"type": [ty, "null"]})
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

fn severity() -> Value {
    json!({"type": "string", "enum": ["info", "low", "medium", "high", "critical"]})
}

/// The document.
pub(crate) fn document() -> Value {
    let unified_summary = obj(&[
        ("unified_id", t("string")),
        ("name", nullable("string")),
        ("sources", strings()),
        ("records", t("integer")),
        ("hostnames", strings()),
        ("ipv4s", strings()),
        ("macs", strings()),
        ("open_findings", t("integer")),
        (
            "max_severity",
            json!({"oneOf": [severity(), {"type": "null"}]}),
        ),
    ]);
    let remediation = obj(&[
        ("source", t("string")),
        ("severity", severity()),
        ("open", t("integer")),
        ("past_sla", t("integer")),
        ("sla_days", nullable("integer")),
        ("fixed", t("integer")),
        ("mean_days_to_remediate", nullable("number")),
    ]);
    let source = obj(&[
        ("name", t("string")),
        (
            "kind",
            json!({"type": ["string", "null"], "enum": ["vm", "sc", "ot", null]}),
        ),
        ("configured", t("boolean")),
        ("sync_every", nullable("string")),
        ("assets", t("integer")),
        ("findings", t("integer")),
        (
            "last_run",
            json!({"oneOf": [schema_ref("Run"), {"type": "null"}]}),
        ),
        (
            "last_success",
            json!({"type": ["string", "null"], "format": "date-time"}),
        ),
    ]);
    let open_object = json!({"type": "object", "additionalProperties": true});
    let overview = obj(&[
        (
            "generated_at",
            json!({"type": "string", "format": "date-time"}),
        ),
        (
            "totals",
            obj(&[
                ("assets", t("integer")),
                ("unified_assets", t("integer")),
                ("findings_open", t("integer")),
                ("findings_fixed", t("integer")),
                ("events", t("integer")),
            ]),
        ),
        (
            "by_severity",
            json!({"type": "array", "items": obj(&[("source", t("string")), ("severity", severity()),
                ("open", t("integer")), ("fixed", t("integer"))])}),
        ),
        (
            "trend",
            json!({"type": "array", "items": obj(&[("date", json!({"type": "string", "format": "date"})),
                ("open", t("integer")), ("fixed", t("integer"))])}),
        ),
        (
            "top_cves",
            json!({"type": "array", "items": obj(&[("cve", t("string")), ("findings", t("integer")),
                ("assets", t("integer")), ("max_severity", severity())])}),
        ),
        (
            "top_unified_assets",
            json!({"type": "array", "items": {"allOf": [schema_ref("UnifiedSummary"),
                obj(&[("score", t("number"))])]}}),
        ),
        (
            "sla",
            json!({"type": "array", "items": schema_ref("Remediation")}),
        ),
        (
            "sources",
            json!({"type": "array", "items": schema_ref("Source")}),
        ),
    ]);
    let finding_params = vec![
        sources(),
        param(
            "severity",
            "Severities: info,low,medium,high,critical.",
            list("critical,high"),
        ),
        param(
            "state",
            "States: open,reopened,fixed.",
            list("open,reopened"),
        ),
        param("cve", "A CVE id (case-insensitive).", t("string")),
        param("plugin", "A plugin id.", t("integer")),
        param("asset", "A source-native asset id.", t("string")),
        param("unified_asset", "A unified asset id.", t("string")),
        param(
            "as_of",
            "The findings as they were then (RFC 3339 or YYYY-MM-DD).",
            t("string"),
        ),
        limit(100),
        cursor(),
    ];
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "tenax API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Read-only access to the tenax store: Tenable VM, SC and OT data, \
                            correlated. See docs/API.md."
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": {"get": {"summary": "Health", "security": [], "responses": {
                "200": {"description": "OK"}, "503": {"description": "The store fails."}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {
                "200": {"description": "Text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/api/v1/openapi.json": get("This document", vec![], open_object.clone()),
            "/api/v1/sources": get("Configured and stored sources", vec![],
                obj(&[("items", json!({"type": "array", "items": schema_ref("Source")}))])),
            "/api/v1/runs": get("Sync runs, newest first",
                vec![param("source", "One source name.", t("string")), limit(50)],
                obj(&[("items", json!({"type": "array", "items": schema_ref("Run")}))])),
            "/api/v1/stats": get("Overview", vec![sources()], schema_ref("Overview")),
            "/api/v1/sla": get("Remediation figures per source and severity", vec![sources()],
                obj(&[("sla_days", open_object.clone()),
                      ("items", json!({"type": "array", "items": schema_ref("Remediation")}))])),
            "/api/v1/assets": get("Per-source assets", vec![
                sources(),
                param("search", "Substring of name, host names, FQDNs, IPs, MACs.", t("string")),
                param("include_deleted", "Include deleted assets.", t("boolean")),
                param("unified_id", "Only the records of this unified asset.", t("string")),
                limit(100), cursor()], page_of("Asset")),
            "/api/v1/assets/{source}/{id}": get("One asset and its raw source JSON",
                vec![path_param("source", "Source name."), path_param("id", "Asset id (percent-encoded).")],
                obj(&[("asset", schema_ref("Asset")), ("raw", json!({}))])),
            "/api/v1/unified-assets": get("Unified assets, by unified id", vec![
                param("search", "Substring of a record's name, host names, FQDNs, IPs, MACs.", t("string")),
                sources(), limit(100), cursor()], page_of("UnifiedSummary")),
            "/api/v1/unified-assets/{unified_id}": get("One unified asset",
                vec![path_param("unified_id", "Unified asset id.")], schema_ref("UnifiedDetail")),
            "/api/v1/findings": get("Findings", finding_params, page_of("Finding")),
            "/api/v1/findings/{source}/{id}": get("One finding, its history and raw source JSON",
                vec![path_param("source", "Source name."), path_param("id", "Finding id (percent-encoded).")],
                obj(&[("finding", schema_ref("Finding")),
                      ("history", json!({"type": "array", "items": schema_ref("Transition")})),
                      ("raw", json!({}))])),
            "/api/v1/events": get("Events, by source then time", vec![
                sources(),
                param("since", "Only events at or after (RFC 3339 or YYYY-MM-DD).", t("string")),
                limit(100), cursor()], page_of("Event")),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": obj(&[("error", t("string"))]),
                "Finding": open_object.clone(),
                "Asset": open_object.clone(),
                "Event": open_object.clone(),
                "Run": open_object.clone(),
                "Transition": obj(&[
                    ("at", json!({"type": "string", "format": "date-time"})),
                    ("run", t("integer")),
                    ("change", json!({"type": "string", "enum": ["new", "fixed", "reopened", "changed", "gone"]})),
                    ("state", json!({"type": "string", "enum": ["open", "reopened", "fixed"]})),
                ]),
                "Source": source,
                "Remediation": remediation,
                "UnifiedSummary": unified_summary,
                "UnifiedDetail": obj(&[
                    ("unified_id", t("string")),
                    ("name", nullable("string")),
                    ("records", json!({"type": "array", "items": schema_ref("Asset")})),
                    ("links", json!({"type": "array", "items": open_object})),
                    ("open_findings", t("integer")),
                    ("findings_by_severity", json!({"type": "object", "additionalProperties": {"type": "integer"}})),
                ]),
                "Overview": overview,
            }
        }
    })
}
