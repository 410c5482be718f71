//! Binding scalar expressions: names to row positions, literals and
//! parameters to values and types, operators to typed operations.

use sqlparser::ast;

use super::params::Params;
use super::scope::Scope;
use super::sql_type::convert_type;
use crate::error::{Error, Result};
use crate::eval;
use crate::expr::{ArithOp, CmpOp, Expr, Function};
use crate::structure::{AggFunc, AggSpec};
use crate::types::DataType;
use crate::value::{parse_value, Value};

/// A bound expression and its type; `None` is the type of a bare NULL.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    pub expr: Expr,
    pub ty: Option<DataType>,
}

impl Bound {
    fn new(expr: Expr, ty: DataType) -> Bound {
        Bound { expr, ty: Some(ty) }
    }
}

pub(crate) struct ExprBinder<'a> {
    pub scope: &'a Scope,
    pub params: &'a mut Params,
    /// Where aggregates may appear (select list, HAVING, ORDER BY of a
    /// grouped query), the aggregates found so far; each is bound as
    /// `Column(AGGREGATE_MARK + index)`.
    pub aggregates: Option<Vec<AggSpec>>,
}

/// Column positions at or above this stand for the i-th aggregate while a
/// grouped query is bound.
pub(crate) const AGGREGATE_MARK: usize = 1 << 40;
/// Column positions at or above this (and below AGGREGATE_MARK) stand for
/// the i-th GROUP BY expression.
pub(crate) const GROUP_MARK: usize = 1 << 39;

/// Aggregate function names: refused where they cannot appear.
pub(crate) fn is_aggregate_name(name: &str) -> bool {
    matches!(name, "count" | "sum" | "avg" | "min" | "max")
}

impl ExprBinder<'_> {
    /// Binds a predicate (WHERE, HAVING, CHECK): it must be boolean.
    pub(crate) fn bind_predicate(&mut self, e: &ast::Expr, clause: &str) -> Result<Expr> {
        let b = self.bind(e, Some(DataType::Boolean))?;
        match b.ty {
            Some(DataType::Boolean) | None => Ok(b.expr),
            Some(other) => {
                Err(Error::Type(format!("argument of {clause} must be type boolean, not type {}", other.sql_name())))
            }
        }
    }

    /// Binds an expression whose value will be stored in a column of type
    /// `ty` (INSERT values, SET clauses).
    pub(crate) fn bind_for_column(&mut self, e: &ast::Expr, ty: DataType, column: &str) -> Result<Expr> {
        let b = self.bind(e, Some(ty))?;
        match b.ty {
            None => Ok(b.expr),
            Some(from) if ty.assignable_from(from) => Ok(b.expr),
            Some(from) => Err(Error::Type(format!(
                "column \"{column}\" is of type {} but expression is of type {}",
                ty.sql_name(),
                from.sql_name()
            ))),
        }
    }

    /// Binds `e`; `hint` is the type the context expects, which untyped
    /// literals and parameters take on.
    pub(crate) fn bind(&mut self, e: &ast::Expr, hint: Option<DataType>) -> Result<Bound> {
        use ast::Expr as A;
        match e {
            A::Identifier(ident) => self.column(std::slice::from_ref(ident)),
            A::CompoundIdentifier(path) => self.column(path),
            A::Value(v) => self.literal(&v.value, hint),
            A::Nested(inner) => self.bind(inner, hint),
            A::BinaryOp { left, op, right } => self.binary(left, op, right),
            A::UnaryOp { op, expr } => self.unary(*op, expr, hint),
            A::IsNull(inner) => self.is_null(inner, false),
            A::IsNotNull(inner) => self.is_null(inner, true),
            A::IsTrue(inner) => self.is_bool(inner, true, false),
            A::IsNotTrue(inner) => self.is_bool(inner, true, true),
            A::IsFalse(inner) => self.is_bool(inner, false, false),
            A::IsNotFalse(inner) => self.is_bool(inner, false, true),
            A::IsUnknown(inner) => self.is_null(inner, false),
            A::IsNotUnknown(inner) => self.is_null(inner, true),
            A::IsDistinctFrom(l, r) => self.distinct_from(l, r, false),
            A::IsNotDistinctFrom(l, r) => self.distinct_from(l, r, true),
            A::Between { expr, negated, low, high } => self.between(expr, *negated, low, high),
            A::In { expr, target, negated, .. } => match target {
                ast::InTarget::List(list) => self.in_list(expr, list, *negated),
                _ => Err(Error::Unsupported("subqueries are not supported (IN with a subquery)".into())),
            },
            A::Like { negated, any, expr, pattern, escape_char } => {
                self.like(*negated, *any, expr, pattern, escape_char.is_some(), false)
            }
            A::ILike { negated, any, expr, pattern, escape_char } => {
                self.like(*negated, *any, expr, pattern, escape_char.is_some(), true)
            }
            A::Case { operand, conditions, else_result, .. } => {
                self.case(operand.as_deref(), conditions, else_result.as_deref(), hint)
            }
            A::Cast { expr, data_type, format: None, .. } => {
                let to = convert_type(data_type)?;
                self.cast(expr, to)
            }
            A::TypedString(ts) => {
                let to = convert_type(&ts.data_type)?;
                let text = string_literal(&ts.value.value)
                    .ok_or_else(|| Error::Syntax(format!("expected a string after type name {}", ts.data_type)))?;
                let v = parse_value(text.as_bytes(), to).map_err(|_| invalid_input(to, text))?;
                Ok(Bound::new(Expr::Const(v), to))
            }
            A::Function(f) => self.function(f, hint),
            A::Subquery(_) | A::Exists { .. } => Err(Error::Unsupported("subqueries are not supported".into())),
            other => Err(Error::Unsupported(format!("expression {other} is not supported"))),
        }
    }

    fn column(&mut self, path: &[ast::Ident]) -> Result<Bound> {
        let c = self.scope.resolve_ident_path(path)?;
        Ok(Bound::new(Expr::Column(c.position), c.ty))
    }

    fn literal(&mut self, v: &ast::Value, hint: Option<DataType>) -> Result<Bound> {
        if let Some(text) = string_literal(v) {
            // A quoted literal has no type of its own in PostgreSQL: it is
            // read as whatever the context needs.
            return match hint {
                Some(ty) if !ty.is_text() => {
                    let v = parse_value(text.as_bytes(), ty).map_err(|_| invalid_input(ty, text))?;
                    Ok(Bound::new(Expr::Const(v), ty))
                }
                _ => Ok(Bound::new(Expr::Const(Value::text(text)), DataType::Text)),
            };
        }
        match v {
            ast::Value::Number(text, _) => number_literal(text, hint),
            ast::Value::Boolean(b) => Ok(Bound::new(Expr::Const(Value::Bool(*b)), DataType::Boolean)),
            ast::Value::Null => Ok(Bound { expr: Expr::Const(Value::Null), ty: hint }),
            ast::Value::Placeholder(p) => {
                let index = Params::parse_placeholder(p)?;
                let ty = self.params.type_of(index, hint)?;
                Ok(Bound { expr: Expr::Param(index), ty })
            }
            other => Err(Error::Unsupported(format!("literal {other} is not supported"))),
        }
    }

    /// Whether `e` has no type of its own and should take one from the
    /// other side of an operator.
    pub(crate) fn is_untyped(&self, e: &ast::Expr) -> bool {
        match e {
            ast::Expr::Nested(inner) => self.is_untyped(inner),
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Null => true,
                ast::Value::Placeholder(p) => Params::parse_placeholder(p).is_ok_and(|i| self.params.is_untyped(i)),
                other => string_literal(other).is_some(),
            },
            _ => false,
        }
    }

    /// Binds two operands so that an untyped one takes the other's type.
    fn bind_pair(&mut self, l: &ast::Expr, r: &ast::Expr) -> Result<(Bound, Bound)> {
        if self.is_untyped(l) && !self.is_untyped(r) {
            let rb = self.bind(r, None)?;
            let lb = self.bind(l, rb.ty)?;
            Ok((lb, rb))
        } else {
            let lb = self.bind(l, None)?;
            let rb = self.bind(r, lb.ty)?;
            Ok((lb, rb))
        }
    }

    fn binary(&mut self, l: &ast::Expr, op: &ast::BinaryOperator, r: &ast::Expr) -> Result<Bound> {
        use ast::BinaryOperator as B;
        let arith = match op {
            B::Plus => Some(ArithOp::Add),
            B::Minus => Some(ArithOp::Sub),
            B::Multiply => Some(ArithOp::Mul),
            B::Divide => Some(ArithOp::Div),
            B::Modulo => Some(ArithOp::Mod),
            _ => None,
        };
        if let Some(aop) = arith {
            let (lb, rb) = self.bind_pair(l, r)?;
            let ty = match (lb.ty, rb.ty) {
                (Some(a), Some(b)) => DataType::promote_numeric(a, b),
                (Some(a), None) | (None, Some(a)) if a.is_numeric() => Some(a),
                _ => None,
            };
            let Some(ty) = ty else {
                return Err(operator_error(op, lb.ty, rb.ty));
            };
            return Ok(fold(Bound::new(
                Expr::Arith { op: aop, ty, left: Box::new(lb.expr), right: Box::new(rb.expr) },
                ty,
            )));
        }
        let cmp = match op {
            B::Eq => Some(CmpOp::Eq),
            B::NotEq => Some(CmpOp::NotEq),
            B::Lt => Some(CmpOp::Lt),
            B::LtEq => Some(CmpOp::LtEq),
            B::Gt => Some(CmpOp::Gt),
            B::GtEq => Some(CmpOp::GtEq),
            _ => None,
        };
        if let Some(cop) = cmp {
            let (lb, rb) = self.bind_pair(l, r)?;
            if let (Some(a), Some(b)) = (lb.ty, rb.ty) {
                if !DataType::comparable(a, b) {
                    return Err(operator_error(op, lb.ty, rb.ty));
                }
            }
            return Ok(fold(Bound::new(
                Expr::Compare { op: cop, left: Box::new(lb.expr), right: Box::new(rb.expr) },
                DataType::Boolean,
            )));
        }
        match op {
            B::And | B::Or => {
                let lb = self.bind_boolean(l, op)?;
                let rb = self.bind_boolean(r, op)?;
                let expr = if *op == B::And {
                    Expr::And(Box::new(lb), Box::new(rb))
                } else {
                    Expr::Or(Box::new(lb), Box::new(rb))
                };
                Ok(fold(Bound::new(expr, DataType::Boolean)))
            }
            B::StringConcat => {
                let (lb, rb) = self.bind_pair(l, r)?;
                let text_side = lb.ty.is_none_or(|t| t.is_text()) || rb.ty.is_none_or(|t| t.is_text());
                if !text_side {
                    return Err(operator_error(op, lb.ty, rb.ty));
                }
                Ok(fold(Bound::new(Expr::Concat(Box::new(lb.expr), Box::new(rb.expr)), DataType::Text)))
            }
            other => Err(Error::Unsupported(format!("operator {other} is not supported"))),
        }
    }

    fn bind_boolean(&mut self, e: &ast::Expr, op: &ast::BinaryOperator) -> Result<Expr> {
        let b = self.bind(e, Some(DataType::Boolean))?;
        match b.ty {
            Some(DataType::Boolean) | None => Ok(b.expr),
            Some(other) => {
                Err(Error::Type(format!("argument of {op} must be type boolean, not type {}", other.sql_name())))
            }
        }
    }

    fn unary(&mut self, op: ast::UnaryOperator, e: &ast::Expr, hint: Option<DataType>) -> Result<Bound> {
        match op {
            ast::UnaryOperator::Not => {
                let b = self
                    .bind_boolean(e, &ast::BinaryOperator::And)
                    .map_err(|_| Error::Type("argument of NOT must be type boolean".into()))?;
                Ok(fold(Bound::new(Expr::Not(Box::new(b)), DataType::Boolean)))
            }
            ast::UnaryOperator::Minus => {
                // Fold `-9223372036854775808` before the positive literal
                // would overflow.
                if let ast::Expr::Value(v) = e {
                    if let ast::Value::Number(text, _) = &v.value {
                        return number_literal(&format!("-{text}"), hint);
                    }
                }
                let b = self.bind(e, hint)?;
                match b.ty {
                    Some(ty) if ty.is_numeric() => {
                        Ok(fold(Bound::new(Expr::Negate { ty, expr: Box::new(b.expr) }, ty)))
                    }
                    other => Err(Error::Type(format!(
                        "operator does not exist: - {}",
                        other.map(|t| t.sql_name()).unwrap_or_else(|| "unknown".into())
                    ))),
                }
            }
            ast::UnaryOperator::Plus => {
                let b = self.bind(e, hint)?;
                match b.ty {
                    Some(ty) if ty.is_numeric() => Ok(b),
                    _ => Err(Error::Type("unary + needs a number".into())),
                }
            }
            other => Err(Error::Unsupported(format!("operator {other} is not supported"))),
        }
    }

    fn is_null(&mut self, e: &ast::Expr, negated: bool) -> Result<Bound> {
        let b = self.bind(e, None)?;
        Ok(fold(Bound::new(Expr::IsNull { expr: Box::new(b.expr), negated }, DataType::Boolean)))
    }

    fn is_bool(&mut self, e: &ast::Expr, value: bool, negated: bool) -> Result<Bound> {
        let b = self.bind(e, Some(DataType::Boolean))?;
        if b.ty.is_some_and(|t| t != DataType::Boolean) {
            return Err(Error::Type("argument of IS TRUE/FALSE must be type boolean".into()));
        }
        Ok(fold(Bound::new(Expr::IsBool { expr: Box::new(b.expr), value, negated }, DataType::Boolean)))
    }

    fn distinct_from(&mut self, l: &ast::Expr, r: &ast::Expr, negated: bool) -> Result<Bound> {
        let (lb, rb) = self.bind_pair(l, r)?;
        if let (Some(a), Some(b)) = (lb.ty, rb.ty) {
            if !DataType::comparable(a, b) {
                return Err(Error::Type(format!("cannot compare {} with {}", a.sql_name(), b.sql_name())));
            }
        }
        Ok(fold(Bound::new(
            Expr::IsDistinctFrom { left: Box::new(lb.expr), right: Box::new(rb.expr), negated },
            DataType::Boolean,
        )))
    }

    fn between(&mut self, e: &ast::Expr, negated: bool, low: &ast::Expr, high: &ast::Expr) -> Result<Bound> {
        let (vb, lb) = self.bind_pair(e, low)?;
        let hb = self.bind(high, vb.ty.or(lb.ty))?;
        for other in [lb.ty, hb.ty] {
            if let (Some(a), Some(b)) = (vb.ty, other) {
                if !DataType::comparable(a, b) {
                    return Err(Error::Type(format!("BETWEEN cannot compare {} with {}", a.sql_name(), b.sql_name())));
                }
            }
        }
        let v = Box::new(vb.expr);
        let (lo_op, hi_op) = if negated { (CmpOp::Lt, CmpOp::Gt) } else { (CmpOp::GtEq, CmpOp::LtEq) };
        let lo = Expr::Compare { op: lo_op, left: v.clone(), right: Box::new(lb.expr) };
        let hi = Expr::Compare { op: hi_op, left: v, right: Box::new(hb.expr) };
        let expr = if negated { Expr::Or(Box::new(lo), Box::new(hi)) } else { Expr::And(Box::new(lo), Box::new(hi)) };
        Ok(fold(Bound::new(expr, DataType::Boolean)))
    }

    fn in_list(&mut self, e: &ast::Expr, list: &[ast::Expr], negated: bool) -> Result<Bound> {
        let mut all: Vec<&ast::Expr> = vec![e];
        all.extend(list.iter());
        let (mut bound, _) = self.bind_unified(&all, None, "IN")?;
        let value = bound.remove(0);
        Ok(fold(Bound::new(Expr::InList { expr: Box::new(value), list: bound, negated }, DataType::Boolean)))
    }

    fn like(
        &mut self,
        negated: bool,
        any: bool,
        e: &ast::Expr,
        pattern: &ast::Expr,
        has_escape: bool,
        case_insensitive: bool,
    ) -> Result<Bound> {
        if any || has_escape {
            return Err(Error::Unsupported("LIKE ANY and LIKE ... ESCAPE are not supported".into()));
        }
        let vb = self.bind(e, Some(DataType::Text))?;
        let pb = self.bind(pattern, Some(DataType::Text))?;
        if vb.ty.is_some_and(|t| !t.is_text()) || pb.ty.is_some_and(|t| !t.is_text()) {
            return Err(Error::Type("LIKE needs text operands".into()));
        }
        Ok(fold(Bound::new(
            Expr::Like { expr: Box::new(vb.expr), pattern: Box::new(pb.expr), negated, case_insensitive },
            DataType::Boolean,
        )))
    }

    fn case(
        &mut self,
        operand: Option<&ast::Expr>,
        conditions: &[ast::CaseWhen],
        else_result: Option<&ast::Expr>,
        hint: Option<DataType>,
    ) -> Result<Bound> {
        let mut whens = Vec::with_capacity(conditions.len());
        for w in conditions {
            let cond = match operand {
                Some(op) => {
                    let (ob, wb) = self.bind_pair(op, &w.condition)?;
                    if let (Some(a), Some(b)) = (ob.ty, wb.ty) {
                        if !DataType::comparable(a, b) {
                            return Err(Error::Type(format!(
                                "CASE cannot compare {} with {}",
                                a.sql_name(),
                                b.sql_name()
                            )));
                        }
                    }
                    Expr::Compare { op: CmpOp::Eq, left: Box::new(ob.expr), right: Box::new(wb.expr) }
                }
                None => self.bind_predicate(&w.condition, "CASE/WHEN")?,
            };
            whens.push(cond);
        }
        let mut results: Vec<&ast::Expr> = conditions.iter().map(|w| &w.result).collect();
        if let Some(e) = else_result {
            results.push(e);
        }
        let (mut bound, ty) = self.bind_unified(&results, hint, "CASE")?;
        let otherwise = else_result.map(|_| Box::new(bound.pop().expect("else bound")));
        let whens = whens.into_iter().zip(bound).collect();
        Ok(fold(Bound { expr: Expr::Case { whens, otherwise }, ty }))
    }

    fn cast(&mut self, e: &ast::Expr, to: DataType) -> Result<Bound> {
        let b = self.bind(e, Some(to))?;
        match b.ty {
            None => Ok(Bound::new(Expr::Const(Value::Null), to)),
            Some(from) if from == to => Ok(Bound::new(b.expr, to)),
            Some(from) => {
                let allowed = from.is_text()
                    || to.is_text()
                    || (from.is_numeric() && to.is_numeric())
                    || (from.is_integer() && to == DataType::Boolean)
                    || (from == DataType::Boolean && to.is_integer());
                if !allowed {
                    return Err(Error::Type(format!("cannot cast type {} to {}", from.sql_name(), to.sql_name())));
                }
                Ok(fold(Bound::new(Expr::Cast { expr: Box::new(b.expr), to }, to)))
            }
        }
    }

    fn function(&mut self, f: &ast::Function, hint: Option<DataType>) -> Result<Bound> {
        let name = super::object_name(&f.name)?;
        if is_aggregate_name(&name) {
            return self.aggregate(&name, f);
        }
        if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
            return Err(Error::Unsupported(format!("{name}() with OVER/FILTER/WITHIN GROUP is not supported")));
        }
        let args = function_args(f)?;
        let arity = |n: usize| -> Result<()> {
            if args.len() != n {
                return Err(Error::Type(format!("function {name}() takes {n} argument(s), got {}", args.len())));
            }
            Ok(())
        };
        match name.as_str() {
            "coalesce" => {
                if args.is_empty() {
                    return Err(Error::Syntax("COALESCE needs at least one argument".into()));
                }
                let (bound, ty) = self.bind_unified(&args, hint, "COALESCE")?;
                Ok(fold(Bound { expr: Expr::Coalesce(bound), ty }))
            }
            "nullif" => {
                arity(2)?;
                let (bound, ty) = self.bind_unified(&args, hint, "NULLIF")?;
                let ty = ty.unwrap_or(DataType::Text);
                Ok(fold(Bound::new(Expr::Call { function: Function::NullIf, ty, args: bound }, ty)))
            }
            "greatest" | "least" => {
                let (bound, ty) = self.bind_unified(&args, hint, &name.to_uppercase())?;
                let ty = ty.unwrap_or(DataType::Text);
                let function = if name == "greatest" { Function::Greatest } else { Function::Least };
                Ok(fold(Bound::new(Expr::Call { function, ty, args: bound }, ty)))
            }
            "abs" => {
                arity(1)?;
                let b = self.bind(args[0], hint)?;
                match b.ty {
                    Some(ty) if ty.is_numeric() => {
                        Ok(fold(Bound::new(Expr::Call { function: Function::Abs, ty, args: vec![b.expr] }, ty)))
                    }
                    _ => Err(Error::Type("abs() needs a number".into())),
                }
            }
            "lower" | "upper" | "length" | "char_length" | "character_length" => {
                arity(1)?;
                let b = self.bind(args[0], Some(DataType::Text))?;
                let ok = b.ty.is_none_or(|t| t.is_text() || (name.ends_with("length") && t == DataType::Bytea));
                if !ok {
                    return Err(Error::Type(format!("{name}() needs text")));
                }
                let (function, ty) = match name.as_str() {
                    "lower" => (Function::Lower, DataType::Text),
                    "upper" => (Function::Upper, DataType::Text),
                    _ => (Function::Length, DataType::Integer),
                };
                Ok(fold(Bound::new(Expr::Call { function, ty, args: vec![b.expr] }, ty)))
            }
            "now" | "current_timestamp" | "random" | "clock_timestamp" => Err(Error::Unsupported(format!(
                "{name}() is not allowed: statements must be deterministic so the log replays exactly; pass the value as a parameter"
            ))),
            _ => Err(Error::Unsupported(format!("function {name}() is not supported"))),
        }
    }

    fn aggregate(&mut self, name: &str, f: &ast::Function) -> Result<Bound> {
        let Some(mut collected) = self.aggregates.take() else {
            return Err(Error::Syntax(format!("aggregate function {name}() is not allowed here")));
        };
        let result = self.aggregate_spec(name, f);
        let spec = match result {
            Ok(spec) => spec,
            Err(e) => {
                self.aggregates = Some(collected);
                return Err(e);
            }
        };
        let ty = spec.ty;
        let index = match collected.iter().position(|s| *s == spec) {
            Some(i) => i,
            None => {
                collected.push(spec);
                collected.len() - 1
            }
        };
        self.aggregates = Some(collected);
        Ok(Bound::new(Expr::Column(AGGREGATE_MARK + index), ty))
    }

    /// Binds an aggregate call's argument (aggregates cannot nest: the
    /// collector is out of `self` while this runs).
    fn aggregate_spec(&mut self, name: &str, f: &ast::Function) -> Result<AggSpec> {
        if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
            return Err(Error::Unsupported(format!("{name}() with OVER/FILTER/WITHIN GROUP is not supported")));
        }
        let (distinct, args) = match &f.args {
            ast::FunctionArguments::List(list) => {
                if !list.clauses.is_empty() {
                    return Err(Error::Unsupported(format!("{name}(... ORDER BY ...) is not supported")));
                }
                let distinct = matches!(list.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct));
                (distinct, &list.args)
            }
            _ => return Err(Error::Syntax(format!("{name}() needs arguments"))),
        };
        if name == "count" {
            if let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)] = args.as_slice() {
                if distinct {
                    return Err(Error::Syntax("COUNT(DISTINCT *) is not valid".into()));
                }
                return Ok(AggSpec { func: AggFunc::CountStar, arg: None, arg_ty: None, ty: DataType::BigInt });
            }
        }
        let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arg))] = args.as_slice() else {
            return Err(Error::Syntax(format!("{name}() takes exactly one argument")));
        };
        let b = self.bind(arg, None)?;
        let arg_ty = b.ty.unwrap_or(DataType::Text);
        let (func, ty) = match (name, distinct) {
            ("count", false) => (AggFunc::Count, DataType::BigInt),
            ("count", true) => (AggFunc::CountDistinct, DataType::BigInt),
            (_, true) => {
                return Err(Error::Unsupported(format!(
                    "{name}(DISTINCT ...) is not supported; only COUNT(DISTINCT ...)"
                )))
            }
            ("sum", _) => {
                let ty = match arg_ty {
                    t if t.is_integer() => DataType::BigInt,
                    DataType::Real => DataType::Real,
                    DataType::Double => DataType::Double,
                    other => return Err(Error::Type(format!("function sum({}) does not exist", other.sql_name()))),
                };
                (AggFunc::Sum, ty)
            }
            ("avg", _) => {
                if !arg_ty.is_numeric() {
                    return Err(Error::Type(format!("function avg({}) does not exist", arg_ty.sql_name())));
                }
                (AggFunc::Avg, DataType::Double)
            }
            ("min", _) => (AggFunc::Min, arg_ty),
            ("max", _) => (AggFunc::Max, arg_ty),
            _ => return Err(Error::Unsupported(format!("aggregate {name}() is not supported"))),
        };
        if matches!(func, AggFunc::Min | AggFunc::Max) && arg_ty == DataType::Bytea {
            return Err(Error::Unsupported(format!("{name}(bytea) is not supported")));
        }
        Ok(AggSpec { func, arg: Some(b.expr), arg_ty: Some(arg_ty), ty })
    }

    /// Binds expressions that must share one type (CASE results, COALESCE
    /// and IN items): typed ones first, then untyped ones with the common
    /// type as their hint; numeric items are cast to the common type.
    pub(crate) fn bind_unified(
        &mut self,
        exprs: &[&ast::Expr],
        hint: Option<DataType>,
        what: &str,
    ) -> Result<(Vec<Expr>, Option<DataType>)> {
        let mut slots: Vec<Option<Bound>> = vec![None; exprs.len()];
        let mut common: Option<DataType> = None;
        for (i, e) in exprs.iter().enumerate() {
            if self.is_untyped(e) {
                continue;
            }
            let b = self.bind(e, None)?;
            if let Some(t) = b.ty {
                common = Some(match common {
                    None => t,
                    Some(c) => DataType::unify(c, t).ok_or_else(|| {
                        Error::Type(format!("{what} types {} and {} cannot be matched", c.sql_name(), t.sql_name()))
                    })?,
                });
            }
            slots[i] = Some(b);
        }
        let target = common.or(hint);
        let mut out = Vec::with_capacity(exprs.len());
        let mut any_typed = false;
        for (i, e) in exprs.iter().enumerate() {
            let b = match slots[i].take() {
                Some(b) => b,
                None => self.bind(e, target.or(Some(DataType::Text)))?,
            };
            any_typed |= b.ty.is_some();
            out.push(match (b.ty, target) {
                (Some(from), Some(to)) if from != to && to.is_float() && from.is_numeric() => {
                    Expr::Cast { expr: Box::new(b.expr), to }
                }
                _ => b.expr,
            });
        }
        // All NULLs with no hint: the result has no type either.
        let ty = target.or(any_typed.then_some(DataType::Text));
        Ok((out, ty))
    }
}

/// The text of a quoted string literal in any of PostgreSQL's spellings.
fn string_literal(v: &ast::Value) -> Option<&str> {
    match v {
        ast::Value::SingleQuotedString(s)
        | ast::Value::EscapedStringLiteral(s)
        | ast::Value::UnicodeStringLiteral(s) => Some(s),
        ast::Value::DollarQuotedString(d) => Some(&d.value),
        _ => None,
    }
}

fn number_literal(text: &str, hint: Option<DataType>) -> Result<Bound> {
    let is_integral = !text.contains(['.', 'e', 'E']);
    if is_integral {
        if let Ok(i) = text.parse::<i64>() {
            if hint.is_some_and(|h| h.is_float()) {
                let ty = hint.unwrap_or(DataType::Double);
                return Ok(Bound::new(Expr::Const(Value::Float(i as f64)), ty));
            }
            let ty = if i32::try_from(i).is_ok() { DataType::Integer } else { DataType::BigInt };
            return Ok(Bound::new(Expr::Const(Value::Int(i)), ty));
        }
    }
    // PostgreSQL reads these as NUMERIC; aotdb has no NUMERIC yet, so they
    // are double precision.
    let x: f64 = text.parse().map_err(|_| Error::Syntax(format!("invalid number literal {text}")))?;
    let ty = match hint {
        Some(DataType::Real) => DataType::Real,
        _ => DataType::Double,
    };
    Ok(Bound::new(Expr::Const(Value::Float(x)), ty))
}

fn function_args(f: &ast::Function) -> Result<Vec<&ast::Expr>> {
    match &f.args {
        ast::FunctionArguments::None => Ok(Vec::new()),
        ast::FunctionArguments::List(list) => {
            if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
                return Err(Error::Unsupported(format!(
                    "{}(...) with DISTINCT/ORDER BY is not supported here",
                    f.name
                )));
            }
            list.args
                .iter()
                .map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e),
                    other => Err(Error::Unsupported(format!("function argument {other} is not supported"))),
                })
                .collect()
        }
        ast::FunctionArguments::Subquery(_) => Err(Error::Unsupported("subqueries are not supported".into())),
    }
}

fn invalid_input(ty: DataType, text: &str) -> Error {
    Error::Type(format!("invalid input syntax for type {}: \"{text}\"", ty.sql_name()))
}

fn operator_error(op: &ast::BinaryOperator, l: Option<DataType>, r: Option<DataType>) -> Error {
    let name = |t: Option<DataType>| t.map(|t| t.sql_name()).unwrap_or_else(|| "unknown".into());
    Error::Type(format!("operator does not exist: {} {op} {}", name(l), name(r)))
}

/// Evaluates an expression made only of constants once, at registration.
/// An expression that fails (`1/0`) is left alone so the error surfaces
/// when it runs, as in PostgreSQL.
fn fold(b: Bound) -> Bound {
    if matches!(b.expr, Expr::Const(_)) || b.expr.reads_columns() || b.expr.reads_params() {
        return b;
    }
    match eval::eval(&b.expr, &[], &[]) {
        Ok(v) => Bound { expr: Expr::Const(v), ty: b.ty },
        Err(_) => b,
    }
}
