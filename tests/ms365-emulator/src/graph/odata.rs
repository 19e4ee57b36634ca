//! The OData query options the product uses: `$filter` (`eq`, `in`, `startswith`, and the lambda
//! `coll/any(x:x eq 'v')` on string collections such as `tags`, joined by `and`),
//! `$select` and `$top`. Anything else in `$filter` is refused as Graph refuses unsupported clauses,
//! so a product query that only "works" on the emulator cannot slip through.

use serde_json::{Map, Value};

use super::error::GraphError;

/// One `$filter` clause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clause {
    /// `prop eq 'value'` (strings compare case-insensitively, as directory properties do).
    Eq(String, Value),
    /// `prop in ('a', 'b')`.
    In(String, Vec<Value>),
    /// `startswith(prop, 'value')`.
    StartsWith(String, String),
    /// `prop/any(x:x eq 'value')` on a collection of strings.
    AnyEq(String, Value),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Open,
    Close,
    Comma,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, GraphError> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '\'' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(invalid(s)),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            v.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            v.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            c if c.is_ascii_alphanumeric() || c == '_' || c == '/' || c == '.' || c == '-' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_/.-:".contains(chars[i])) {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            _ => return Err(invalid(s)),
        }
    }
    Ok(out)
}

fn invalid(filter: &str) -> GraphError {
    GraphError::new(
        400,
        "BadRequest",
        format!("Invalid filter clause: '{filter}' is not supported by the emulator or not valid OData."),
    )
}

fn literal(t: &Tok) -> Option<Value> {
    match t {
        Tok::Str(s) => Some(Value::String(s.clone())),
        Tok::Ident(i) if i == "true" => Some(Value::Bool(true)),
        Tok::Ident(i) if i == "false" => Some(Value::Bool(false)),
        Tok::Ident(i) if i == "null" => Some(Value::Null),
        Tok::Ident(i) => i.parse::<i64>().ok().map(Value::from),
        _ => None,
    }
}

/// Parses a `$filter` value into clauses joined by `and`.
pub fn parse_filter(filter: &str) -> Result<Vec<Clause>, GraphError> {
    let toks = tokenize(filter)?;
    let mut clauses = Vec::new();
    let mut i = 0;
    loop {
        match (toks.get(i), toks.get(i + 1)) {
            (Some(Tok::Ident(f)), Some(Tok::Open)) if f.eq_ignore_ascii_case("startswith") => {
                match (toks.get(i + 2), toks.get(i + 3), toks.get(i + 4), toks.get(i + 5)) {
                    (Some(Tok::Ident(p)), Some(Tok::Comma), Some(Tok::Str(v)), Some(Tok::Close)) => {
                        clauses.push(Clause::StartsWith(p.clone(), v.clone()));
                        i += 6;
                    }
                    _ => return Err(invalid(filter)),
                }
            }
            (Some(Tok::Ident(p)), Some(Tok::Open)) if p.ends_with("/any") => {
                let prop = p.trim_end_matches("/any").to_owned();
                match (toks.get(i + 2), toks.get(i + 3), toks.get(i + 4).and_then(literal), toks.get(i + 5)) {
                    (Some(Tok::Ident(var)), Some(Tok::Ident(op)), Some(v), Some(Tok::Close))
                        if op == "eq" && var.split_once(':').is_some_and(|(a, b)| a == b && !a.is_empty()) =>
                    {
                        clauses.push(Clause::AnyEq(prop, v));
                        i += 6;
                    }
                    _ => return Err(invalid(filter)),
                }
            }
            (Some(Tok::Ident(p)), Some(Tok::Ident(op))) if op == "eq" => {
                let v = toks.get(i + 2).and_then(literal).ok_or_else(|| invalid(filter))?;
                clauses.push(Clause::Eq(p.clone(), v));
                i += 3;
            }
            (Some(Tok::Ident(p)), Some(Tok::Ident(op))) if op == "in" => {
                if toks.get(i + 2) != Some(&Tok::Open) {
                    return Err(invalid(filter));
                }
                i += 3;
                let mut values = Vec::new();
                loop {
                    let v = toks.get(i).and_then(literal).ok_or_else(|| invalid(filter))?;
                    values.push(v);
                    match toks.get(i + 1) {
                        Some(Tok::Comma) => i += 2,
                        Some(Tok::Close) => {
                            i += 2;
                            break;
                        }
                        _ => return Err(invalid(filter)),
                    }
                }
                clauses.push(Clause::In(p.clone(), values));
            }
            _ => return Err(invalid(filter)),
        }
        match toks.get(i) {
            None => break,
            Some(Tok::Ident(a)) if a == "and" => i += 1,
            _ => return Err(invalid(filter)),
        }
    }
    Ok(clauses)
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

/// Whether `obj` satisfies every clause.
pub fn matches(obj: &Map<String, Value>, clauses: &[Clause]) -> bool {
    clauses.iter().all(|c| match c {
        Clause::Eq(p, v) => obj.get(p).is_some_and(|x| values_equal(x, v)) || (v.is_null() && obj.get(p).is_none()),
        Clause::In(p, vs) => obj.get(p).is_some_and(|x| vs.iter().any(|v| values_equal(x, v))),
        Clause::AnyEq(p, v) => {
            obj.get(p).and_then(Value::as_array).is_some_and(|items| items.iter().any(|x| values_equal(x, v)))
        }
        Clause::StartsWith(p, prefix) => obj
            .get(p)
            .and_then(Value::as_str)
            .is_some_and(|s| s.to_ascii_lowercase().starts_with(&prefix.to_ascii_lowercase())),
    })
}

/// Keeps only the `$select`ed properties (plus OData annotations).
pub fn select(obj: Map<String, Value>, select: Option<&str>) -> Map<String, Value> {
    let Some(sel) = select.filter(|s| !s.trim().is_empty()) else { return obj };
    let wanted: Vec<String> = sel.split(',').map(|s| s.trim().to_ascii_lowercase()).collect();
    obj.into_iter().filter(|(k, _)| k.starts_with('@') || wanted.contains(&k.to_ascii_lowercase())).collect()
}

/// Parses `$top` (1..=999).
pub fn top(value: Option<&str>) -> Result<Option<usize>, GraphError> {
    match value {
        None => Ok(None),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=999).contains(&n) => Ok(Some(n)),
            _ => Err(GraphError::new(
                400,
                "Request_BadRequest",
                format!("Invalid page size specified: '{v}'. Must be between 1 and 999 inclusive."),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn filters_the_product_sends_are_understood() {
        let sp = obj(json!({"appId": "00000003-0000-0000-C000-000000000000", "displayName": "Microsoft Graph"}));
        let f = parse_filter("appId eq '00000003-0000-0000-c000-000000000000'").unwrap_or_default();
        assert!(matches(&sp, &f));
        let f =
            parse_filter("startswith(displayName,'micro') and appId in ('x', '00000003-0000-0000-c000-000000000000')")
                .unwrap_or_default();
        assert_eq!(f.len(), 2);
        assert!(matches(&sp, &f));
        let f = parse_filter("displayName eq 'O''Brien'").unwrap_or_default();
        assert_eq!(f, vec![Clause::Eq("displayName".into(), json!("O'Brien"))]);
    }

    #[test]
    fn the_any_lambda_on_tags() {
        let clauses = parse_filter("tags/any(t:t eq 'm365onb-1-0')").unwrap();
        assert!(matches(&obj(serde_json::json!({"tags": ["x", "m365onb-1-0"]})), &clauses));
        assert!(!matches(&obj(serde_json::json!({"tags": ["x"]})), &clauses));
        assert!(!matches(&obj(serde_json::json!({})), &clauses));
        assert!(parse_filter("tags/any(t:u eq 'a')").is_err());
    }

    #[test]
    fn unsupported_or_broken_filters_are_refused() {
        for bad in [
            "",
            "appId ne 'x'",
            "appId eq",
            "appId eq 'x' or id eq 'y'",
            "appId eq 'x",
            "startswith(a)",
            "a in (",
            "a in ('x'",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn select_keeps_only_what_was_asked() {
        let o = obj(json!({"id": "1", "appId": "2", "appRoles": [], "displayName": "x"}));
        let s = select(o, Some("id,appRoles"));
        assert_eq!(s.len(), 2);
        assert!(s.contains_key("appRoles"));
    }
}
