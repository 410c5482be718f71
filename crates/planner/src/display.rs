//! Bound expressions printed back as SQL, for EXPLAIN and messages.

use crate::expr::{ArithOp, Expr, Function};
use crate::value::Value;

/// Prints `e`; `column` names the column at a row position.
pub fn expr_sql(e: &Expr, column: &dyn Fn(usize) -> String) -> String {
    let p = |e: &Expr| expr_sql(e, column);
    match e {
        Expr::Column(c) => column(*c),
        Expr::Param(i) => format!("${}", i + 1),
        Expr::Const(v) => literal(v),
        Expr::Arith { op, left, right, .. } => {
            let sym = match op {
                ArithOp::Add => "+",
                ArithOp::Sub => "-",
                ArithOp::Mul => "*",
                ArithOp::Div => "/",
                ArithOp::Mod => "%",
            };
            format!("({} {sym} {})", p(left), p(right))
        }
        Expr::Negate { expr, .. } => format!("-{}", p(expr)),
        Expr::Compare { op, left, right } => format!("{} {} {}", p(left), op.symbol(), p(right)),
        Expr::And(l, r) => format!("({} AND {})", p(l), p(r)),
        Expr::Or(l, r) => format!("({} OR {})", p(l), p(r)),
        Expr::Not(e) => format!("NOT {}", p(e)),
        Expr::IsNull { expr, negated } => format!("{} IS {}NULL", p(expr), if *negated { "NOT " } else { "" }),
        Expr::IsBool { expr, value, negated } => {
            format!("{} IS {}{}", p(expr), if *negated { "NOT " } else { "" }, if *value { "TRUE" } else { "FALSE" })
        }
        Expr::IsDistinctFrom { left, right, negated } => {
            format!("{} IS {}DISTINCT FROM {}", p(left), if *negated { "NOT " } else { "" }, p(right))
        }
        Expr::Concat(l, r) => format!("{} || {}", p(l), p(r)),
        Expr::Case { whens, otherwise } => {
            let mut s = "CASE".to_string();
            for (w, t) in whens {
                s.push_str(&format!(" WHEN {} THEN {}", p(w), p(t)));
            }
            if let Some(o) = otherwise {
                s.push_str(&format!(" ELSE {}", p(o)));
            }
            s.push_str(" END");
            s
        }
        Expr::Coalesce(list) => format!("COALESCE({})", list.iter().map(p).collect::<Vec<_>>().join(", ")),
        Expr::Cast { expr, to } => format!("CAST({} AS {})", p(expr), to.short_name()),
        Expr::InList { expr, list, negated } => format!(
            "{} {}IN ({})",
            p(expr),
            if *negated { "NOT " } else { "" },
            list.iter().map(p).collect::<Vec<_>>().join(", ")
        ),
        Expr::Like { expr, pattern, negated, case_insensitive } => format!(
            "{} {}{} {}",
            p(expr),
            if *negated { "NOT " } else { "" },
            if *case_insensitive { "ILIKE" } else { "LIKE" },
            p(pattern)
        ),
        Expr::Call { function, args, .. } => {
            let name = match function {
                Function::Abs => "abs",
                Function::Lower => "lower",
                Function::Upper => "upper",
                Function::Length => "length",
                Function::NullIf => "nullif",
                Function::Greatest => "greatest",
                Function::Least => "least",
            };
            format!("{name}({})", args.iter().map(p).collect::<Vec<_>>().join(", "))
        }
    }
}

fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(true) => "TRUE".into(),
        Value::Bool(false) => "FALSE".into(),
        Value::Int(_) | Value::Float(_) => v.to_pg_text(),
        other => format!("'{}'", other.to_pg_text().replace('\'', "''")),
    }
}
