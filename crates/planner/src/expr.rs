//! Bound expressions: SQL expressions with names resolved to row positions
//! and parameters, and types checked. The executor evaluates them with
//! [`crate::eval`].

use crate::types::DataType;
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::NotEq => "<>",
            CmpOp::Lt => "<",
            CmpOp::LtEq => "<=",
            CmpOp::Gt => ">",
            CmpOp::GtEq => ">=",
        }
    }

    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::LtEq => CmpOp::GtEq,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::GtEq => CmpOp::LtEq,
            other => other,
        }
    }
}

/// Scalar functions aotdb evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Abs,
    Lower,
    Upper,
    Length,
    NullIf,
    Greatest,
    Least,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// A column of the input row, by position.
    Column(usize),
    /// A statement parameter, zero-based (`$1` is `Param(0)`).
    Param(usize),
    Const(Value),
    /// Arithmetic whose result has type `ty` (which decides overflow).
    Arith {
        op: ArithOp,
        ty: DataType,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Negate {
        ty: DataType,
        expr: Box<Expr>,
    },
    Compare {
        op: CmpOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// `IS [NOT] TRUE` / `IS [NOT] FALSE`: never NULL.
    IsBool {
        expr: Box<Expr>,
        value: bool,
        negated: bool,
    },
    /// `IS [NOT] DISTINCT FROM`: NULL-safe equality.
    IsDistinctFrom {
        left: Box<Expr>,
        right: Box<Expr>,
        negated: bool,
    },
    /// `||`: NULL if either side is NULL; non-text sides print as text.
    Concat(Box<Expr>, Box<Expr>),
    /// Searched CASE (a simple CASE is bound into this form).
    Case {
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    Coalesce(Vec<Expr>),
    Cast {
        expr: Box<Expr>,
        to: DataType,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
        case_insensitive: bool,
    },
    Call {
        function: Function,
        ty: DataType,
        args: Vec<Expr>,
    },
}

impl Expr {
    pub fn constant(&self) -> Option<&Value> {
        match self {
            Expr::Const(v) => Some(v),
            _ => None,
        }
    }

    /// Calls `f` on this expression and every sub-expression.
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Column(_) | Expr::Param(_) | Expr::Const(_) => {}
            Expr::Arith { left, right, .. }
            | Expr::Compare { left, right, .. }
            | Expr::IsDistinctFrom { left, right, .. }
            | Expr::And(left, right)
            | Expr::Or(left, right)
            | Expr::Concat(left, right) => {
                left.walk(f);
                right.walk(f);
            }
            Expr::Negate { expr, .. }
            | Expr::Not(expr)
            | Expr::IsNull { expr, .. }
            | Expr::IsBool { expr, .. }
            | Expr::Cast { expr, .. } => expr.walk(f),
            Expr::Case { whens, otherwise } => {
                for (w, t) in whens {
                    w.walk(f);
                    t.walk(f);
                }
                if let Some(o) = otherwise {
                    o.walk(f);
                }
            }
            Expr::Coalesce(list) | Expr::Call { args: list, .. } => list.iter().for_each(|e| e.walk(f)),
            Expr::InList { expr, list, .. } => {
                expr.walk(f);
                list.iter().for_each(|e| e.walk(f));
            }
            Expr::Like { expr, pattern, .. } => {
                expr.walk(f);
                pattern.walk(f);
            }
        }
    }

    /// Every column position the expression reads.
    pub fn columns(&self) -> Vec<usize> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Column(c) = e {
                if !out.contains(c) {
                    out.push(*c);
                }
            }
        });
        out
    }

    /// The same expression with every column position mapped by `f`.
    pub fn map_columns(&self, f: &impl Fn(usize) -> usize) -> Expr {
        let m = |e: &Expr| Box::new(e.map_columns(f));
        match self {
            Expr::Column(c) => Expr::Column(f(*c)),
            Expr::Param(_) | Expr::Const(_) => self.clone(),
            Expr::Arith { op, ty, left, right } => Expr::Arith { op: *op, ty: *ty, left: m(left), right: m(right) },
            Expr::Negate { ty, expr } => Expr::Negate { ty: *ty, expr: m(expr) },
            Expr::Compare { op, left, right } => Expr::Compare { op: *op, left: m(left), right: m(right) },
            Expr::And(l, r) => Expr::And(m(l), m(r)),
            Expr::Or(l, r) => Expr::Or(m(l), m(r)),
            Expr::Not(e) => Expr::Not(m(e)),
            Expr::IsNull { expr, negated } => Expr::IsNull { expr: m(expr), negated: *negated },
            Expr::IsBool { expr, value, negated } => Expr::IsBool { expr: m(expr), value: *value, negated: *negated },
            Expr::IsDistinctFrom { left, right, negated } => {
                Expr::IsDistinctFrom { left: m(left), right: m(right), negated: *negated }
            }
            Expr::Concat(l, r) => Expr::Concat(m(l), m(r)),
            Expr::Case { whens, otherwise } => Expr::Case {
                whens: whens.iter().map(|(w, t)| (w.map_columns(f), t.map_columns(f))).collect(),
                otherwise: otherwise.as_ref().map(|o| m(o)),
            },
            Expr::Coalesce(list) => Expr::Coalesce(list.iter().map(|e| e.map_columns(f)).collect()),
            Expr::Cast { expr, to } => Expr::Cast { expr: m(expr), to: *to },
            Expr::InList { expr, list, negated } => {
                Expr::InList { expr: m(expr), list: list.iter().map(|e| e.map_columns(f)).collect(), negated: *negated }
            }
            Expr::Like { expr, pattern, negated, case_insensitive } => Expr::Like {
                expr: m(expr),
                pattern: m(pattern),
                negated: *negated,
                case_insensitive: *case_insensitive,
            },
            Expr::Call { function, ty, args } => {
                Expr::Call { function: *function, ty: *ty, args: args.iter().map(|e| e.map_columns(f)).collect() }
            }
        }
    }

    /// Replaces every sub-expression equal to one of `targets` with
    /// `Column(base + index in targets)`; used to rewrite expressions over a
    /// grouped row.
    pub fn replace_subexpressions(&self, targets: &[Expr], base: usize) -> Expr {
        if let Some(i) = targets.iter().position(|t| t == self) {
            return Expr::Column(base + i);
        }
        let m = |e: &Expr| Box::new(e.replace_subexpressions(targets, base));
        match self {
            Expr::Column(_) | Expr::Param(_) | Expr::Const(_) => self.clone(),
            Expr::Arith { op, ty, left, right } => Expr::Arith { op: *op, ty: *ty, left: m(left), right: m(right) },
            Expr::Negate { ty, expr } => Expr::Negate { ty: *ty, expr: m(expr) },
            Expr::Compare { op, left, right } => Expr::Compare { op: *op, left: m(left), right: m(right) },
            Expr::And(l, r) => Expr::And(m(l), m(r)),
            Expr::Or(l, r) => Expr::Or(m(l), m(r)),
            Expr::Not(e) => Expr::Not(m(e)),
            Expr::IsNull { expr, negated } => Expr::IsNull { expr: m(expr), negated: *negated },
            Expr::IsBool { expr, value, negated } => Expr::IsBool { expr: m(expr), value: *value, negated: *negated },
            Expr::IsDistinctFrom { left, right, negated } => {
                Expr::IsDistinctFrom { left: m(left), right: m(right), negated: *negated }
            }
            Expr::Concat(l, r) => Expr::Concat(m(l), m(r)),
            Expr::Case { whens, otherwise } => Expr::Case {
                whens: whens
                    .iter()
                    .map(|(w, t)| (w.replace_subexpressions(targets, base), t.replace_subexpressions(targets, base)))
                    .collect(),
                otherwise: otherwise.as_ref().map(|o| m(o)),
            },
            Expr::Coalesce(list) => {
                Expr::Coalesce(list.iter().map(|e| e.replace_subexpressions(targets, base)).collect())
            }
            Expr::Cast { expr, to } => Expr::Cast { expr: m(expr), to: *to },
            Expr::InList { expr, list, negated } => Expr::InList {
                expr: m(expr),
                list: list.iter().map(|e| e.replace_subexpressions(targets, base)).collect(),
                negated: *negated,
            },
            Expr::Like { expr, pattern, negated, case_insensitive } => Expr::Like {
                expr: m(expr),
                pattern: m(pattern),
                negated: *negated,
                case_insensitive: *case_insensitive,
            },
            Expr::Call { function, ty, args } => Expr::Call {
                function: *function,
                ty: *ty,
                args: args.iter().map(|e| e.replace_subexpressions(targets, base)).collect(),
            },
        }
    }

    /// Whether the expression reads any column of the input row.
    pub fn reads_columns(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Column(_)));
        found
    }

    /// Whether the expression depends on statement parameters.
    pub fn reads_params(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Param(_)));
        found
    }

    /// Splits a conjunction into its parts (`a AND (b AND c)` → a, b, c).
    pub fn conjuncts(self) -> Vec<Expr> {
        let mut out = Vec::new();
        fn go(e: Expr, out: &mut Vec<Expr>) {
            match e {
                Expr::And(l, r) => {
                    go(*l, out);
                    go(*r, out);
                }
                other => out.push(other),
            }
        }
        go(self, &mut out);
        out
    }

    /// Joins parts back into one conjunction (`None` for no parts).
    pub fn and_all(parts: Vec<Expr>) -> Option<Expr> {
        parts.into_iter().reduce(|acc, e| Expr::And(Box::new(acc), Box::new(e)))
    }
}
