//! The decision dataset: 100,000 accounts, 5,000 merchants, 1,000,000
//! payments and 200,000 decisions, read from `data/*.csv.gz` of the shared
//! workload when present, or generated with the same shape (Zipf s = 1.1
//! account and merchant picks, 30 days of payments before T0).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::zipf::{Rng, Zipf};

/// Unix time the dataset's history ends at.
pub const T0: i64 = 1_700_000_000;

#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub region: String,
    pub credit_limit: i64,
    pub frozen: bool,
}

#[derive(Debug, Clone)]
pub struct Merchant {
    pub id: i64,
    pub name: String,
    pub category: String,
    pub risk_score: i64,
}

#[derive(Debug, Clone)]
pub struct Payment {
    pub id: i64,
    pub account_id: i64,
    pub merchant_id: i64,
    pub amount: i64,
    pub created_at: i64,
    pub status: String,
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub id: i64,
    pub payment_id: i64,
    pub account_id: i64,
    pub outcome: String,
    pub reason: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub accounts: Vec<Account>,
    pub merchants: Vec<Merchant>,
    pub payments: Vec<Payment>,
    pub decisions: Vec<Decision>,
    /// Where it came from: the CSV directory, or "generated".
    pub source: String,
}

type Result<T> = std::result::Result<T, String>;

impl Dataset {
    /// Bytes of the same rows written as CSV (header lines included), the
    /// yardstick for memory use.
    pub fn csv_bytes(&self) -> usize {
        let digits = |n: i64| n.to_string().len();
        let mut total = "id,name,region,credit_limit,frozen\n".len()
            + "id,name,category,risk_score\n".len()
            + "id,account_id,merchant_id,amount,created_at,status\n".len()
            + "id,payment_id,account_id,outcome,reason,created_at\n".len();
        for a in &self.accounts {
            total += digits(a.id) + a.name.len() + a.region.len() + digits(a.credit_limit) + 1 + 5;
        }
        for m in &self.merchants {
            total += digits(m.id) + m.name.len() + m.category.len() + digits(m.risk_score) + 4;
        }
        for p in &self.payments {
            total += digits(p.id)
                + digits(p.account_id)
                + digits(p.merchant_id)
                + digits(p.amount)
                + digits(p.created_at)
                + p.status.len()
                + 6;
        }
        for d in &self.decisions {
            total += digits(d.id)
                + digits(d.payment_id)
                + digits(d.account_id)
                + d.outcome.len()
                + d.reason.as_ref().map_or(0, String::len)
                + digits(d.created_at)
                + 6;
        }
        total
    }

    /// The shared CSVs if `../shared/workloads/decisions/data` (relative to
    /// the repository root) exists, else a generated dataset of
    /// `scale` (1.0 is full size).
    pub fn load_or_generate(repo_root: &Path, scale: f64) -> Dataset {
        let dir = repo_root.join("../shared/workloads/decisions/data");
        if scale >= 1.0 && dir.join("payments.csv.gz").exists() {
            match Dataset::from_csv_dir(&dir) {
                Ok(d) => return d,
                Err(e) => eprintln!("cannot read {}: {e}; generating instead", dir.display()),
            }
        }
        Dataset::generate(scale, 42)
    }

    pub fn from_csv_dir(dir: &Path) -> Result<Dataset> {
        let rows = |name: &str| -> Result<Vec<csv::StringRecord>> {
            let path: PathBuf = dir.join(format!("{name}.csv.gz"));
            let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut text = String::new();
            flate2::read::GzDecoder::new(file)
                .read_to_string(&mut text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            reader.records().collect::<std::result::Result<Vec<_>, _>>().map_err(|e| format!("{}: {e}", path.display()))
        };
        let int = |r: &csv::StringRecord, i: usize| -> Result<i64> {
            r.get(i).and_then(|s| s.parse().ok()).ok_or_else(|| format!("bad integer in {r:?}"))
        };
        let text = |r: &csv::StringRecord, i: usize| r.get(i).unwrap_or("").to_string();
        let mut d = Dataset { source: dir.display().to_string(), ..Dataset::default() };
        for r in rows("accounts")? {
            d.accounts.push(Account {
                id: int(&r, 0)?,
                name: text(&r, 1),
                region: text(&r, 2),
                credit_limit: int(&r, 3)?,
                frozen: text(&r, 4) == "t",
            });
        }
        for r in rows("merchants")? {
            d.merchants.push(Merchant {
                id: int(&r, 0)?,
                name: text(&r, 1),
                category: text(&r, 2),
                risk_score: int(&r, 3)?,
            });
        }
        for r in rows("payments")? {
            d.payments.push(Payment {
                id: int(&r, 0)?,
                account_id: int(&r, 1)?,
                merchant_id: int(&r, 2)?,
                amount: int(&r, 3)?,
                created_at: int(&r, 4)?,
                status: text(&r, 5),
            });
        }
        for r in rows("decisions")? {
            let reason = text(&r, 4);
            d.decisions.push(Decision {
                id: int(&r, 0)?,
                payment_id: int(&r, 1)?,
                account_id: int(&r, 2)?,
                outcome: text(&r, 3),
                reason: (!reason.is_empty()).then_some(reason),
                created_at: int(&r, 5)?,
            });
        }
        Ok(d)
    }

    /// A dataset with the shared one's shape, `scale` times its size.
    pub fn generate(scale: f64, seed: u64) -> Dataset {
        let n = |full: f64| ((full * scale) as u64).max(1);
        let (accounts, merchants, payments, decisions) = (n(100_000.0), n(5_000.0), n(1_000_000.0), n(200_000.0));
        let mut rng = Rng::new(seed);
        let account_pick = Zipf::new(accounts, 1.1);
        let merchant_pick = Zipf::new(merchants, 1.1);
        let mut d = Dataset { source: format!("generated (scale {scale})"), ..Dataset::default() };
        for id in 1..=accounts as i64 {
            d.accounts.push(Account {
                id,
                name: format!("account-{id}"),
                region: format!("region-{}", rng.below(8)),
                credit_limit: 1000 * (5 + rng.below(60) as i64),
                frozen: rng.below(100) == 0,
            });
        }
        for id in 1..=merchants as i64 {
            d.merchants.push(Merchant {
                id,
                name: format!("merchant-{id}"),
                category: format!("cat-{}", rng.below(20)),
                risk_score: rng.below(101) as i64,
            });
        }
        let span = 30 * 86_400;
        for id in 1..=payments as i64 {
            let u = rng.unit();
            d.payments.push(Payment {
                id,
                account_id: account_pick.sample(&mut rng) as i64,
                merchant_id: merchant_pick.sample(&mut rng) as i64,
                amount: 1 + (2000.0 * u * u) as i64,
                created_at: T0 - span + rng.below(span as u64) as i64,
                status: if rng.below(10) == 0 { "declined".into() } else { "approved".into() },
            });
        }
        for id in 1..=decisions as i64 {
            let decline = rng.below(8) == 0;
            d.decisions.push(Decision {
                id,
                payment_id: id * 5,
                account_id: account_pick.sample(&mut rng) as i64,
                outcome: if decline { "decline".into() } else { "approve".into() },
                reason: decline.then(|| ["limit", "risk", "frozen"][rng.below(3) as usize].into()),
                created_at: T0 - span + rng.below(span as u64) as i64,
            });
        }
        d
    }

    /// Total rows.
    pub fn rows(&self) -> usize {
        self.accounts.len() + self.merchants.len() + self.payments.len() + self.decisions.len()
    }
}
