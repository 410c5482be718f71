//! The rule of one decision (the workload's README): from what the six
//! reads returned, decide, and say which writes follow.

/// What a decision needs from its reads.
#[derive(Debug, Clone, Default)]
pub struct Reads {
    pub frozen: bool,
    pub credit_limit: i64,
    /// Today's approved spend (`spend_since`).
    pub spent_today: i64,
    pub risk_score: i64,
    /// Whether the merchant is among `top_merchants(a)`.
    pub merchant_is_top: bool,
    /// Declines among `recent_decisions(a)`.
    pub recent_declines: usize,
    /// Approved payments so far (sum of counts from `spend_by_category`).
    pub approved_count: i64,
}

/// The decision and its extra writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `approve` or `decline`.
    pub outcome: &'static str,
    /// `frozen`, `limit`, `risk`, or none for an approval.
    pub reason: Option<&'static str>,
    /// Freeze the account too.
    pub freeze: bool,
    /// Raise the credit limit to this.
    pub new_credit_limit: Option<i64>,
}

pub fn decide(r: &Reads, amount: i64) -> Outcome {
    let decline = |reason: &'static str, can_freeze: bool| Outcome {
        outcome: "decline",
        reason: Some(reason),
        freeze: can_freeze && r.recent_declines >= 2,
        new_credit_limit: None,
    };
    if r.frozen {
        return decline("frozen", false);
    }
    if r.spent_today + amount > r.credit_limit {
        return decline("limit", true);
    }
    if r.risk_score > 90 && !r.merchant_is_top {
        return decline("risk", true);
    }
    let raise = (r.approved_count + 1) % 50 == 0;
    Outcome {
        outcome: "approve",
        reason: None,
        freeze: false,
        new_credit_limit: raise.then_some(r.credit_limit + 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_rule_that_applies_wins() {
        let base = Reads { credit_limit: 100, risk_score: 10, ..Reads::default() };
        assert_eq!(decide(&Reads { frozen: true, ..base.clone() }, 1).reason, Some("frozen"));
        let limit = decide(&Reads { spent_today: 90, recent_declines: 2, ..base.clone() }, 20);
        assert_eq!((limit.reason, limit.freeze), (Some("limit"), true));
        assert_eq!(decide(&Reads { risk_score: 95, ..base.clone() }, 1).reason, Some("risk"));
        assert_eq!(decide(&Reads { risk_score: 95, merchant_is_top: true, ..base.clone() }, 1).outcome, "approve");
        assert_eq!(decide(&Reads { approved_count: 49, ..base }, 1).new_credit_limit, Some(1100));
    }
}
