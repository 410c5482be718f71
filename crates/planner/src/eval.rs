//! Evaluation of bound expressions over a row and the statement's
//! arguments, with PostgreSQL's semantics: three-valued logic, overflow and
//! division by zero as errors, truncating integer division.

use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::expr::{ArithOp, CmpOp, Expr, Function};
use crate::types::DataType;
use crate::value::{coerce_for_column, parse_value, ArcStr, Value};

/// Evaluates `expr` against `row` (the input columns) and `params`.
///
/// Columns, parameters and constants, nearly every expression a
/// registered statement evaluates per row, are answered inline; the rest
/// goes to the general evaluator, whose large frame would otherwise be
/// paid for each projected column.
#[inline]
pub fn eval(expr: &Expr, row: &[Value], params: &[Value]) -> Result<Value> {
    match expr {
        Expr::Column(i) => match row.get(*i) {
            Some(v) => Ok(v.clone()),
            None => Err(missing_column(*i)),
        },
        Expr::Param(i) => match params.get(*i) {
            Some(v) => Ok(v.clone()),
            None => Err(missing_param(*i)),
        },
        Expr::Const(v) => Ok(v.clone()),
        _ => eval_general(expr, row, params),
    }
}

#[cold]
fn missing_column(i: usize) -> Error {
    Error::Internal(format!("column {i} out of range"))
}

#[cold]
fn missing_param(i: usize) -> Error {
    Error::Internal(format!("parameter ${} missing", i + 1))
}

#[inline(never)]
fn eval_general(expr: &Expr, row: &[Value], params: &[Value]) -> Result<Value> {
    match expr {
        Expr::Column(_) | Expr::Param(_) | Expr::Const(_) => eval(expr, row, params),
        Expr::Arith { op, ty, left, right } => {
            let l = eval(left, row, params)?;
            if l.is_null() {
                return Ok(Value::Null);
            }
            let r = eval(right, row, params)?;
            arith(*op, *ty, &l, &r)
        }
        Expr::Negate { ty, expr } => match eval(expr, row, params)? {
            Value::Null => Ok(Value::Null),
            Value::Int(i) => check_int(i.checked_neg(), *ty),
            Value::Float(x) => Ok(Value::Float(-x)),
            other => Err(Error::Internal(format!("cannot negate {other:?}"))),
        },
        Expr::Compare { op, left, right } => {
            let l = eval(left, row, params)?;
            let r = eval(right, row, params)?;
            Ok(compare(*op, &l, &r))
        }
        Expr::And(l, r) => {
            // FALSE wins over NULL, so a FALSE left side decides alone.
            let lv = truth(&eval(l, row, params)?)?;
            if lv == Some(false) {
                return Ok(Value::Bool(false));
            }
            let rv = truth(&eval(r, row, params)?)?;
            Ok(match (lv, rv) {
                (_, Some(false)) => Value::Bool(false),
                (Some(true), Some(true)) => Value::Bool(true),
                _ => Value::Null,
            })
        }
        Expr::Or(l, r) => {
            let lv = truth(&eval(l, row, params)?)?;
            if lv == Some(true) {
                return Ok(Value::Bool(true));
            }
            let rv = truth(&eval(r, row, params)?)?;
            Ok(match (lv, rv) {
                (_, Some(true)) => Value::Bool(true),
                (Some(false), Some(false)) => Value::Bool(false),
                _ => Value::Null,
            })
        }
        Expr::Not(e) => Ok(match truth(&eval(e, row, params)?)? {
            Some(b) => Value::Bool(!b),
            None => Value::Null,
        }),
        Expr::IsNull { expr, negated } => Ok(Value::Bool(eval(expr, row, params)?.is_null() != *negated)),
        Expr::IsBool { expr, value, negated } => {
            let is = truth(&eval(expr, row, params)?)? == Some(*value);
            Ok(Value::Bool(is != *negated))
        }
        Expr::IsDistinctFrom { left, right, negated } => {
            let l = eval(left, row, params)?;
            let r = eval(right, row, params)?;
            let distinct = match (l.is_null(), r.is_null()) {
                (true, true) => false,
                (true, false) | (false, true) => true,
                (false, false) => l.sql_cmp(&r) != Some(Ordering::Equal),
            };
            Ok(Value::Bool(distinct != *negated))
        }
        Expr::Concat(l, r) => {
            let lv = eval(l, row, params)?;
            let rv = eval(r, row, params)?;
            if lv.is_null() || rv.is_null() {
                return Ok(Value::Null);
            }
            let mut s = lv.to_pg_text();
            s.push_str(&rv.to_pg_text());
            Ok(Value::Text(ArcStr::from(s)))
        }
        Expr::Case { whens, otherwise } => {
            for (cond, result) in whens {
                if truth(&eval(cond, row, params)?)? == Some(true) {
                    return eval(result, row, params);
                }
            }
            match otherwise {
                Some(e) => eval(e, row, params),
                None => Ok(Value::Null),
            }
        }
        Expr::Coalesce(list) => {
            for e in list {
                let v = eval(e, row, params)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Ok(Value::Null)
        }
        Expr::Cast { expr, to } => cast(eval(expr, row, params)?, *to),
        Expr::InList { expr, list, negated } => {
            let v = eval(expr, row, params)?;
            if v.is_null() {
                return Ok(Value::Null);
            }
            let mut saw_null = false;
            for item in list {
                match v.sql_eq(&eval(item, row, params)?) {
                    Some(true) => return Ok(Value::Bool(!*negated)),
                    Some(false) => {}
                    None => saw_null = true,
                }
            }
            Ok(if saw_null { Value::Null } else { Value::Bool(*negated) })
        }
        Expr::Like { expr, pattern, negated, case_insensitive } => {
            let v = eval(expr, row, params)?;
            let p = eval(pattern, row, params)?;
            match (v, p) {
                (Value::Text(s), Value::Text(p)) => {
                    let matched =
                        if *case_insensitive { like(&s.to_lowercase(), &p.to_lowercase())? } else { like(&s, &p)? };
                    Ok(Value::Bool(matched != *negated))
                }
                _ => Ok(Value::Null),
            }
        }
        Expr::Call { function, ty, args } => call(*function, *ty, args, row, params),
    }
}

/// Evaluates a predicate: only TRUE passes (NULL and FALSE do not).
pub fn eval_predicate(expr: &Expr, row: &[Value], params: &[Value]) -> Result<bool> {
    Ok(truth(&eval(expr, row, params)?)? == Some(true))
}

fn truth(v: &Value) -> Result<Option<bool>> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        other => Err(Error::Internal(format!("expected a boolean, got {other:?}"))),
    }
}

pub fn compare(op: CmpOp, l: &Value, r: &Value) -> Value {
    match l.sql_cmp(r) {
        None => Value::Null,
        Some(ord) => Value::Bool(match op {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::NotEq => ord != Ordering::Equal,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::LtEq => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::GtEq => ord != Ordering::Less,
        }),
    }
}

fn check_int(v: Option<i64>, ty: DataType) -> Result<Value> {
    let out_of_range = || Error::Data(format!("{} out of range", ty.sql_name()));
    let v = v.ok_or_else(out_of_range)?;
    let (lo, hi) = ty.integer_range();
    if v < lo || v > hi {
        return Err(out_of_range());
    }
    Ok(Value::Int(v))
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

/// Arithmetic on two non-NULL-checked operands with result type `ty`.
pub fn arith(op: ArithOp, ty: DataType, l: &Value, r: &Value) -> Result<Value> {
    if l.is_null() || r.is_null() {
        return Ok(Value::Null);
    }
    if ty.is_integer() {
        let (Value::Int(a), Value::Int(b)) = (l, r) else {
            return Err(Error::Internal(format!("integer arithmetic on {l:?}, {r:?}")));
        };
        let (a, b) = (*a, *b);
        if matches!(op, ArithOp::Div | ArithOp::Mod) && b == 0 {
            return Err(Error::Data("division by zero".into()));
        }
        let result = match op {
            ArithOp::Add => a.checked_add(b),
            ArithOp::Sub => a.checked_sub(b),
            ArithOp::Mul => a.checked_mul(b),
            ArithOp::Div => a.checked_div(b),
            // i64::MIN % -1 overflows in Rust; mathematically it is 0.
            ArithOp::Mod => Some(a.checked_rem(b).unwrap_or(0)),
        };
        return check_int(result, ty);
    }
    let (Some(a), Some(b)) = (as_f64(l), as_f64(r)) else {
        return Err(Error::Internal(format!("float arithmetic on {l:?}, {r:?}")));
    };
    if matches!(op, ArithOp::Div | ArithOp::Mod) && b == 0.0 {
        return Err(Error::Data("division by zero".into()));
    }
    let x = match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div => a / b,
        ArithOp::Mod => a % b,
    };
    let x = if ty == DataType::Real { x as f32 as f64 } else { x };
    if x.is_infinite() && a.is_finite() && b.is_finite() {
        return Err(Error::Data("value out of range: overflow".into()));
    }
    Ok(Value::Float(x))
}

/// Explicit casts (`CAST(x AS t)`, `x::t`).
pub fn cast(v: Value, to: DataType) -> Result<Value> {
    let invalid = |text: &str| Error::Type(format!("invalid input syntax for type {}: \"{text}\"", to.sql_name()));
    match (v, to) {
        (Value::Null, _) => Ok(Value::Null),
        (Value::Text(s), t) if !t.is_text() => parse_value(s.as_bytes(), t).map_err(|_| invalid(&s)),
        (v, t) if t.is_text() => {
            coerce_for_column(Value::Text(ArcStr::from(v.to_pg_text())), t).or_else(|e| match (e, t) {
                // An explicit cast to VARCHAR(n) truncates, as in PostgreSQL.
                (Error::Data(_), DataType::Varchar(Some(n))) => {
                    let s: String = v.to_pg_text().chars().take(n as usize).collect();
                    Ok(Value::Text(ArcStr::from(s)))
                }
                (e, _) => Err(e),
            })
        }
        (Value::Bool(b), t) if t.is_integer() => Ok(Value::Int(b as i64)),
        (Value::Int(i), DataType::Boolean) => Ok(Value::Bool(i != 0)),
        (v @ (Value::Int(_) | Value::Float(_)), t) if t.is_numeric() => coerce_for_column(v, t),
        (v @ Value::Bool(_), DataType::Boolean)
        | (v @ Value::Timestamp(_), DataType::Timestamp)
        | (v @ Value::Bytes(_), DataType::Bytea) => Ok(v),
        (v, t) => Err(Error::Type(format!("cannot cast {v:?} to {}", t.sql_name()))),
    }
}

fn call(f: Function, ty: DataType, args: &[Expr], row: &[Value], params: &[Value]) -> Result<Value> {
    let mut values = Vec::with_capacity(args.len());
    for a in args {
        values.push(eval(a, row, params)?);
    }
    match f {
        Function::NullIf => {
            let [a, b] = &values[..] else {
                return Err(Error::Internal("nullif takes two arguments".into()));
            };
            Ok(if a.sql_eq(b) == Some(true) { Value::Null } else { a.clone() })
        }
        Function::Greatest | Function::Least => {
            // NULLs are ignored; the result is NULL only if all are NULL.
            let want = if f == Function::Greatest { Ordering::Greater } else { Ordering::Less };
            let mut best: Option<Value> = None;
            for v in values.into_iter().filter(|v| !v.is_null()) {
                best = match best {
                    Some(b) if v.sql_cmp(&b) != Some(want) => Some(b),
                    _ => Some(v),
                };
            }
            match best {
                Some(v) => coerce_for_column(v, ty),
                None => Ok(Value::Null),
            }
        }
        _ => {
            let Some(arg) = values.first() else {
                return Err(Error::Internal(format!("{f:?} takes one argument")));
            };
            match (f, arg) {
                (_, Value::Null) => Ok(Value::Null),
                (Function::Abs, Value::Int(i)) => check_int(i.checked_abs(), ty),
                (Function::Abs, Value::Float(x)) => Ok(Value::Float(x.abs())),
                (Function::Lower, Value::Text(s)) => Ok(Value::Text(ArcStr::from(s.to_lowercase()))),
                (Function::Upper, Value::Text(s)) => Ok(Value::Text(ArcStr::from(s.to_uppercase()))),
                (Function::Length, Value::Text(s)) => Ok(Value::Int(s.chars().count() as i64)),
                (Function::Length, Value::Bytes(b)) => Ok(Value::Int(b.len() as i64)),
                (f, v) => Err(Error::Internal(format!("{f:?} applied to {v:?}"))),
            }
        }
    }
}

/// SQL LIKE with `%` (any run) and `_` (one character) and `\` escaping
/// the next character, matched character by character.
pub fn like(text: &str, pattern: &str) -> Result<bool> {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Any,
        One,
        Lit(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        toks.push(match c {
            '%' => Tok::Any,
            '_' => Tok::One,
            '\\' => match chars.next() {
                Some(e) => Tok::Lit(e),
                None => return Err(Error::Data("LIKE pattern must not end with escape character".into())),
            },
            c => Tok::Lit(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // Greedy matching with one backtrack point per `%`: linear in practice.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Tok::One) => {
                t += 1;
                p += 1;
            }
            Some(Tok::Lit(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return Ok(false),
            },
        }
    }
    Ok(toks[p..].iter().all(|t| *t == Tok::Any))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(i: i64) -> Value {
        Value::Int(i)
    }

    #[test]
    fn integer_overflow_is_an_error_at_the_result_width() {
        assert!(arith(ArithOp::Add, DataType::Integer, &int(i32::MAX as i64), &int(1)).is_err());
        assert_eq!(
            arith(ArithOp::Add, DataType::BigInt, &int(i32::MAX as i64), &int(1)).unwrap(),
            int(i32::MAX as i64 + 1)
        );
        assert!(arith(ArithOp::Mul, DataType::BigInt, &int(i64::MAX), &int(2)).is_err());
        assert!(arith(ArithOp::Div, DataType::BigInt, &int(i64::MIN), &int(-1)).is_err());
    }

    #[test]
    fn integer_division_truncates_and_zero_divisor_errors() {
        assert_eq!(arith(ArithOp::Div, DataType::Integer, &int(-7), &int(2)).unwrap(), int(-3));
        assert_eq!(arith(ArithOp::Mod, DataType::Integer, &int(-7), &int(2)).unwrap(), int(-1));
        assert_eq!(
            arith(ArithOp::Div, DataType::Integer, &int(1), &int(0)),
            Err(Error::Data("division by zero".into()))
        );
    }

    #[test]
    fn three_valued_logic() {
        let null = || Box::new(Expr::Const(Value::Null));
        let f = || Box::new(Expr::Const(Value::Bool(false)));
        let t = || Box::new(Expr::Const(Value::Bool(true)));
        assert_eq!(eval(&Expr::And(null(), f()), &[], &[]).unwrap(), Value::Bool(false));
        assert!(eval(&Expr::And(null(), t()), &[], &[]).unwrap().is_null());
        assert_eq!(eval(&Expr::Or(null(), t()), &[], &[]).unwrap(), Value::Bool(true));
        assert!(eval(&Expr::Not(null()), &[], &[]).unwrap().is_null());
        let in_list = Expr::InList {
            expr: Box::new(Expr::Const(int(1))),
            list: vec![Expr::Const(int(2)), Expr::Const(Value::Null)],
            negated: false,
        };
        assert!(eval(&in_list, &[], &[]).unwrap().is_null());
    }

    #[test]
    fn like_patterns() {
        assert!(like("abc", "a%").unwrap());
        assert!(like("abc", "%c").unwrap());
        assert!(like("abc", "a_c").unwrap());
        assert!(!like("abc", "a_").unwrap());
        assert!(like("a%c", "a\\%c").unwrap());
        assert!(!like("abc", "a\\%c").unwrap());
        assert!(like("aaa", "%a%a%").unwrap());
        assert!(like("", "%").unwrap());
        assert!(!like("x", "").unwrap());
    }
}
