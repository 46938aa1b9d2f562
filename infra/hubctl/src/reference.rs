//! SPEC section 5 written again, from its text, in plain integers: what each repayment must
//! carry and where its money goes. The main job and the tests check the hub against it, so it
//! shares no code with the hub: rupiah are `i128`, rates are ten-thousandths of a percent, and
//! the borrower's schedule comes from the caller (the sample fixtures' own figures).

use chrono::{Datelike, Days, NaiveDate};

pub type Rupiah = i128;

/// A percent rate as sent (`"18.25"`) in ten-thousandths of a percent (`182_500`).
pub fn rate_e4(text: &str) -> Option<i128> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (text.contains('.') && !digits(fraction)) || fraction.len() > 4 {
        return None;
    }
    let padded = format!("{fraction:0<4}");
    Some(whole.parse::<i128>().ok()? * 10_000 + padded.parse::<i128>().ok()?)
}

/// floor(n / d) for n >= 0, d > 0.
pub fn floor_div(n: i128, d: i128) -> i128 {
    n / d
}

/// Half-up round(n / d) for n >= 0, d > 0.
pub fn half_up(n: i128, d: i128) -> i128 {
    (2 * n + d) / (2 * d)
}

/// `total` pro rata to `weights`: each share rounded down, then the rupiah left one each by
/// largest remainder, ties to the earlier weight.
pub fn split(total: Rupiah, weights: &[Rupiah]) -> Vec<Rupiah> {
    let sum: i128 = weights.iter().sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let mut shares: Vec<i128> = weights.iter().map(|w| total * w / sum).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|i| (std::cmp::Reverse(total * weights[*i] % sum), *i));
    let left = total - shares.iter().sum::<i128>();
    for i in order.into_iter().take(usize::try_from(left).unwrap_or(0)) {
        shares[i] += 1;
    }
    shares
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Day,
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Bullet,
    EqualInstallment,
}

/// A loan's terms as interface 1 carried them, and its schedule.
#[derive(Debug, Clone)]
pub struct Terms {
    pub amount: Rupiah,
    pub upfront_fee: Rupiah,
    pub loan_rate_e4: i128,
    pub investor_rate_e4: i128,
    pub term: u32,
    pub unit: Unit,
    pub method: Method,
    /// Principal and interest of each instalment.
    pub schedule: Vec<(Rupiah, Rupiah)>,
}

impl Terms {
    pub fn total_interest(&self) -> Rupiah {
        self.schedule.iter().map(|(_, i)| i).sum()
    }

    /// Investors' interest period of one scheduled instalment, as (count, per year).
    fn installment_period(&self) -> (i128, i128) {
        match (self.unit, self.method) {
            (Unit::Day, _) => (i128::from(self.term), 365),
            (Unit::Month, Method::Bullet) => (i128::from(self.term), 12),
            (Unit::Month, Method::EqualInstallment) => (1, 12),
        }
    }
}

/// The same day of the month `k` months later, clamped to that month's last day.
fn months_later(day: NaiveDate, k: u32) -> Option<NaiveDate> {
    let index = day.year() * 12 + day.month0() as i32 + k as i32;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
    (1..=day.day()).rev().find_map(|d| NaiveDate::from_ymd_opt(year, month, d))
}

/// Due dates from the disbursement date: DAY loans + term days; MONTH loans the same day of
/// the month k months later, clamped.
pub fn due_dates(terms: &Terms, disbursed_on: NaiveDate) -> Option<Vec<NaiveDate>> {
    match terms.unit {
        Unit::Day => Some(vec![disbursed_on.checked_add_days(Days::new(u64::from(terms.term)))?]),
        Unit::Month => (1..=terms.schedule.len() as u32).map(|k| months_later(disbursed_on, k)).collect(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Installment,
    EarlySettlement,
}

/// What one repayment must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Owed {
    pub principal: Rupiah,
    pub interest: Rupiah,
    pub overdue_fee: Rupiah,
}

impl Owed {
    pub fn total(&self) -> Rupiah {
        self.principal + self.interest + self.overdue_fee
    }
}

/// One collected repayment and where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paid {
    /// The instalment it started at (1-based) and how many it paid.
    pub installment_no: usize,
    pub installments: usize,
    pub owed: Owed,
    /// Per investor, in investment order: principal back, interest.
    pub investors: Vec<(Rupiah, Rupiah)>,
    /// Interest collected minus interest paid to investors.
    pub spread: Rupiah,
}

/// A loan followed through its repayments.
#[derive(Debug, Clone)]
pub struct Loan {
    pub terms: Terms,
    pub disbursed_on: NaiveDate,
    pub due: Vec<NaiveDate>,
    /// Succeeded investments in the order they were made.
    pub invested: Vec<Rupiah>,
    pub outstanding: Vec<Rupiah>,
    /// Instalments paid so far.
    pub paid: usize,
    pub overdue_charged: Rupiah,
    /// Overdue fee per day, ten-thousandths of a percent of the instalment's principal.
    pub daily_late_e4: i128,
}

impl Loan {
    pub fn new(terms: Terms, disbursed_on: NaiveDate, invested: Vec<Rupiah>, daily_late_e4: i128) -> Option<Loan> {
        let due = due_dates(&terms, disbursed_on)?;
        Some(Loan {
            terms,
            disbursed_on,
            due,
            outstanding: invested.clone(),
            invested,
            paid: 0,
            overdue_charged: 0,
            daily_late_e4,
        })
    }

    pub fn is_repaid(&self) -> bool {
        self.paid >= self.terms.schedule.len()
    }

    /// What the 100 % cap still allows in overdue fees.
    pub fn cap_left(&self) -> Rupiah {
        let t = &self.terms;
        (t.amount - t.total_interest() - t.upfront_fee - self.overdue_charged).max(0)
    }

    /// The next instalment's due date.
    pub fn next_due(&self) -> Option<NaiveDate> {
        self.due.get(self.paid).copied()
    }

    /// The overdue fee the next instalment owes when paid on `on`.
    pub fn overdue_fee(&self, on: NaiveDate) -> Rupiah {
        let (Some(due), Some((principal, _))) = (self.next_due(), self.terms.schedule.get(self.paid)) else {
            return 0;
        };
        let days = (on - due).num_days().max(0);
        let per_day = half_up(principal * self.daily_late_e4, 100 * 10_000);
        (per_day * i128::from(days)).min(self.cap_left())
    }

    /// The first day the next instalment's overdue fee reaches the cap, if it ever does.
    pub fn cap_reached_on(&self) -> Option<NaiveDate> {
        let (due, (principal, _)) = (self.next_due()?, self.terms.schedule.get(self.paid)?);
        let per_day = half_up(principal * self.daily_late_e4, 100 * 10_000);
        let days = (self.cap_left() + per_day - 1).checked_div(per_day)?;
        due.checked_add_days(Days::new(u64::try_from(days).ok()?))
    }

    /// The interest period the last due date (or the disbursement) to `on` spans, in days.
    fn days_since_last_due(&self, on: NaiveDate) -> i64 {
        let from = if self.paid == 0 { self.disbursed_on } else { self.due[self.paid - 1] };
        (on - from).num_days().max(0)
    }

    /// What a repayment of `kind` on `on` must carry.
    pub fn owed(&self, kind: Kind, on: NaiveDate) -> Result<Owed, String> {
        let Some((principal, interest)) = self.terms.schedule.get(self.paid).copied() else {
            return Err("nothing is owed".into());
        };
        match kind {
            Kind::Installment => Ok(Owed { principal, interest, overdue_fee: self.overdue_fee(on) }),
            Kind::EarlySettlement => {
                if self.next_due().is_some_and(|due| on > due) {
                    return Err("an overdue instalment must be paid before settling early".into());
                }
                let left: Rupiah = self.terms.schedule[self.paid..].iter().map(|(p, _)| p).sum();
                let days = i128::from(self.days_since_last_due(on));
                let interest = half_up(left * self.terms.loan_rate_e4 * days, 100 * 10_000 * 365);
                Ok(Owed { principal: left, interest, overdue_fee: 0 })
            }
        }
    }

    /// Collects a repayment of `kind` on `on`: the investors' principal pro rata to what they
    /// invested (the repayment that clears the loan pays each exactly what is left), their
    /// interest floor(outstanding x investor rate x period), the rest of the interest (spread)
    /// and the overdue fee to income.
    pub fn pay(&mut self, kind: Kind, on: NaiveDate) -> Result<Paid, String> {
        let owed = self.owed(kind, on)?;
        let (n, per_year) = match kind {
            Kind::Installment => self.terms.installment_period(),
            Kind::EarlySettlement => (i128::from(self.days_since_last_due(on)), 365),
        };
        let left: Rupiah = self.outstanding.iter().sum();
        let principals =
            if owed.principal == left { self.outstanding.clone() } else { split(owed.principal, &self.invested) };
        let interests: Vec<Rupiah> = self
            .outstanding
            .iter()
            .map(|o| floor_div(o * self.terms.investor_rate_e4 * n, 100 * 10_000 * per_year))
            .collect();
        let spread = owed.interest - interests.iter().sum::<Rupiah>();
        if spread < 0 {
            return Err(format!("investors' interest exceeds the {} collected", owed.interest));
        }
        for (o, p) in self.outstanding.iter_mut().zip(&principals) {
            *o -= p;
        }
        let installments = match kind {
            Kind::Installment => 1,
            Kind::EarlySettlement => self.terms.schedule.len() - self.paid,
        };
        let installment_no = self.paid + 1;
        self.paid += installments;
        self.overdue_charged += owed.overdue_fee;
        Ok(Paid {
            installment_no,
            installments,
            owed,
            investors: principals.into_iter().zip(interests).collect(),
            spread,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn bullet_30_days() -> Terms {
        // 1,000,000 at 18 % for 30 days: hu(1,000,000 x 0.18 x 30/365) = 14,795.
        Terms {
            amount: 1_000_000,
            upfront_fee: 50_000,
            loan_rate_e4: 180_000,
            investor_rate_e4: 100_000,
            term: 30,
            unit: Unit::Day,
            method: Method::Bullet,
            schedule: vec![(1_000_000, 14_795)],
        }
    }

    #[test]
    fn rates_read_as_ten_thousandths_of_a_percent() {
        assert_eq!([rate_e4("18.25"), rate_e4("12"), rate_e4("0.0001")], [Some(182_500), Some(120_000), Some(1)]);
        assert_eq!([rate_e4("1.23456"), rate_e4("x"), rate_e4("1.")], [None, None, None]);
    }

    #[test]
    fn month_due_dates_clamp() {
        let mut terms = bullet_30_days();
        terms.unit = Unit::Month;
        terms.schedule = vec![(1, 1); 3];
        let due = due_dates(&terms, day("2027-01-31")).unwrap();
        assert_eq!(due, [day("2027-02-28"), day("2027-03-31"), day("2027-04-30")]);
    }

    #[test]
    fn an_on_time_bullet_pays_investors_their_floor_interest_and_income_the_spread() {
        let mut loan = Loan::new(bullet_30_days(), day("2026-12-04"), vec![500_000, 300_000, 200_000], 3_000).unwrap();
        assert_eq!(loan.due, [day("2027-01-03")]);
        let paid = loan.pay(Kind::Installment, day("2027-01-03")).unwrap();
        // floor(500,000 x 10 % x 30/365) = 4,109; 300,000 -> 2,465; 200,000 -> 1,643.
        assert_eq!(paid.investors, [(500_000, 4_109), (300_000, 2_465), (200_000, 1_643)]);
        assert_eq!((paid.spread, paid.owed.total()), (14_795 - 8_217, 1_014_795));
        assert!(loan.is_repaid());
    }

    #[test]
    fn the_overdue_fee_is_per_day_and_stops_at_the_cap() {
        let loan = Loan::new(bullet_30_days(), day("2026-12-04"), vec![1_000_000], 3_000).unwrap();
        // 3,000 a day; the cap leaves 1,000,000 - 14,795 - 50,000 = 935,205: day 312 is capped.
        assert_eq!(loan.overdue_fee(day("2027-01-06")), 9_000);
        assert_eq!(loan.cap_left(), 935_205);
        let capped = day("2027-01-03") + chrono::Duration::days(312);
        assert_eq!(loan.overdue_fee(capped - chrono::Duration::days(1)), 933_000);
        assert_eq!(loan.overdue_fee(capped), 935_205);
        assert_eq!(loan.overdue_fee(capped + chrono::Duration::days(40)), 935_205);
        assert_eq!(loan.cap_reached_on(), Some(capped));
        assert!(loan.owed(Kind::EarlySettlement, day("2027-01-04")).is_err(), "overdue first");
    }

    #[test]
    fn an_early_settlement_charges_interest_for_the_days_used() {
        let mut loan = Loan::new(bullet_30_days(), day("2026-12-04"), vec![600_000, 400_000], 3_000).unwrap();
        // 10 days: hu(1,000,000 x 18 % x 10/365) = 4,932; investors floor(600,000 x 10 % x 10/365) = 1,643, 1,095.
        let paid = loan.pay(Kind::EarlySettlement, day("2026-12-14")).unwrap();
        assert_eq!(paid.owed, Owed { principal: 1_000_000, interest: 4_932, overdue_fee: 0 });
        assert_eq!(paid.investors, [(600_000, 1_643), (400_000, 1_095)]);
        assert_eq!(paid.spread, 4_932 - 2_738);
    }

    #[test]
    fn splits_hand_the_rest_out_by_largest_remainder_ties_to_the_earlier() {
        assert_eq!(split(100, &[1, 1, 1]), [34, 33, 33]);
        assert_eq!(split(7, &[2, 2, 6]), [2, 1, 4]);
    }
}
