//! The main job's third act: every disbursed loan lives its whole life on the hub's settable
//! clock. Most are repaid on time, some a few days late (with the overdue fee), some settled
//! early, and one is left overdue until its fee stops at the 100 % cap. The originator pays
//! through interface 5 with figures from [`crate::reference`] (SPEC section 5 in plain
//! integers, no hub code), so every accepted repayment is a match; then every claim's
//! repayments, investor payouts, income, notices and ledger are compared with the reference.

use crate::client::{Answer, HubClient};
use crate::ledger::{self, PortfolioCheck};
use crate::money_chain::{Parties, dec, notification_records, progress, set_clock_offset};
use crate::portfolio::Case;
use crate::reference::{self, Kind, Loan, Method, Paid, Rupiah, Terms, Unit};
use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use futures::StreamExt;
use hub::adapters::dynamo::DynamoStore;
use hub::domain::intake::jakarta;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

/// The hour of each business day the clock is set to, Jakarta time.
const OPENING_HOUR: u32 = 10;
/// Business time that passes per polling round while the act waits for the chain, so the
/// reconciler's age limit is reached for callbacks the sandbox dropped.
const BUSINESS_MINUTES_PER_ROUND: i64 = 2;
/// Repayments sent at once.
const PARALLEL: usize = 8;
/// The SPEC's default overdue rate, 0.3 % a day, in ten-thousandths of a percent.
const DEFAULT_DAILY_LATE_E4: i128 = 3_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    OnTime,
    /// The first instalment is paid `days` after its due date.
    Late {
        days: i64,
    },
    /// `after` instalments on time, then everything left, `days` after the last due date
    /// (or the disbursement).
    Early {
        after: usize,
        days: i64,
    },
    /// The first instalment is left unpaid until its overdue fee stopped at the cap.
    ToTheCap,
}

impl Fate {
    fn name(self) -> &'static str {
        match self {
            Fate::OnTime => "on time",
            Fate::Late { .. } => "late",
            Fate::Early { .. } => "settled early",
            Fate::ToTheCap => "overdue to the fee cap",
        }
    }
}

/// One loan as the act follows it.
struct Life {
    claim_no: String,
    fate: Fate,
    loan: Loan,
    /// Succeeded investments in investment order, as the reference's investors.
    investment_ids: Vec<String>,
    paid: Vec<Paid>,
    /// The interface 6 statuses the originator must hear, in order.
    notices: Vec<&'static str>,
    /// Days on which to read the cap claim's fee as the hub shows it.
    probes: Vec<NaiveDate>,
    /// A repayment was refused: the act stops paying this loan (and reports it).
    abandoned: bool,
}

impl Life {
    fn next_payment(&self) -> Option<(NaiveDate, Kind)> {
        let loan = &self.loan;
        let due = loan.next_due().filter(|_| !loan.is_repaid() && !self.abandoned)?;
        Some(match self.fate {
            Fate::Late { days } if loan.paid == 0 => (due + TimeDelta::days(days), Kind::Installment),
            Fate::Early { after, days } if loan.paid >= after => {
                let from = if after == 0 { loan.disbursed_on } else { loan.due[after - 1] };
                (from + TimeDelta::days(days), Kind::EarlySettlement)
            }
            Fate::ToTheCap if loan.paid == 0 => (loan.cap_reached_on()? + TimeDelta::days(10), Kind::Installment),
            _ => (due, Kind::Installment),
        })
    }

    fn next_event(&self) -> Option<NaiveDate> {
        let payment = self.next_payment().map(|(day, _)| day);
        self.probes.first().copied().filter(|_| !self.abandoned).into_iter().chain(payment).min()
    }

    /// Overdue before this payment: the hub's sweep must have said so first.
    fn pays_late(&self, day: NaiveDate) -> bool {
        self.loan.next_due().is_some_and(|due| day > due)
    }
}

#[derive(Debug, Default)]
pub struct LivesSummary {
    pub fates: BTreeMap<&'static str, usize>,
    pub business_days: usize,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    pub repayments: usize,
    pub by_status: BTreeMap<String, usize>,
    /// Reference figures.
    pub principal: Decimal,
    pub interest: Decimal,
    pub overdue: Decimal,
    pub to_investors_principal: Decimal,
    pub to_investors_interest: Decimal,
    pub fees: Decimal,
    pub spread: Decimal,
    /// The cap claim: the fee the hub showed the day before the cap, on it, and what was paid.
    pub cap: Option<(String, Decimal, Decimal, Decimal)>,
    pub notices_expected: u64,
    pub notices_distinct: u64,
    pub ledger: PortfolioCheck,
    pub mismatches: Vec<String>,
}

impl LivesSummary {
    pub fn print(&self) {
        let fates: Vec<String> = self.fates.iter().map(|(f, n)| format!("{n} {f}")).collect();
        println!("loan lives: {} loans: {}", self.fates.values().sum::<usize>(), fates.join(", "));
        if let (Some(first), Some(last)) = (self.first_day, self.last_day) {
            println!("  the clock ran through {} business days, {first} to {last}", self.business_days);
        }
        println!("  repayments through interface 5: {} accepted, each with the reference's figures", self.repayments);
        for (status, count) in &self.by_status {
            println!("  claims {status}: {count}");
        }
        println!("  repaid: principal {} | interest {} | overdue fees {}", self.principal, self.interest, self.overdue);
        println!(
            "  paid to investors: {} (principal {} + interest {})",
            self.to_investors_principal + self.to_investors_interest,
            self.to_investors_principal,
            self.to_investors_interest
        );
        println!(
            "  income: upfront fees {} | interest spread {} | overdue fees {} | total {}",
            self.fees,
            self.spread,
            self.overdue,
            self.fees + self.spread + self.overdue
        );
        if let Some((claim, before, on, paid)) = &self.cap {
            println!(
                "  overdue fee cap: {claim} showed {before} the day before the cap, {on} on it, paid {paid} ten days later"
            );
        }
        println!(
            "  notifications (interface 6): {} distinct events of {} expected in this act",
            self.notices_distinct, self.notices_expected
        );
        self.ledger.print();
        println!("loan lives mismatches: {}", self.mismatches.len());
        for m in self.mismatches.iter().take(20) {
            println!("  {m}");
        }
    }
}

fn int(v: &Value) -> Option<i128> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64().map(i128::from),
        _ => None,
    }
}

fn rupiah(v: Rupiah) -> Decimal {
    Decimal::from_i128_with_scale(v, 0)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The loan's terms as the fixture sent them, and the schedule the fixture expects.
fn terms_of(case: &Case) -> Option<Terms> {
    let r = &case.request;
    let unit = match r["termUnit"].as_str().unwrap_or("DAY") {
        "MONTH" => Unit::Month,
        _ => Unit::Day,
    };
    let method = match (r["repaymentMethod"].as_str(), unit) {
        (Some("BULLET"), _) | (None, Unit::Day) => Method::Bullet,
        _ => Method::EqualInstallment,
    };
    let schedule = case.expect["schedule"]
        .as_array()?
        .iter()
        .map(|i| Some((int(&i["principal"])?, int(&i["interest"])?)))
        .collect::<Option<Vec<_>>>()?;
    Some(Terms {
        amount: int(&r["amount"])?,
        upfront_fee: int(&r["upfrontFee"])?,
        loan_rate_e4: reference::rate_e4(&text(&r["loanRate"]))?,
        investor_rate_e4: reference::rate_e4(&text(&r["investorRate"]))?,
        term: u32::try_from(r["term"].as_u64()?).ok()?,
        unit,
        method,
        schedule,
    })
}

fn daily_late_e4() -> Result<i128, String> {
    match std::env::var("OVERDUE_DAILY_RATE_PERCENT") {
        Err(_) => Ok(DEFAULT_DAILY_LATE_E4),
        Ok(v) => reference::rate_e4(&v).ok_or(format!("OVERDUE_DAILY_RATE_PERCENT={v}: not a percent")),
    }
}

async fn view(client: &HubClient, claim_no: &str) -> Result<Value, String> {
    let answer = client.call("GET", &format!("/v1/claims/{claim_no}"), None).await?;
    if answer.code() != "OK" {
        return Err(format!("{claim_no}: interface 7 answered {}", answer.body));
    }
    Ok(answer.data().clone())
}

fn jakarta_date(at: &str) -> Option<NaiveDate> {
    DateTime::parse_from_rfc3339(at).ok().map(|t| t.with_timezone(&jakarta()).date_naive())
}

/// Every disbursed claim, with its fate, its reference loan and its investments.
async fn read_lives(parties: &Parties, cases: &[Case], daily_late: i128) -> Result<Vec<Life>, String> {
    let mut by_claim: BTreeMap<String, &Case> = BTreeMap::new();
    for case in cases.iter().filter(|c| c.expect["code"] == "OK") {
        if let Some(no) = case.request["claimNo"].as_str() {
            by_claim.entry(no.to_owned()).or_insert(case);
        }
    }
    let mut lives = Vec::new();
    let mut cap_chosen = false;
    for (claim_no, case) in by_claim {
        let data = view(&parties.originator, &claim_no).await?;
        if data["status"] != "DISBURSED" {
            continue;
        }
        let disbursed = data["statusHistory"]
            .as_array()
            .and_then(|h| h.iter().find(|c| c["status"] == "DISBURSED"))
            .and_then(|c| c["at"].as_str())
            .and_then(jakarta_date)
            .ok_or(format!("{claim_no}: no disbursement time"))?;
        let mut investments: Vec<(String, String, i128)> = data["investments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["status"] == "SUCCEEDED")
            .filter_map(|i| {
                Some((i["createdAt"].as_str()?.to_owned(), i["investmentId"].as_str()?.to_owned(), int(&i["amount"])?))
            })
            .collect();
        // The order the hub hands out remainders in: earliest investment first.
        investments.sort();
        let terms = terms_of(case).ok_or(format!("{claim_no}: the fixture's terms do not read"))?;
        let n = lives.len();
        let installments = terms.schedule.len();
        let fate = match n % 6 {
            _ if !cap_chosen && terms.unit == Unit::Day => {
                cap_chosen = true;
                Fate::ToTheCap
            }
            1 => Fate::Late { days: 2 + (n as i64 % 5) },
            3 if installments > 1 => Fate::Early { after: 1, days: 10 },
            3 if terms.unit == Unit::Day => Fate::Early { after: 0, days: (i64::from(terms.term) / 2).max(1) },
            3 => Fate::Early { after: 0, days: 20 },
            _ => Fate::OnTime,
        };
        let invested = investments.iter().map(|(_, _, amount)| *amount).collect();
        let loan = Loan::new(terms, disbursed, invested, daily_late).ok_or(format!("{claim_no}: no due dates"))?;
        let probes = match (fate, loan.cap_reached_on()) {
            (Fate::ToTheCap, Some(cap)) => vec![cap - TimeDelta::days(1), cap],
            _ => vec![],
        };
        let investment_ids = investments.into_iter().map(|(_, id, _)| id).collect();
        lives.push(Life {
            claim_no,
            fate,
            loan,
            investment_ids,
            paid: vec![],
            notices: vec!["DISBURSED"],
            probes,
            abandoned: false,
        });
    }
    Ok(lives)
}

/// Business time as the act moves it: each event day from its opening hour, a little further
/// every waiting round. It never goes back, also across the several waits of one day: a
/// payout stamped before the collection that paid for it would read as a negative escrow.
struct BusinessClock<'a> {
    file: &'a Path,
    day: Option<NaiveDate>,
    minutes: i64,
    /// The business time last set and when (wall clock): time only moves forward from there.
    last: Option<(DateTime<Utc>, Instant)>,
}

impl<'a> BusinessClock<'a> {
    fn new(file: &'a Path) -> BusinessClock<'a> {
        BusinessClock { file, day: None, minutes: 0, last: None }
    }

    /// Moves to `day`'s opening hour (once per day; a later call for the same day changes nothing).
    fn open(&mut self, day: NaiveDate) -> Result<(), String> {
        if self.day == Some(day) {
            return Ok(());
        }
        self.day = Some(day);
        self.minutes = 0;
        self.set()
    }

    /// One waiting round further.
    fn tick(&mut self) -> Result<(), String> {
        self.minutes += BUSINESS_MINUTES_PER_ROUND;
        self.set()
    }

    /// The time to set: the day's opening plus the minutes, but never before where the clock
    /// already is (plus a second, as the offset is kept in whole seconds).
    fn target(&self, wall_now: Instant) -> Result<DateTime<Utc>, String> {
        let day = self.day.ok_or("no business day yet")?;
        let opening = day.and_hms_opt(OPENING_HOUR, 0, 0).ok_or("no opening time")?;
        let opening = jakarta().from_local_datetime(&opening).single().ok_or("no such time")?.with_timezone(&Utc);
        let wanted = opening + TimeDelta::minutes(self.minutes);
        Ok(match self.last {
            Some((then, set_at)) => {
                let since = TimeDelta::from_std(wall_now.saturating_duration_since(set_at)).unwrap_or_default();
                wanted.max(then + since + TimeDelta::seconds(1))
            }
            None => wanted,
        })
    }

    fn set(&mut self) -> Result<(), String> {
        let now = Instant::now();
        let at = self.target(now)?;
        set_clock_offset(self.file, (at - Utc::now()).num_seconds())?;
        self.last = Some((at, now));
        Ok(())
    }
}

fn repayment_body(life: &Life, serial: &str, kind: Kind, day: NaiveDate) -> Result<Value, String> {
    let owed = life.loan.owed(kind, day)?;
    let repaid_at = day.and_hms_opt(OPENING_HOUR - 1, 0, 0).ok_or("no time")?;
    Ok(json!({
        "claimNo": life.claim_no,
        "installmentNo": life.loan.paid + 1,
        "repaymentSerial": serial,
        "principal": owed.principal.to_string(),
        "interest": owed.interest.to_string(),
        "overdueFee": owed.overdue_fee.to_string(),
        "total": owed.total().to_string(),
        "repaidAt": format!("{}+07:00", repaid_at.format("%Y-%m-%dT%H:%M:%S")),
        "kind": match kind { Kind::Installment => "INSTALLMENT", Kind::EarlySettlement => "EARLY_SETTLEMENT" },
    }))
}

/// Reads `claims` until `done` holds for each (or the wait is over), moving business time on
/// a little every round. Answers the last views read.
async fn wait_for(
    parties: &Parties,
    clock: &mut BusinessClock<'_>,
    day: NaiveDate,
    claims: &[String],
    wait: Duration,
    what: &str,
    done: impl Fn(&str, &Value) -> bool,
) -> Result<HashMap<String, Value>, String> {
    let started = Instant::now();
    let mut views: HashMap<String, Value> = HashMap::new();
    loop {
        let pending: Vec<&String> = claims.iter().filter(|c| !views.get(*c).is_some_and(|v| done(c, v))).collect();
        let reads =
            futures::stream::iter(pending.iter().map(|c| async move { (*c, view(&parties.originator, c).await) }))
                .buffer_unordered(PARALLEL)
                .collect::<Vec<_>>()
                .await;
        for (claim, read) in reads {
            // A busy emulator may drop a read; the next round asks again.
            if let Ok(data) = read {
                views.insert(claim.clone(), data);
            }
        }
        let finished = claims.iter().filter(|c| views.get(*c).is_some_and(|v| done(c, v))).count();
        progress(&format!("{day}: {what} {finished}/{} ({} s)", claims.len(), started.elapsed().as_secs()));
        if finished == claims.len() || started.elapsed() > wait {
            return Ok(views);
        }
        clock.tick()?;
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

/// Runs the act. `store` reads the hub's table for the operator's ledger check.
pub async fn run(
    parties: &Parties,
    store: &DynamoStore,
    cases: &[Case],
    wait: Duration,
) -> Result<LivesSummary, String> {
    let clock_file =
        parties.clock_file.as_deref().ok_or("HUB_CLOCK_FILE is not set: loans cannot live on the clock")?;
    let clock = &mut BusinessClock::new(clock_file);
    let mut s = LivesSummary::default();
    let mut lives = read_lives(parties, cases, daily_late_e4()?).await?;
    let notices_before = notification_records(parties).await?.distinct;
    for life in &lives {
        *s.fates.entry(life.fate.name()).or_default() += 1;
        s.fees += rupiah(life.loan.terms.upfront_fee);
    }

    while let Some(day) = lives.iter().filter_map(Life::next_event).min() {
        clock.open(day)?;
        s.business_days += 1;
        s.first_day.get_or_insert(day);
        s.last_day = Some(day);
        let due: Vec<usize> = (0..lives.len()).filter(|i| lives[*i].next_event() == Some(day)).collect();
        // Payments and probes of overdue claims wait until the hub's sweep has marked them.
        let late: Vec<String> = due
            .iter()
            .map(|i| &lives[*i])
            .filter(|l| l.pays_late(day) && l.notices.last() != Some(&"OVERDUE"))
            .map(|l| l.claim_no.clone())
            .collect();
        if !late.is_empty() {
            let views =
                wait_for(parties, clock, day, &late, wait, "marked OVERDUE", |_, v| v["status"] == "OVERDUE").await?;
            eprintln!();
            for life in lives.iter_mut().filter(|l| late.contains(&l.claim_no)) {
                match views.get(&life.claim_no).map(|v| v["status"].clone()) {
                    Some(status) if status == "OVERDUE" => life.notices.push("OVERDUE"),
                    status => s.mismatches.push(format!("{}: past due on {day} but {status:?}", life.claim_no)),
                }
            }
        }
        probe_cap_fee(parties, &mut lives, &due, day, &mut s).await?;

        // Everything due today, sent at once; each answer must be an acceptance.
        let mut sends = Vec::new();
        for i in due.iter().copied() {
            let life = &lives[i];
            if let Some((when, kind)) = life.next_payment().filter(|(when, _)| *when == day) {
                let serial = format!("RP-{}-{}", life.paid.len() + 1, life.claim_no);
                sends.push((i, kind, repayment_body(life, &serial, kind, when)?));
            }
        }
        let answers: Vec<(usize, Kind, Result<Answer, String>)> =
            futures::stream::iter(sends.into_iter().map(|(i, kind, body)| async move {
                let answer = parties.originator.call("POST", "/v1/repayments", Some(body.to_string().as_bytes())).await;
                (i, kind, answer)
            }))
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        let mut collecting = Vec::new();
        for (i, kind, answer) in answers {
            let life = &mut lives[i];
            match answer {
                Ok(a) if a.code() == "OK" && a.data()["status"] == "ACCEPTED" => {
                    let paid = life.loan.pay(kind, day)?;
                    life.notices.push(if life.loan.is_repaid() { "REPAID" } else { "REPAYING" });
                    life.paid.push(paid);
                    s.repayments += 1;
                    collecting.push(life.claim_no.clone());
                }
                Ok(a) => {
                    s.mismatches.push(format!("{}: repayment on {day} answered {}", life.claim_no, a.body));
                    life.abandoned = true;
                }
                Err(e) => return Err(format!("{}: repayment on {day}: {e}", life.claim_no)),
            }
        }
        if !collecting.is_empty() {
            let paid_by: HashMap<String, usize> = lives.iter().map(|l| (l.claim_no.clone(), l.loan.paid)).collect();
            wait_for(parties, clock, day, &collecting, wait, "repayments collected", |c, v| {
                v["installmentsPaid"].as_u64() == paid_by.get(c).map(|p| *p as u64)
            })
            .await?;
            eprintln!();
        }
    }

    // Every payout out: every claim SETTLED. Then the platform's balances and the ledger.
    let last = s.last_day.unwrap_or_else(|| Utc::now().with_timezone(&jakarta()).date_naive());
    let claims: Vec<String> = lives.iter().map(|l| l.claim_no.clone()).collect();
    let views =
        wait_for(parties, clock, last, &claims, wait, "claims SETTLED", |_, v| v["status"] == "SETTLED").await?;
    eprintln!();
    for life in lives.iter_mut().filter(|l| !l.abandoned) {
        life.notices.push("SETTLED");
    }
    compare(&lives, &views, &mut s);
    let expected_income = s.fees + s.spread + s.overdue;
    s.ledger = settled_ledger(parties, store, expected_income).await?;
    s.mismatches.extend(s.ledger.problems.iter().cloned());
    if s.ledger.platform.is_some_and(|(escrow, income)| !escrow.is_zero() || income != expected_income) {
        s.mismatches
            .push(format!("payment platform {:?}: expected escrow 0 and income {expected_income}", s.ledger.platform));
    }
    check_notices(parties, &lives, notices_before, &mut s).await?;
    s.by_status = s.ledger.by_status.clone();
    // Back to the wall clock for calls made after the run.
    set_clock_offset(clock_file, 0)?;
    Ok(s)
}

/// The cap claim's fee as the hub shows it the day before it reaches the cap and on that day.
async fn probe_cap_fee(
    parties: &Parties,
    lives: &mut [Life],
    due: &[usize],
    day: NaiveDate,
    s: &mut LivesSummary,
) -> Result<(), String> {
    for i in due.iter().copied() {
        let life = &mut lives[i];
        if life.probes.first() != Some(&day) {
            continue;
        }
        life.probes.remove(0);
        let shown = dec(&view(&parties.originator, &life.claim_no).await?["nextInstallmentDue"]["overdueFee"]);
        let expected = rupiah(life.loan.overdue_fee(day));
        if shown != expected {
            s.mismatches.push(format!("{}: overdue fee on {day} shown {shown}, expected {expected}", life.claim_no));
        }
        let cap = s.cap.get_or_insert((life.claim_no.clone(), shown, Decimal::ZERO, Decimal::ZERO));
        if life.probes.is_empty() {
            cap.2 = shown;
            cap.3 = rupiah(life.loan.overdue_fee(day + TimeDelta::days(10)));
            if shown != rupiah(life.loan.cap_left()) {
                s.mismatches.push(format!("{}: the fee on the cap day is {shown}, not the cap", life.claim_no));
            }
        }
    }
    Ok(())
}

/// Each claim against the reference: status, escrow, what was repaid, one collection per
/// repayment, each investor's payout and income's share to the rupiah, exactly once.
fn compare(lives: &[Life], views: &HashMap<String, Value>, s: &mut LivesSummary) {
    for life in lives {
        let c = &life.claim_no;
        let Some(v) = views.get(c) else {
            s.mismatches.push(format!("{c}: never read back"));
            continue;
        };
        if v["status"] != "SETTLED" || !dec(&v["escrowBalance"]).is_zero() {
            s.mismatches
                .push(format!("{c}: {} with escrow {}, expected SETTLED with 0", v["status"], v["escrowBalance"]));
        }
        let mut expected: BTreeMap<String, Decimal> = BTreeMap::new();
        let (mut principal, mut interest, mut overdue) = (0, 0, 0);
        for (n, paid) in life.paid.iter().enumerate() {
            let n = n + 1;
            let o = paid.owed;
            principal += o.principal;
            interest += o.interest;
            overdue += o.overdue_fee;
            expected.insert(format!("COL-REP:{n}-doit-{c}"), rupiah(o.total()));
            for (id, (p, i)) in life.investment_ids.iter().zip(&paid.investors).filter(|(_, (p, i))| p + i > 0) {
                expected.insert(format!("PAY-RET:{n}-{id}"), rupiah(p + i));
                s.to_investors_principal += rupiah(*p);
                s.to_investors_interest += rupiah(*i);
            }
            if paid.spread + o.overdue_fee > 0 {
                expected.insert(format!("PAY-INC:{n}-doit-{c}"), rupiah(paid.spread + o.overdue_fee));
            }
            s.spread += rupiah(paid.spread);
        }
        s.principal += rupiah(principal);
        s.interest += rupiah(interest);
        s.overdue += rupiah(overdue);
        let repaid = &v["repaid"];
        let got = (dec(&repaid["principal"]), dec(&repaid["interest"]), dec(&repaid["overdueFee"]));
        if got != (rupiah(principal), rupiah(interest), rupiah(overdue)) {
            s.mismatches.push(format!("{c}: repaid {got:?}, expected ({principal}, {interest}, {overdue})"));
        }
        // The ledger's repayment postings, by purpose and subject, whatever the attempt.
        let mut posted: BTreeMap<String, Vec<Decimal>> = BTreeMap::new();
        for entry in v["ledger"].as_array().into_iter().flatten() {
            let serial = entry["serialNo"].as_str().unwrap_or_default();
            let mut parts = serial.splitn(4, '-');
            let (Some(a), Some(b), Some(_attempt), Some(subject)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let purpose = format!("{a}-{b}");
            if ["COL-REP", "PAY-RET", "PAY-INC"].contains(&purpose.as_str()) {
                posted.entry(format!("{purpose}:{subject}")).or_default().push(dec(&entry["amount"]));
            }
        }
        for (key, want) in &expected {
            match posted.get(key).map(Vec::as_slice) {
                Some([got]) if got == want => {}
                got => s.mismatches.push(format!("{c}: {key} posted {got:?}, expected [{want}]")),
            }
        }
        for key in posted.keys().filter(|k| !expected.contains_key(*k)) {
            s.mismatches.push(format!("{c}: unexpected posting {key}"));
        }
    }
}

/// Waits for the platform's balances to reach what the reference expects (the last payouts
/// and fees settle after the claims), then runs the operator's ledger check.
async fn settled_ledger(parties: &Parties, store: &DynamoStore, income: Decimal) -> Result<PortfolioCheck, String> {
    let started = Instant::now();
    loop {
        let platform = ledger::platform_balances(&parties.payment_sandbox).await?;
        let check = ledger::check(&ledger::read_portfolio(store).await?, Some(platform));
        let settled = platform.0.is_zero() && platform.1 == income;
        if (settled && check.passed()) || started.elapsed() > Duration::from_secs(240) {
            eprintln!();
            return Ok(check);
        }
        progress(&format!(
            "waiting for the platform: escrow {} to reach 0, income {} to reach {income}",
            platform.0, platform.1
        ));
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// What the originator sandbox received in this act: the statuses each claim must have heard,
/// in sequence order, once each.
async fn check_notices(parties: &Parties, lives: &[Life], before: u64, s: &mut LivesSummary) -> Result<(), String> {
    // DISBURSED was counted in the money chain's act.
    s.notices_expected = lives.iter().map(|l| l.notices.len() as u64 - 1).sum();
    let started = Instant::now();
    loop {
        let records = notification_records(parties).await?;
        s.notices_distinct = records.distinct - before.min(records.distinct);
        if s.notices_distinct >= s.notices_expected || started.elapsed() > Duration::from_secs(120) {
            for (claim, events) in &records.by_claim {
                let sequences: Vec<u64> = events.iter().map(|(n, _)| *n).collect();
                if sequences != (1..=sequences.len() as u64).collect::<Vec<_>>() {
                    s.mismatches.push(format!("{claim}: notice sequences {sequences:?}"));
                }
            }
            for life in lives {
                let heard: Vec<&str> = records
                    .by_claim
                    .get(&life.claim_no)
                    .map(|r| r.iter().map(|(_, st)| st.as_str()).collect())
                    .unwrap_or_default();
                if heard != life.notices {
                    s.mismatches.push(format!("{}: notices {heard:?}, expected {:?}", life.claim_no, life.notices));
                }
            }
            if s.notices_distinct != s.notices_expected {
                s.mismatches
                    .push(format!("{} distinct notifications, expected {}", s.notices_distinct, s.notices_expected));
            }
            return Ok(());
        }
        progress(&format!("notifications: {} of {}", s.notices_distinct, s.notices_expected));
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_time_never_goes_back_across_the_waits_of_one_day() {
        let file = std::env::temp_dir().join(format!("hub-act-clock-{}", std::process::id()));
        let mut clock = BusinessClock::new(&file);
        let day = NaiveDate::from_ymd_opt(2027, 12, 5).unwrap();
        clock.open(day).unwrap();
        let opening = clock.last.unwrap().0;
        // 10:00 Jakarta = 03:00 UTC.
        assert_eq!(opening.to_rfc3339(), "2027-12-05T03:00:00+00:00");
        for _ in 0..5 {
            clock.tick().unwrap();
        }
        let after_first_wait = clock.last.unwrap().0;
        assert_eq!(after_first_wait - opening, TimeDelta::minutes(10));
        // A second wait on the same day goes on from there, not from the opening again.
        clock.open(day).unwrap();
        clock.tick().unwrap();
        assert_eq!(clock.last.unwrap().0 - opening, TimeDelta::minutes(12));
        // Wall time passing between settings is never taken back.
        let later = clock.last.unwrap().1 + Duration::from_secs(600);
        assert_eq!(clock.target(later).unwrap() - opening, TimeDelta::minutes(22) + TimeDelta::seconds(1));
        // The next day starts at its opening hour.
        clock.open(day.succ_opt().unwrap()).unwrap();
        assert_eq!(clock.last.unwrap().0 - opening, TimeDelta::days(1));
        let _ = std::fs::remove_file(&file);
    }
}
