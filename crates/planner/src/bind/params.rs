//! Statement parameters (`$1`, `$2`, ...) and the types they are given,
//! declared or inferred from context.

use crate::error::{Error, Result};
use crate::types::DataType;

/// PostgreSQL's limit on parameters per statement.
const MAX_PARAMS: usize = 65535;

#[derive(Debug, Clone)]
pub(crate) struct Params {
    types: Vec<Option<DataType>>,
    /// In the lenient pass, a parameter with no type yet is provisionally
    /// treated as TEXT instead of failing, so binding can go on and find
    /// a later occurrence that fixes its type.
    lenient: bool,
    provisional: Vec<bool>,
}

impl Params {
    pub(crate) fn new(declared: Vec<DataType>, lenient: bool) -> Params {
        let n = declared.len();
        Params { types: declared.into_iter().map(Some).collect(), lenient, provisional: vec![false; n] }
    }

    /// Takes over the types the lenient pass inferred.
    pub(crate) fn adopt_inferred(&mut self, other: &Params) {
        for (i, ty) in other.types.iter().enumerate() {
            let provisional = other.provisional.get(i).copied().unwrap_or(false);
            if let Some(ty) = ty.filter(|_| !provisional) {
                self.ensure(i);
                if self.types[i].is_none() {
                    self.types[i] = Some(ty);
                }
            }
        }
    }

    fn ensure(&mut self, index: usize) {
        if self.types.len() <= index {
            self.types.resize(index + 1, None);
            self.provisional.resize(index + 1, false);
        }
    }

    /// Parses `$n` into a zero-based index.
    pub(crate) fn parse_placeholder(text: &str) -> Result<usize> {
        let n: usize = text
            .strip_prefix('$')
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| Error::Unsupported(format!("parameter {text} is not supported; use $1, $2, ...")))?;
        if n == 0 || n > MAX_PARAMS {
            return Err(Error::Syntax(format!("there is no parameter ${n}")));
        }
        Ok(n - 1)
    }

    /// The type of parameter `index`, fixing it to `hint` if it has none.
    pub(crate) fn type_of(&mut self, index: usize, hint: Option<DataType>) -> Result<Option<DataType>> {
        self.ensure(index);
        match (self.types[index], hint) {
            (Some(ty), _) if !self.provisional[index] => Ok(Some(ty)),
            (_, Some(hint)) => {
                self.types[index] = Some(hint);
                self.provisional[index] = false;
                Ok(Some(hint))
            }
            (existing, None) if self.lenient => {
                if existing.is_none() {
                    self.types[index] = Some(DataType::Text);
                    self.provisional[index] = true;
                }
                Ok(self.types[index])
            }
            (_, None) => Err(Error::Type(format!("could not determine data type of parameter ${}", index + 1))),
        }
    }

    /// Whether `$index` has no type yet (so it should take one from context).
    pub(crate) fn is_untyped(&self, index: usize) -> bool {
        self.types.get(index).is_none_or(|t| t.is_none()) || self.provisional.get(index).copied().unwrap_or(false)
    }

    /// The final parameter list; every parameter must have a type.
    pub(crate) fn finish(&self) -> Result<Vec<DataType>> {
        self.types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                t.filter(|_| !self.provisional[i])
                    .ok_or_else(|| Error::Type(format!("could not determine data type of parameter ${}", i + 1)))
            })
            .collect()
    }
}
