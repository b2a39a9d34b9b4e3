//! `POST /graphql`: request body, document parsing (`graphql-parser`), validation against
//! the simulator's schema, variable coercion, execution of the root connections and
//! projection of the records onto the selection set. Errors follow Apollo Server.

use std::collections::HashMap;

use axum::http::StatusCode;
use base64::Engine;
use graphql_parser::query::{
    Definition, Document, Field, OperationDefinition, Selection, SelectionSet, Type,
    Value as GValue,
};
use serde_json::{Map, Value, json};

use super::data::{OtData, nodes};
use super::filter;

// ---------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------

/// Object types with a fixed field list (unknown fields are validation errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Obj {
    Asset,
    Plugin,
    Finding,
    Event,
}

impl Obj {
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Obj::Asset => "Asset",
            Obj::Plugin => "Plugin",
            Obj::Finding => "Finding",
            Obj::Event => "Event",
        }
    }
}

/// Node type of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    Obj(Obj),
    /// An object whose sub-fields are projected from the record as they are.
    Open,
    /// Scalars (`StringConnection`).
    Scalar,
}

/// How a field resolves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A leaf (scalars, enums, lists of scalars, `JSON`).
    Scalar,
    /// A nested object (any sub-field, projected from the record; null when absent).
    Open,
    /// Another record, held as its id (or as the object itself in recorded data).
    Ref(Obj),
    /// A connection over nested items (`{nodes:[…]}` or a list in the record).
    Conn(Node),
    /// A connection over other records, held as ids (or objects in recorded data).
    RefConn(Obj),
}

/// The field `name` of `obj`, if the schema has it.
pub(crate) fn field_kind(obj: Obj, name: &str) -> Option<Kind> {
    use Kind::*;
    let k = match (obj, name) {
        (_, "__typename") => Scalar,
        (
            Obj::Asset,
            "id" | "name" | "type" | "superType" | "category" | "purdueLevel" | "criticality"
            | "vendor" | "family" | "model" | "firmwareVersion" | "serial" | "slot" | "os"
            | "firstSeen" | "lastSeen" | "lastHit" | "lastSnapshot" | "lastUpdate" | "runStatus"
            | "runStatusTime" | "hidden" | "location" | "description" | "details" | "customField1"
            | "customField2" | "customField3" | "customField4" | "customField5" | "customField6"
            | "customField7" | "customField8" | "customField9" | "customField10",
        ) => Scalar,
        (Obj::Asset, "risk" | "backplane" | "osDetails") => Open,
        (Obj::Asset, "ips" | "macs" | "directIps" | "directMacs") => Conn(Node::Scalar),
        (Obj::Asset, "segments" | "revisions") => Conn(Node::Open),
        (Obj::Asset, "plugins") => RefConn(Obj::Plugin),
        (
            Obj::Plugin,
            "id"
            | "name"
            | "source"
            | "family"
            | "severity"
            | "vprScore"
            | "vprLevel"
            | "comment"
            | "owner"
            | "cvss3Score"
            | "totalAffectedAssets"
            | "totalFixedAssets",
        ) => Scalar,
        (Obj::Plugin, "details") => Open,
        (Obj::Plugin, "affectedAssets") => RefConn(Obj::Asset),
        (
            Obj::Finding,
            "id" | "port" | "protocol" | "svcName" | "firstHit" | "lastHit" | "fixedAt" | "status"
            | "output",
        ) => Scalar,
        (Obj::Finding, "asset") => Ref(Obj::Asset),
        (Obj::Finding, "plugin") => Ref(Obj::Plugin),
        (
            Obj::Event,
            "id" | "srcIP" | "dstIP" | "srcMac" | "dstMac" | "protocolRaw" | "time" | "completion"
            | "protocolNiceName" | "resolved" | "resolvedTs" | "resolvedUser" | "hitId"
            | "severity" | "category" | "comment" | "logId" | "type" | "hasDetails" | "payloadSize"
            | "protocol" | "port" | "continuous",
        ) => Scalar,
        (Obj::Event, "eventType" | "policy" | "srcInterface" | "dstInterface") => Open,
        (Obj::Event, "srcAssets" | "dstAssets") => RefConn(Obj::Asset),
        (Obj::Event, "srcNames" | "dstNames") => Conn(Node::Scalar),
        _ => return None,
    };
    Some(k)
}

/// Input types a variable may be declared with.
fn known_input_type(name: &str) -> bool {
    matches!(
        name,
        "Int"
            | "Float"
            | "String"
            | "Boolean"
            | "ID"
            | "JSON"
            | "Time"
            | "AssetExpressionsParams"
            | "AssetSortParams"
            | "PluginExpressionsParams"
            | "PluginSortParams"
            | "EventsExpressionsParams"
            | "EventsSortParams"
            | "FindingsObjExpressionsParams"
            | "FindingsObjSortParams"
    )
}

const ROOT_ARGS: [&str; 7] = [
    "filter", "search", "sort", "first", "after", "last", "before",
];
const CONN_ARGS: [&str; 4] = ["first", "after", "last", "before"];

fn root_obj(name: &str, findings: bool) -> Option<Obj> {
    match name {
        "assets" => Some(Obj::Asset),
        "plugins" => Some(Obj::Plugin),
        "events" => Some(Obj::Event),
        "findings" if findings => Some(Obj::Finding),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// One GraphQL error.
#[derive(Debug, Clone)]
pub(crate) struct GqlError {
    message: String,
    line_col: Option<(usize, usize)>,
    path: Vec<Value>,
    code: &'static str,
}

impl GqlError {
    fn new(code: &'static str, message: impl Into<String>) -> GqlError {
        GqlError {
            message: message.into(),
            line_col: None,
            path: Vec::new(),
            code,
        }
    }

    fn at(mut self, pos: graphql_parser::Pos) -> GqlError {
        self.line_col = Some((pos.line, pos.column));
        self
    }

    fn to_json(&self) -> Value {
        let mut e = Map::new();
        e.insert("message".into(), json!(self.message));
        if let Some((line, column)) = self.line_col {
            e.insert(
                "locations".into(),
                json!([{"line": line, "column": column}]),
            );
        }
        if !self.path.is_empty() {
            e.insert("path".into(), Value::Array(self.path.clone()));
        }
        e.insert("extensions".into(), json!({"code": self.code}));
        Value::Object(e)
    }
}

/// The response of a request that failed before execution: HTTP 400 and `errors`.
fn fail(status: StatusCode, errors: &[GqlError]) -> (StatusCode, Value) {
    (
        status,
        json!({"errors": errors.iter().map(GqlError::to_json).collect::<Vec<_>>()}),
    )
}

const PARSE: &str = "GRAPHQL_PARSE_FAILED";
const VALIDATION: &str = "GRAPHQL_VALIDATION_FAILED";
const USER_INPUT: &str = "BAD_USER_INPUT";
const BAD_REQUEST: &str = "BAD_REQUEST";

/// Turns a `graphql-parser` message into graphql-js style:
/// `Syntax Error: Unexpected "}".` plus the position when it can be read.
fn syntax_error(msg: &str) -> GqlError {
    // "query parse error: Parse error at 3:5\nUnexpected `}`\nExpected Name\n"
    let mut pos = None;
    let mut parts = Vec::new();
    for line in msg.lines() {
        let line = line.trim();
        if let Some(rest) = line.split("Parse error at ").nth(1) {
            let mut it = rest.split(':');
            if let (Some(l), Some(c)) = (it.next(), it.next())
                && let (Ok(l), Ok(c)) = (l.trim().parse(), c.trim().parse())
            {
                pos = Some(graphql_parser::Pos { line: l, column: c });
            }
        } else if !line.is_empty() {
            parts.push(line.replace('`', "\""));
        }
    }
    let detail = if parts.is_empty() {
        "Unexpected input.".to_string()
    } else {
        format!("{}.", parts.join(", ").trim_end_matches('.'))
    };
    let e = GqlError::new(PARSE, format!("Syntax Error: {detail}"));
    match pos {
        Some(p) => e.at(p),
        None => e,
    }
}

// ---------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------

/// Deepest bracket nesting a document may have.
const MAX_NESTING: usize = 64;
/// Longest document accepted.
const MAX_BODY_QUERY: usize = 1 << 20;

/// Largest bracket nesting (`{[(`) of a document outside strings and comments.
fn nesting(q: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut in_str = false;
    let mut in_comment = false;
    let mut escaped = false;
    for c in q.chars() {
        if in_comment {
            in_comment = c != '\n';
            continue;
        }
        if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '#' => in_comment = true,
            '{' | '[' | '(' => {
                depth += 1;
                max = max.max(depth);
            }
            '}' | ']' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Execution switches.
pub(crate) struct ExecOptions {
    pub findings: bool,
    /// `ot-error:page=K` fired for this request: the first root field fails.
    pub fail_first_root: bool,
    /// `ot-node-error:page=K` fired: the first node's `osDetails` fails (or, when not
    /// selected, the first root field).
    pub fail_first_os_details: bool,
}

type Doc<'a> = Document<'a, String>;
type Frags<'a, 'd> = HashMap<&'d str, &'d SelectionSet<'a, String>>;

/// Answers one `POST /graphql` body. Returns the HTTP status and the JSON body.
pub(crate) fn handle(data: &OtData, body: &[u8], opts: &ExecOptions) -> (StatusCode, Value) {
    let req: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return fail(
                StatusCode::BAD_REQUEST,
                &[GqlError::new(
                    BAD_REQUEST,
                    format!("POST body is not valid JSON: {e}"),
                )],
            );
        }
    };
    let Some(query) = req
        .get("query")
        .and_then(Value::as_str)
        .filter(|q| !q.trim().is_empty())
    else {
        return fail(
            StatusCode::BAD_REQUEST,
            &[GqlError::new(
                BAD_REQUEST,
                "GraphQL operations must contain a non-empty `query` or a `persistedQuery` extension.",
            )],
        );
    };
    let vars: Map<String, Value> = match req.get("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m,
            Ok(Value::Null) => Map::new(),
            _ => {
                return fail(
                    StatusCode::BAD_REQUEST,
                    &[GqlError::new(
                        BAD_REQUEST,
                        "`variables` in a POST body should be provided as an object or a JSON-encoded string of an object.",
                    )],
                );
            }
        },
        Some(_) => {
            return fail(
                StatusCode::BAD_REQUEST,
                &[GqlError::new(
                    BAD_REQUEST,
                    "`variables` in a POST body should be provided as an object or a JSON-encoded string of an object.",
                )],
            );
        }
    };
    // The parser is recursive: refuse absurd nesting before it can exhaust the stack.
    if nesting(query) > MAX_NESTING || query.len() > MAX_BODY_QUERY {
        return fail(
            StatusCode::BAD_REQUEST,
            &[GqlError::new(
                PARSE,
                "Syntax Error: the document is nested too deeply or too long.",
            )],
        );
    }
    let doc: Doc<'_> = match graphql_parser::parse_query::<String>(query) {
        Ok(d) => d,
        Err(e) => return fail(StatusCode::BAD_REQUEST, &[syntax_error(&e.to_string())]),
    };
    let op_name = req.get("operationName").and_then(Value::as_str);
    run(data, &doc, op_name, vars, opts)
}

fn run(
    data: &OtData,
    doc: &Doc<'_>,
    op_name: Option<&str>,
    vars: Map<String, Value>,
    opts: &ExecOptions,
) -> (StatusCode, Value) {
    let mut frags: Frags<'_, '_> = HashMap::new();
    let mut ops = Vec::new();
    for d in &doc.definitions {
        match d {
            Definition::Fragment(f) => {
                frags.insert(f.name.as_str(), &f.selection_set);
            }
            Definition::Operation(o) => ops.push(o),
        }
    }
    let op = match op_name {
        Some(n) => ops.iter().find(|o| op_name_of(o) == Some(n)).copied(),
        None if ops.len() == 1 => ops.first().copied(),
        None => {
            return fail(
                StatusCode::BAD_REQUEST,
                &[GqlError::new(
                    BAD_REQUEST,
                    "Must provide operation name if query contains multiple operations.",
                )],
            );
        }
    };
    let Some(op) = op else {
        return fail(
            StatusCode::BAD_REQUEST,
            &[GqlError::new(
                BAD_REQUEST,
                format!("Unknown operation named \"{}\".", op_name.unwrap_or("")),
            )],
        );
    };
    let (defs, sel) = match op {
        OperationDefinition::SelectionSet(s) => (&[][..], s),
        OperationDefinition::Query(q) => (&q.variable_definitions[..], &q.selection_set),
        OperationDefinition::Mutation(m) => {
            return fail(
                StatusCode::BAD_REQUEST,
                &[GqlError::new(
                    VALIDATION,
                    "Schema is not configured to execute mutation operation.",
                )
                .at(m.position)],
            );
        }
        OperationDefinition::Subscription(s) => {
            return fail(
                StatusCode::BAD_REQUEST,
                &[GqlError::new(
                    VALIDATION,
                    "Schema is not configured to execute subscription operation.",
                )
                .at(s.position)],
            );
        }
    };

    // Validation.
    let mut errors = Vec::new();
    let declared: HashMap<&str, &Type<'_, String>> = defs
        .iter()
        .map(|d| (d.name.as_str(), &d.var_type))
        .collect();
    for d in defs {
        let base = base_type(&d.var_type);
        if !known_input_type(base) {
            errors.push(
                GqlError::new(VALIDATION, format!("Unknown type \"{base}\".")).at(d.position),
            );
        }
    }
    let mut v = Validator {
        frags: &frags,
        declared: &declared,
        errors: &mut errors,
        findings: opts.findings,
        depth: 0,
        spreading: Vec::new(),
        visits: 0,
    };
    v.root(sel);
    if !errors.is_empty() {
        return fail(StatusCode::BAD_REQUEST, &errors);
    }

    // Variable coercion.
    let mut values: HashMap<String, Value> = HashMap::new();
    for d in defs {
        let given = vars.get(d.name.as_str());
        let v = match (given, &d.default_value) {
            (Some(v), _) => v.clone(),
            (None, Some(def)) => to_json(def, &HashMap::new()),
            (None, None) => Value::Null,
        };
        let non_null = matches!(d.var_type, Type::NonNullType(_));
        if non_null && v.is_null() {
            let msg = if given.is_none() {
                format!(
                    "Variable \"${}\" of required type \"{}\" was not provided.",
                    d.name, d.var_type
                )
            } else {
                format!(
                    "Variable \"${}\" of non-null type \"{}\" must not be null.",
                    d.name, d.var_type
                )
            };
            errors.push(GqlError::new(USER_INPUT, msg).at(d.position));
            continue;
        }
        if let Some(msg) = check_scalar(&d.var_type, &v) {
            errors.push(
                GqlError::new(
                    USER_INPUT,
                    format!("Variable \"${}\" got invalid value {v}; {msg}", d.name),
                )
                .at(d.position),
            );
            continue;
        }
        values.insert(d.name.clone(), v);
    }
    if !errors.is_empty() {
        return fail(StatusCode::BAD_REQUEST, &errors);
    }

    // Execution.
    let cx = Cx {
        data,
        frags: &frags,
        vars: &values,
    };
    let mut out = Map::new();
    let mut exec_errors: Vec<GqlError> = Vec::new();
    let mut first_root = true;
    for f in cx.fields(sel) {
        let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
        if f.name == "__typename" {
            out.insert(key, json!("Query"));
            continue;
        }
        if f.name == "asset" {
            let id = cx.arg(f, "id");
            let v = match id.as_str().and_then(|id| data.asset(id)) {
                Some(a) => match cx.object(Obj::Asset, a, &f.selection_set) {
                    Ok(v) => v,
                    Err(msg) => {
                        return fail(
                            StatusCode::BAD_REQUEST,
                            &[GqlError::new(USER_INPUT, msg).at(f.position)],
                        );
                    }
                },
                None => Value::Null,
            };
            out.insert(key, v);
            continue;
        }
        let Some(obj) = root_obj(&f.name, opts.findings) else {
            continue;
        };
        let node_fail = first_root && opts.fail_first_os_details;
        if first_root && opts.fail_first_root {
            first_root = false;
            exec_errors.push(root_error(f, &key));
            out.insert(key, Value::Null);
            continue;
        }
        first_root = false;
        match cx.root(obj, f) {
            Ok(mut v) => {
                if node_fail {
                    match cx.null_first_os_details(f, &key, &mut v) {
                        Some(e) => exec_errors.push(e),
                        None => {
                            exec_errors.push(root_error(f, &key));
                            v = Value::Null;
                        }
                    }
                }
                out.insert(key, v);
            }
            Err(msg) => {
                // Bad filter/sort values: the whole request fails like a variable error.
                return fail(
                    StatusCode::BAD_REQUEST,
                    &[GqlError::new(USER_INPUT, msg).at(f.position)],
                );
            }
        }
    }
    if exec_errors.is_empty() {
        (StatusCode::OK, json!({"data": out}))
    } else {
        (
            StatusCode::OK,
            json!({"errors": exec_errors.iter().map(GqlError::to_json).collect::<Vec<_>>(), "data": out}),
        )
    }
}

/// The resolver failure of a whole root field (`ot-error`).
fn root_error(f: &Field<'_, String>, key: &str) -> GqlError {
    let mut e = GqlError::new(
        "INTERNAL_SERVER_ERROR",
        format!(
            "request to http://127.0.0.1:8083/v1/{} failed, reason: socket hang up",
            f.name
        ),
    )
    .at(f.position);
    e.path = vec![json!(key)];
    e
}

fn op_name_of<'d>(o: &'d OperationDefinition<'_, String>) -> Option<&'d str> {
    match o {
        OperationDefinition::SelectionSet(_) => None,
        OperationDefinition::Query(q) => q.name.as_deref(),
        OperationDefinition::Mutation(m) => m.name.as_deref(),
        OperationDefinition::Subscription(s) => s.name.as_deref(),
    }
}

fn base_type<'a>(t: &'a Type<'_, String>) -> &'a str {
    match t {
        Type::NamedType(n) => n,
        Type::ListType(i) | Type::NonNullType(i) => base_type(i),
    }
}

/// Type check of scalar variables (Int, Boolean, String); `None` when fine.
fn check_scalar(t: &Type<'_, String>, v: &Value) -> Option<String> {
    if v.is_null() {
        return None;
    }
    match t {
        Type::NonNullType(i) => check_scalar(i, v),
        Type::ListType(i) => match v {
            Value::Array(a) => a.iter().find_map(|x| check_scalar(i, x)),
            other => check_scalar(i, other),
        },
        Type::NamedType(n) => match n.as_str() {
            "Int" if v.as_i64().is_none_or(|x| i32::try_from(x).is_err()) => {
                Some(format!("Int cannot represent non-integer value: {v}"))
            }
            "Boolean" if !v.is_boolean() => {
                Some(format!("Boolean cannot represent a non boolean value: {v}"))
            }
            "String" | "ID" if !(v.is_string() || n == "ID" && v.is_number()) => {
                Some(format!("{n} cannot represent a non string value: {v}"))
            }
            _ => None,
        },
    }
}

/// Converts a literal argument (with variables substituted) to JSON.
fn to_json(v: &GValue<'_, String>, vars: &HashMap<String, Value>) -> Value {
    match v {
        GValue::Variable(n) => vars.get(n).cloned().unwrap_or(Value::Null),
        GValue::Int(n) => json!(n.as_i64()),
        GValue::Float(f) => json!(f),
        GValue::String(s) => json!(s),
        GValue::Boolean(b) => json!(b),
        GValue::Null => Value::Null,
        GValue::Enum(e) => json!(e),
        GValue::List(l) => Value::Array(l.iter().map(|x| to_json(x, vars)).collect()),
        GValue::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), to_json(x, vars)))
                .collect(),
        ),
    }
}

fn variables_in<'v>(v: &'v GValue<'_, String>, out: &mut Vec<&'v str>) {
    match v {
        GValue::Variable(n) => out.push(n),
        GValue::List(l) => l.iter().for_each(|x| variables_in(x, out)),
        GValue::Object(o) => o.values().for_each(|x| variables_in(x, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

/// What a selection set is validated against.
#[derive(Clone, Copy)]
enum Ty {
    Obj(Obj),
    Conn(Node),
    Edge(Node),
    PageInfo,
}

struct Validator<'x, 'a, 'd> {
    frags: &'x Frags<'a, 'd>,
    declared: &'x HashMap<&'d str, &'d Type<'a, String>>,
    errors: &'x mut Vec<GqlError>,
    findings: bool,
    depth: usize,
    /// Fragments being expanded (cycle detection).
    spreading: Vec<String>,
    /// Fields visited so far (a budget against exponential fragment fan-out).
    visits: usize,
}

/// Largest number of field visits validation allows.
const MAX_VISITS: usize = 50_000;

impl Validator<'_, '_, '_> {
    fn each_field(
        &mut self,
        sel: &SelectionSet<'_, String>,
        f: &mut dyn FnMut(&mut Self, &Field<'_, String>),
    ) {
        self.depth += 1;
        if self.depth > 64 {
            self.errors
                .push(GqlError::new(VALIDATION, "Query is nested too deeply."));
            self.depth -= 1;
            return;
        }
        for s in &sel.items {
            self.visits += 1;
            if self.visits > MAX_VISITS {
                if self.visits == MAX_VISITS + 1 {
                    self.errors
                        .push(GqlError::new(VALIDATION, "Query is too complex."));
                }
                break;
            }
            match s {
                Selection::Field(x) => f(self, x),
                Selection::InlineFragment(i) => self.each_field(&i.selection_set, f),
                Selection::FragmentSpread(sp) => match self.frags.get(sp.fragment_name.as_str()) {
                    Some(_) if self.spreading.contains(&sp.fragment_name) => {
                        self.errors.push(
                            GqlError::new(
                                VALIDATION,
                                format!(
                                    "Cannot spread fragment \"{}\" within itself.",
                                    sp.fragment_name
                                ),
                            )
                            .at(sp.position),
                        );
                    }
                    Some(fs) => {
                        let fs: &SelectionSet<'_, String> = fs;
                        self.spreading.push(sp.fragment_name.clone());
                        self.each_field(fs, f);
                        self.spreading.pop();
                    }
                    None => self.errors.push(
                        GqlError::new(
                            VALIDATION,
                            format!("Unknown fragment \"{}\".", sp.fragment_name),
                        )
                        .at(sp.position),
                    ),
                },
            }
        }
        self.depth -= 1;
    }

    fn args(&mut self, f: &Field<'_, String>, allowed: &[&str], parent: &str) {
        for (name, value) in &f.arguments {
            if !allowed.contains(&name.as_str()) {
                self.errors.push(
                    GqlError::new(
                        VALIDATION,
                        format!(
                            "Unknown argument \"{name}\" on field \"{parent}.{}\".",
                            f.name
                        ),
                    )
                    .at(f.position),
                );
            }
            let mut used = Vec::new();
            variables_in(value, &mut used);
            for u in used {
                if !self.declared.contains_key(u) {
                    self.errors.push(
                        GqlError::new(VALIDATION, format!("Variable \"${u}\" is not defined."))
                            .at(f.position),
                    );
                }
            }
        }
    }

    fn root(&mut self, sel: &SelectionSet<'_, String>) {
        self.each_field(sel, &mut |v, f| {
            if f.name == "__typename" {
                return;
            }
            if f.name == "asset" {
                v.args(f, &["id"], "Query");
                if !f.arguments.iter().any(|(n, _)| n == "id") {
                    v.errors.push(
                        GqlError::new(
                            VALIDATION,
                            "Field \"asset\" argument \"id\" of type \"ID!\" is required, but it was not provided.",
                        )
                        .at(f.position),
                    );
                }
                v.composite(f, Ty::Obj(Obj::Asset), "Query");
                return;
            }
            match root_obj(&f.name, v.findings) {
                Some(obj) => {
                    v.args(f, &ROOT_ARGS, "Query");
                    v.composite(f, Ty::Conn(Node::Obj(obj)), "Query");
                }
                None => v.errors.push(
                    GqlError::new(
                        VALIDATION,
                        format!("Cannot query field \"{}\" on type \"Query\".", f.name),
                    )
                    .at(f.position),
                ),
            }
        });
    }

    fn ty_name(ty: Ty) -> String {
        match ty {
            Ty::Obj(o) => o.type_name().to_string(),
            Ty::Conn(Node::Obj(o)) => format!("{}Connection", o.type_name()),
            Ty::Conn(_) => "Connection".to_string(),
            Ty::Edge(Node::Obj(o)) => format!("{}Edge", o.type_name()),
            Ty::Edge(_) => "Edge".to_string(),
            Ty::PageInfo => "PageInfo".to_string(),
        }
    }

    /// A field of composite type: needs a selection, validated against `ty`.
    fn composite(&mut self, f: &Field<'_, String>, ty: Ty, _parent: &str) {
        if f.selection_set.items.is_empty() {
            self.errors.push(
                GqlError::new(
                    VALIDATION,
                    format!(
                        "Field \"{}\" of type \"{}\" must have a selection of subfields. Did you mean \"{} {{ ... }}\"?",
                        f.name,
                        Self::ty_name(ty),
                        f.name
                    ),
                )
                .at(f.position),
            );
            return;
        }
        self.selection(&f.selection_set, ty);
    }

    fn leaf(&mut self, f: &Field<'_, String>, type_name: &str) {
        if !f.selection_set.items.is_empty() {
            self.errors.push(
                GqlError::new(
                    VALIDATION,
                    format!(
                        "Field \"{}\" must not have a selection since type \"{type_name}\" has no subfields.",
                        f.name
                    ),
                )
                .at(f.position),
            );
        }
    }

    fn unknown(&mut self, f: &Field<'_, String>, ty: Ty) {
        self.errors.push(
            GqlError::new(
                VALIDATION,
                format!(
                    "Cannot query field \"{}\" on type \"{}\".",
                    f.name,
                    Self::ty_name(ty)
                ),
            )
            .at(f.position),
        );
    }

    fn node(&mut self, f: &Field<'_, String>, node: Node) {
        match node {
            Node::Obj(o) => self.composite(f, Ty::Obj(o), ""),
            Node::Open => {}
            Node::Scalar => self.leaf(f, "String"),
        }
    }

    fn selection(&mut self, sel: &SelectionSet<'_, String>, ty: Ty) {
        self.each_field(sel, &mut |v, f| {
            if f.name == "__typename" {
                v.leaf(f, "String");
                return;
            }
            match ty {
                Ty::Conn(node) => match f.name.as_str() {
                    "pageInfo" => v.composite(f, Ty::PageInfo, ""),
                    "edges" => v.composite(f, Ty::Edge(node), ""),
                    "nodes" => v.node(f, node),
                    "totalCount" => v.leaf(f, "Int"),
                    _ => v.unknown(f, ty),
                },
                Ty::Edge(node) => match f.name.as_str() {
                    "cursor" => v.leaf(f, "String"),
                    "node" => v.node(f, node),
                    _ => v.unknown(f, ty),
                },
                Ty::PageInfo => match f.name.as_str() {
                    "hasNextPage" | "hasPreviousPage" | "startCursor" | "endCursor" => {
                        v.leaf(f, "PageInfo field")
                    }
                    _ => v.unknown(f, ty),
                },
                Ty::Obj(o) => match field_kind(o, &f.name) {
                    None => v.unknown(f, ty),
                    Some(Kind::Scalar) => {
                        // `details` is JSON: sub-selections are not allowed on it either.
                        v.leaf(
                            f,
                            if f.name == "details" {
                                "JSON"
                            } else {
                                "scalar"
                            },
                        );
                    }
                    Some(Kind::Open) => {
                        if f.selection_set.items.is_empty() {
                            v.composite(f, ty, "");
                        }
                    }
                    Some(Kind::Ref(t)) => v.composite(f, Ty::Obj(t), ""),
                    Some(Kind::Conn(n)) => {
                        v.args(f, &CONN_ARGS, o.type_name());
                        v.composite(f, Ty::Conn(n), "");
                    }
                    Some(Kind::RefConn(t)) => {
                        v.args(f, &ROOT_ARGS, o.type_name());
                        v.composite(f, Ty::Conn(Node::Obj(t)), "");
                    }
                },
            }
        });
    }
}

// ---------------------------------------------------------------------------------------
// Execution and projection
// ---------------------------------------------------------------------------------------

struct Cx<'x, 'a, 'd> {
    data: &'x OtData,
    frags: &'x Frags<'a, 'd>,
    vars: &'x HashMap<String, Value>,
}

const CURSOR_PREFIX: &str = "arrayconnection:";

/// `base64("arrayconnection:<offset>")`.
pub(crate) fn cursor(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{CURSOR_PREFIX}{offset}"))
}

/// The offset of a cursor; invalid cursors count as absent (graphql-relay-js).
fn cursor_offset(c: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::STANDARD.decode(c).ok()?;
    let s = String::from_utf8(raw).ok()?;
    s.strip_prefix(CURSOR_PREFIX)?.parse().ok()
}

impl<'x, 'a, 'd> Cx<'x, 'a, 'd> {
    /// Fields of a selection set with fragments inlined and `@skip`/`@include` applied.
    fn fields<'s>(&self, sel: &'s SelectionSet<'a, String>) -> Vec<&'s Field<'a, String>>
    where
        'd: 's,
    {
        let mut out = Vec::new();
        self.collect(sel, &mut out, 0);
        out
    }

    fn collect<'s>(
        &self,
        sel: &'s SelectionSet<'a, String>,
        out: &mut Vec<&'s Field<'a, String>>,
        depth: usize,
    ) where
        'd: 's,
    {
        if depth > 64 {
            return;
        }
        for s in &sel.items {
            match s {
                Selection::Field(f) => {
                    if self.included(&f.directives) {
                        out.push(f);
                    }
                }
                Selection::InlineFragment(i) => {
                    if self.included(&i.directives) {
                        self.collect(&i.selection_set, out, depth + 1);
                    }
                }
                Selection::FragmentSpread(sp) => {
                    if self.included(&sp.directives)
                        && let Some(fs) = self.frags.get(sp.fragment_name.as_str())
                    {
                        self.collect(fs, out, depth + 1);
                    }
                }
            }
        }
    }

    /// `ot-node-error`: nulls `osDetails` of the first node of a root connection's
    /// `nodes` (the resolver failure the reference quotes) and returns the error with its
    /// path (`["assets", "nodes", 0, "osDetails"]`); `None` when not selected.
    fn null_first_os_details(
        &self,
        f: &Field<'a, String>,
        root_key: &str,
        v: &mut Value,
    ) -> Option<GqlError> {
        for nf in self.fields(&f.selection_set) {
            if nf.name != "nodes" {
                continue;
            }
            let nkey = nf.alias.clone().unwrap_or_else(|| nf.name.clone());
            for of in self.fields(&nf.selection_set) {
                if of.name != "osDetails" {
                    continue;
                }
                let okey = of.alias.clone().unwrap_or_else(|| of.name.clone());
                let node = v.get_mut(&nkey)?.get_mut(0)?.as_object_mut()?;
                node.insert(okey.clone(), Value::Null);
                let mut e = GqlError::new(
                    "INTERNAL_SERVER_ERROR",
                    "request to http://127.0.0.1:8083/v1/assets/osinfo failed, reason: connect ECONNREFUSED 127.0.0.1:8083",
                )
                .at(of.position);
                e.path = vec![json!(root_key), json!(nkey), json!(0), json!(okey)];
                return Some(e);
            }
        }
        None
    }

    fn included(&self, dirs: &[graphql_parser::query::Directive<'a, String>]) -> bool {
        for d in dirs {
            let cond = d
                .arguments
                .iter()
                .find(|(n, _)| n == "if")
                .map(|(_, v)| to_json(v, self.vars))
                .and_then(|v| v.as_bool());
            match (d.name.as_str(), cond) {
                ("skip", Some(true)) | ("include", Some(false)) => return false,
                _ => {}
            }
        }
        true
    }

    fn arg(&self, f: &Field<'a, String>, name: &str) -> Value {
        f.arguments
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| to_json(v, self.vars))
            .unwrap_or(Value::Null)
    }

    fn list(&self, obj: Obj) -> &'x [Value] {
        match obj {
            Obj::Asset => &self.data.assets,
            Obj::Plugin => &self.data.plugins,
            Obj::Finding => &self.data.findings,
            Obj::Event => &self.data.events,
        }
    }

    /// One root connection: filter, search, sort, page, project.
    fn root(&self, obj: Obj, f: &Field<'a, String>) -> Result<Value, String> {
        let recs: Vec<&Value> = self.list(obj).iter().collect();
        self.filtered_connection(obj, recs, f)
    }

    fn filtered_connection(
        &self,
        obj: Obj,
        recs: Vec<&'x Value>,
        f: &Field<'a, String>,
    ) -> Result<Value, String> {
        let filter = self.arg(f, "filter");
        let mut kept = Vec::with_capacity(recs.len());
        for r in recs {
            if filter::matches(self.data, obj, r, &filter)? {
                kept.push(r);
            }
        }
        if let Some(s) = self.arg(f, "search").as_str().filter(|s| !s.is_empty()) {
            kept.retain(|r| filter::search(r, s));
        }
        filter::sort(self.data, obj, &mut kept, &self.arg(f, "sort"))?;
        self.connection(Node::Obj(obj), &kept, f)
    }

    /// A Relay connection over `items` (graphql-relay-js `connectionFromArray`).
    fn connection(
        &self,
        node: Node,
        items: &[&Value],
        f: &Field<'a, String>,
    ) -> Result<Value, String> {
        let first = match self.arg(f, "first") {
            Value::Null => None,
            v => match v.as_i64() {
                Some(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                _ => {
                    return Err(format!(
                        "Argument \"first\" must be a non-negative integer, got {v}."
                    ));
                }
            },
        };
        let after = self.arg(f, "after");
        let start = after
            .as_str()
            .and_then(cursor_offset)
            .map_or(0, |o| o.saturating_add(1));
        let len = items.len();
        let begin = start.min(len);
        let end = match first {
            Some(n) => begin.saturating_add(n).min(len),
            None => len,
        };
        let page = &items[begin..end];
        let has_next = first.is_some_and(|n| start.saturating_add(n) < len);
        let mut out = Map::new();
        for sf in self.fields(&f.selection_set) {
            let key = sf.alias.clone().unwrap_or_else(|| sf.name.clone());
            let v = match sf.name.as_str() {
                "__typename" => json!("Connection"),
                "totalCount" => json!(len),
                "pageInfo" => {
                    let mut pi = Map::new();
                    for pf in self.fields(&sf.selection_set) {
                        let k = pf.alias.clone().unwrap_or_else(|| pf.name.clone());
                        let v = match pf.name.as_str() {
                            "hasNextPage" => json!(has_next),
                            "hasPreviousPage" => json!(false),
                            "startCursor" => {
                                if page.is_empty() {
                                    Value::Null
                                } else {
                                    json!(cursor(begin))
                                }
                            }
                            "endCursor" => {
                                if page.is_empty() {
                                    Value::Null
                                } else {
                                    json!(cursor(end - 1))
                                }
                            }
                            "__typename" => json!("PageInfo"),
                            _ => Value::Null,
                        };
                        pi.insert(k, v);
                    }
                    Value::Object(pi)
                }
                "edges" => {
                    let mut edges = Vec::with_capacity(page.len());
                    for (i, item) in page.iter().enumerate() {
                        let mut e = Map::new();
                        for ef in self.fields(&sf.selection_set) {
                            let k = ef.alias.clone().unwrap_or_else(|| ef.name.clone());
                            let v = match ef.name.as_str() {
                                "cursor" => json!(cursor(begin + i)),
                                "node" => self.node(node, item, &ef.selection_set)?,
                                "__typename" => json!("Edge"),
                                _ => Value::Null,
                            };
                            e.insert(k, v);
                        }
                        edges.push(Value::Object(e));
                    }
                    Value::Array(edges)
                }
                "nodes" => {
                    let mut ns = Vec::with_capacity(page.len());
                    for item in page {
                        ns.push(self.node(node, item, &sf.selection_set)?);
                    }
                    Value::Array(ns)
                }
                _ => Value::Null,
            };
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }

    fn node(
        &self,
        node: Node,
        item: &Value,
        sel: &SelectionSet<'a, String>,
    ) -> Result<Value, String> {
        Ok(match node {
            Node::Obj(o) => self.object(o, item, sel)?,
            Node::Open => self.open(item, sel),
            Node::Scalar => item.clone(),
        })
    }

    /// A free-form object projected onto the selection (lists map element-wise).
    fn open(&self, v: &Value, sel: &SelectionSet<'a, String>) -> Value {
        if sel.items.is_empty() {
            return v.clone();
        }
        match v {
            Value::Object(o) => {
                let mut out = Map::new();
                for f in self.fields(sel) {
                    let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
                    let child = o.get(&f.name).unwrap_or(&Value::Null);
                    out.insert(key, self.open(child, &f.selection_set));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.open(x, sel)).collect()),
            other => other.clone(),
        }
    }

    fn object(
        &self,
        obj: Obj,
        rec: &Value,
        sel: &SelectionSet<'a, String>,
    ) -> Result<Value, String> {
        let mut out = Map::new();
        for f in self.fields(sel) {
            let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
            if f.name == "__typename" {
                out.insert(key, json!(obj.type_name()));
                continue;
            }
            let raw = rec.get(&f.name).unwrap_or(&Value::Null);
            let v = match field_kind(obj, &f.name) {
                None | Some(Kind::Scalar) => raw.clone(),
                Some(Kind::Open) => self.open(raw, &f.selection_set),
                Some(Kind::Ref(t)) => match self.resolve(t, raw) {
                    Some(r) => self.object(t, r, &f.selection_set)?,
                    None => Value::Null,
                },
                Some(Kind::Conn(n)) => {
                    let items = nodes(raw);
                    let refs: Vec<&Value> = items.iter().collect();
                    self.connection(n, &refs, f)?
                }
                Some(Kind::RefConn(t)) => {
                    let items = nodes(raw);
                    let refs: Vec<&Value> =
                        items.iter().filter_map(|x| self.resolve(t, x)).collect();
                    self.connection(Node::Obj(t), &refs, f)?
                }
            };
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }

    fn resolve<'v>(&self, target: Obj, v: &'v Value) -> Option<&'v Value>
    where
        'x: 'v,
    {
        match v {
            Value::Object(_) => Some(v),
            Value::String(id) if target == Obj::Asset => self.data.asset(id),
            Value::Number(n) if target == Obj::Plugin => {
                n.as_i64().and_then(|id| self.data.plugin(id))
            }
            _ => None,
        }
    }
}
