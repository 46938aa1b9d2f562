//! Interface 5 and the repayment chain (issue 4), on moto: a bullet loan repaid on time, late
//! (overdue sweep and fee) and at the fee cap; an equal-instalment loan paid once and then
//! settled early; refusals; a failed collection; duplicated callbacks. Every expected figure
//! is worked out by hand from SPEC section 5 in the comments, not by the code under test.

use chrono::{Duration, NaiveDate, Utc};
use hub::domain::movement::ClaimKey;
use hub::domain::ports::{ClaimStore, MovementStore, NoticeStore};
use hub::domain::repaying;
use hub::domain::settlement::Report;
use hub::domain::status::ClaimStatus;
use hub_tests::doubles::{FakeOriginator, FakePlatform};
use hub_tests::loans::{at, bullet, claim_request, clock_after, jakarta, repayment};
use hub_tests::{Reply, TestHub};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// Lists the claim, funds it with `tickets` (one investor each, in this order) and runs the
/// chain to `DISBURSED`. Answers the claim and its disbursement date in Jakarta.
async fn disbursed(hub: &TestHub, request: &Value, tag: u32, tickets: &[i64]) -> (ClaimKey, NaiveDate) {
    let key = hub.list_claim(request).await;
    let people = hub.investors(tag, tickets.len() as u32).await;
    for (i, (person, amount)) in people.iter().zip(tickets).enumerate() {
        hub.invest(person, &key, *amount, &format!("t{i}")).await.unwrap();
    }
    hub.drain_steps(&FakePlatform::immediate(&[]), &FakeOriginator::default()).await;
    let claim = hub.app.store.get_claim("doit", &key.claim_no).await.unwrap().unwrap();
    assert_eq!(claim.status, ClaimStatus::Disbursed);
    let on = claim.disbursed_at().unwrap().with_timezone(&jakarta()).date_naive();
    (key, on)
}

async fn repay(hub: &TestHub, body: &Value) -> Reply {
    hub.post("/v1/repayments", body.to_string()).send().await
}

fn rp(v: i64) -> Decimal {
    Decimal::from(v)
}

/// Amounts the platform was asked to pay out under serials starting with `prefix`.
fn asked(platform: &FakePlatform, prefix: &str) -> Vec<Decimal> {
    platform.asked.lock().unwrap().iter().filter(|(s, _, _)| s.starts_with(prefix)).map(|(_, a, _)| a.value()).collect()
}

async fn status(hub: &TestHub, key: &ClaimKey) -> (ClaimStatus, Decimal) {
    let claim = hub.app.store.get_claim(&key.source, &key.claim_no).await.unwrap().unwrap();
    (claim.status, claim.escrow_balance.value())
}

#[tokio::test]
async fn a_bullet_loan_repaid_on_time_pays_each_investor_exactly_and_settles() {
    let mut hub = TestHub::spawn().await;
    let (key, day0) = disbursed(&hub, &bullet("REPAY-ON-TIME"), 31, &[500_000, 300_000, 200_000]).await;
    let due = day0 + Duration::days(30);
    clock_after(&mut hub, due);
    let view = hub.get("/v1/claims/REPAY-ON-TIME").send().await;
    assert_eq!(view.data()["schedule"][0]["dueDate"], due.to_string());

    let reply = repay(&hub, &repayment("REPAY-ON-TIME", "R-1", 1, [1_000_000, 14_795, 0], due, "INSTALLMENT")).await;
    assert_eq!(reply.code(), "OK", "{}", reply.body);
    assert_eq!(reply.data()["status"], "ACCEPTED");
    let platform = FakePlatform::immediate(&[]);
    hub.drain_steps(&platform, &FakeOriginator::default()).await;

    // Investors at 10 %: floor(500,000 x 0.1 x 30/365) = 4,109; 300,000 -> 2,465; 200,000 -> 1,643.
    // Spread 14,795 - 8,217 = 6,578 to income.
    assert_eq!(asked(&platform, "COL-REP"), [rp(1_014_795)]);
    assert_eq!(asked(&platform, "PAY-RET"), [rp(504_109), rp(302_465), rp(201_643)]);
    assert_eq!(asked(&platform, "PAY-INC"), [rp(6_578)]);
    assert_eq!(status(&hub, &key).await, (ClaimStatus::Settled, rp(0)));

    let claim = hub.app.store.get_claim("doit", &key.claim_no).await.unwrap().unwrap();
    let history: Vec<ClaimStatus> = claim.history.iter().map(|c| c.status).collect();
    assert_eq!(history[history.len() - 3..], [ClaimStatus::Disbursed, ClaimStatus::Repaid, ClaimStatus::Settled]);
    let notices: Vec<ClaimStatus> = hub.app.store.notices(&key).await.unwrap().iter().map(|(n, _)| n.status).collect();
    assert_eq!(notices, [ClaimStatus::Disbursed, ClaimStatus::Repaid, ClaimStatus::Settled]);
    // The ledger: what came into escrow went out again, to the rupiah.
    let ledger = hub.app.store.ledger(&key).await.unwrap();
    let (into, out): (Vec<_>, Vec<_>) = ledger.iter().partition(|p| p.entry.debit.kind() == "escrow");
    let sum = |v: &[&hub::domain::movement::Posting]| v.iter().map(|p| p.entry.amount.value()).sum::<Decimal>();
    assert_eq!((sum(&into), sum(&out)), (rp(2_014_795), rp(2_014_795)));

    // The same request again: the original answer. The paid instalment: refused.
    let again = repay(&hub, &repayment("REPAY-ON-TIME", "R-1", 1, [1_000_000, 14_795, 0], due, "INSTALLMENT")).await;
    assert_eq!((again.code(), again.data()), ("OK", reply.data()));
    let twice = repay(&hub, &repayment("REPAY-ON-TIME", "R-2", 1, [1_000_000, 14_795, 0], due, "INSTALLMENT")).await;
    assert_eq!((twice.status, twice.code()), (409, "ILLEGAL_STATE"), "{}", twice.body);
    println!(
        "bullet on time: collected 1,014,795 -> investors {:?} + income 6,578; SETTLED, escrow 0",
        asked(&platform, "PAY-RET")
    );
}

#[tokio::test]
async fn a_late_repayment_must_carry_the_overdue_fee_and_the_sweep_marks_the_claim_overdue() {
    let mut hub = TestHub::spawn().await;
    let (key, day0) = disbursed(&hub, &bullet("REPAY-LATE"), 32, &[1_000_000]).await;
    let due = day0 + Duration::days(30);
    let paid_on = due + Duration::days(3);
    clock_after(&mut hub, paid_on);

    let marked = repaying::mark_overdue(&hub.app.store, &hub.app.queues, hub.app.clock.now()).await.unwrap();
    assert_eq!(marked, [key.clone()]);
    assert_eq!(status(&hub, &key).await.0, ClaimStatus::Overdue);
    let again = repaying::mark_overdue(&hub.app.store, &hub.app.queues, hub.app.clock.now()).await.unwrap();
    assert!(again.is_empty(), "marked once");

    // Three days late at 0.3 % a day of 1,000,000: 3 x 3,000 = 9,000.
    let without_fee =
        repay(&hub, &repayment("REPAY-LATE", "L-1", 1, [1_000_000, 14_795, 0], paid_on, "INSTALLMENT")).await;
    assert_eq!(without_fee.fields(), ["overdueFee", "total"], "{}", without_fee.body);
    assert_eq!(without_fee.data()["expected"]["overdueFee"], "9000");
    assert_eq!(without_fee.data()["expected"]["total"], "1023795");
    let view = hub.get("/v1/claims/REPAY-LATE").send().await;
    assert_eq!(view.data()["nextInstallmentDue"]["overdueFee"], "12000", "four days late by the clock's today");
    assert_eq!(view.data()["schedule"][0]["state"], "OVERDUE");

    let reply =
        repay(&hub, &repayment("REPAY-LATE", "L-2", 1, [1_000_000, 14_795, 9_000], paid_on, "INSTALLMENT")).await;
    assert_eq!(reply.code(), "OK", "{}", reply.body);
    let platform = FakePlatform::immediate(&[]);
    hub.drain_steps(&platform, &FakeOriginator::default()).await;
    // One investor at 10 %: floor(1,000,000 x 0.1 x 30/365) = 8,219; income 14,795 - 8,219 + 9,000.
    assert_eq!(asked(&platform, "PAY-RET"), [rp(1_008_219)]);
    assert_eq!(asked(&platform, "PAY-INC"), [rp(15_576)]);
    assert_eq!(status(&hub, &key).await, (ClaimStatus::Settled, rp(0)));
    let claim = hub.app.store.get_claim("doit", &key.claim_no).await.unwrap().unwrap();
    assert_eq!(claim.repaid.overdue_fee.value(), rp(9_000));
    println!("late by 3 days: overdue fee 9,000 collected, investor 1,008,219, income 15,576; SETTLED");
}

#[tokio::test]
async fn the_overdue_fee_stops_exactly_at_the_cost_cap() {
    let mut hub = TestHub::spawn().await;
    let (key, day0) = disbursed(&hub, &bullet("REPAY-CAP"), 33, &[1_000_000]).await;
    let due = day0 + Duration::days(30);
    clock_after(&mut hub, due + Duration::days(400));
    let claim = hub.app.store.get_claim("doit", &key.claim_no).await.unwrap().unwrap();
    let rules = &hub.app.settings.repayment;
    let currency = hub.app.settings.intake.claim_rules.currency;
    let fee = |days: i64| {
        let (owed, _) =
            repaying::owed(&claim, rules, currency, repaying::RepaymentKind::Installment, due + Duration::days(days))
                .unwrap();
        owed.overdue_fee.value()
    };
    // Room under the 100 % cap: 1,000,000 - 14,795 interest - 0 fee = 985,205. 3,000 a day:
    // day 328 charges 984,000; day 329 would be 987,000, so it adds only 1,205.
    assert_eq!(
        [fee(1), fee(328), fee(329), fee(330), fee(400)],
        [rp(3_000), rp(984_000), rp(985_205), rp(985_205), rp(985_205)]
    );
    let late = due + Duration::days(400);
    let reply = repay(&hub, &repayment("REPAY-CAP", "C-1", 1, [1_000_000, 14_795, 985_205], late, "INSTALLMENT")).await;
    assert_eq!(reply.code(), "OK", "{}", reply.body);
    hub.drain_steps(&FakePlatform::immediate(&[]), &FakeOriginator::default()).await;
    let claim = hub.app.store.get_claim("doit", &key.claim_no).await.unwrap().unwrap();
    assert_eq!(claim.status, ClaimStatus::Settled);
    // Interest + upfront fee + overdue fees = the amount, exactly.
    assert_eq!(claim.repaid.interest.value() + claim.repaid.overdue_fee.value(), rp(1_000_000));
    println!("fee cap: day 328 -> 984,000, day 329 -> 985,205 (cap), day 400 -> 985,205; total cost = amount");
}

#[tokio::test]
async fn an_equal_instalment_loan_paid_once_then_settled_early_splits_exactly() {
    let mut hub = TestHub::spawn().await;
    // 3,000,000 over 3 months at 24 % (m = 2 %), investors 12 %: payment hu(60,000 / (1 - 1.02^-3))
    // = 1,040,264; instalment 1 = 980,264 principal + 60,000 interest; balance 2,019,736.
    let request = claim_request(
        "REPAY-EARLY",
        &[
            ("amount", json!("3000000")),
            ("term", json!(3)),
            ("termUnit", json!("MONTH")),
            ("repaymentMethod", json!("EQUAL_INSTALLMENT")),
            ("loanRate", json!("24")),
            ("investorRate", json!("12")),
            ("upfrontFee", json!("0")),
        ],
    );
    let (key, day0) = disbursed(&hub, &request, 34, &[1_500_000, 1_000_000, 500_000]).await;
    let due1 = day0.checked_add_months(chrono::Months::new(1)).unwrap();
    clock_after(&mut hub, due1);
    let reply = repay(&hub, &repayment("REPAY-EARLY", "E-1", 1, [980_264, 60_000, 0], due1, "INSTALLMENT")).await;
    assert_eq!(reply.code(), "OK", "{}", reply.body);
    let platform = FakePlatform::immediate(&[]);
    hub.drain_steps(&platform, &FakeOriginator::default()).await;
    // Principal 980,264 over 3:2:1 = 490,132 / 326,754.67 / 163,377.33: floors leave 1 rupiah,
    // to the largest remainder (.67): 490,132 / 326,755 / 163,377. Interest a month at 12 %:
    // 15,000 / 10,000 / 5,000; spread 60,000 - 30,000 = 30,000.
    assert_eq!(asked(&platform, "PAY-RET"), [rp(505_132), rp(336_755), rp(168_377)]);
    assert_eq!(asked(&platform, "PAY-INC"), [rp(30_000)]);
    assert_eq!(status(&hub, &key).await, (ClaimStatus::Repaying, rp(0)));

    // Early settlement 10 days after due 1: outstanding 2,019,736; interest hu(2,019,736 x 0.24 x
    // 10/365) = 13,280. Investors still own 1,009,868 / 673,245 / 336,623 and get
    // floor(x 0.12 x 10/365) = 3,320 / 2,213 / 1,106; spread 13,280 - 6,639 = 6,641.
    let on = due1 + Duration::days(10);
    clock_after(&mut hub, on);
    let wrong_kind =
        repay(&hub, &repayment("REPAY-EARLY", "E-2", 2, [999_869, 40_395, 0], on, "EARLY_SETTLEMENT")).await;
    assert_eq!(wrong_kind.data()["expected"]["total"], "2033016", "{}", wrong_kind.body);
    let reply = repay(&hub, &repayment("REPAY-EARLY", "E-3", 2, [2_019_736, 13_280, 0], on, "EARLY_SETTLEMENT")).await;
    assert_eq!(reply.code(), "OK", "{}", reply.body);
    assert_eq!(reply.data()["installmentsPaid"], 2);
    let platform = FakePlatform::immediate(&[]);
    hub.drain_steps(&platform, &FakeOriginator::default()).await;
    assert_eq!(asked(&platform, "PAY-RET"), [rp(1_013_188), rp(675_458), rp(337_729)]);
    assert_eq!(asked(&platform, "PAY-INC"), [rp(6_641)]);
    assert_eq!(status(&hub, &key).await, (ClaimStatus::Settled, rp(0)));
    let claim = hub.app.store.get_claim("doit", &key.claim_no).await.unwrap().unwrap();
    assert_eq!((claim.installments_paid, claim.repaid.principal.value()), (3, rp(3_000_000)));
    println!(
        "equal instalments: instalment 1 split 505,132/336,755/168,377 + 30,000 spread; early settlement \
              interest 13,280 split 3,320/2,213/1,106 + 6,641 spread; SETTLED"
    );
}

#[tokio::test]
async fn refusals_name_the_fields_or_the_state_and_never_answer_5xx() {
    let mut hub = TestHub::spawn().await;
    let listed = hub.list_claim(&bullet("REPAY-LISTED")).await;
    let (_, day0) = disbursed(&hub, &bullet("REPAY-REF"), 35, &[1_000_000]).await;
    let due = day0 + Duration::days(30);
    clock_after(&mut hub, due);
    let good = repayment("REPAY-REF", "X-1", 1, [1_000_000, 14_795, 0], due, "INSTALLMENT");

    let unfunded = repay(&hub, &repayment(listed.claim_no.as_str(), "X-0", 1, [1, 0, 0], due, "INSTALLMENT")).await;
    assert_eq!((unfunded.status, unfunded.code()), (409, "ILLEGAL_STATE"));
    let unknown = repay(&hub, &repayment("NO-SUCH", "X-9", 1, [1, 0, 0], due, "INSTALLMENT")).await;
    assert_eq!(unknown.status, 404);
    let bad = repay(
        &hub,
        &json!({"claimNo": "", "installmentNo": 0, "principal": "1.5", "interest": -1,
        "overdueFee": "x", "total": "3", "repaidAt": "today", "kind": "SOMETIMES", "extra": 1}),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.fields(),
        [
            "claimNo",
            "extra",
            "installmentNo",
            "interest",
            "kind",
            "overdueFee",
            "principal",
            "repaidAt",
            "repaymentSerial"
        ]
    );
    let mut sum_off = good.clone();
    sum_off["total"] = json!("1014796");
    assert_eq!(repay(&hub, &sum_off).await.fields(), ["total"]);
    let mut wrong = repayment("REPAY-REF", "X-2", 1, [999_999, 14_796, 0], due, "INSTALLMENT");
    let wrong_reply = repay(&hub, &wrong).await;
    assert_eq!(wrong_reply.fields(), ["interest", "principal"]);
    assert_eq!(
        wrong_reply.data()["expected"],
        json!({"principal": "1000000", "interest": "14795",
        "overdueFee": "0", "total": "1014795"})
    );
    wrong["installmentNo"] = json!(2);
    wrong["principal"] = json!("1000000");
    wrong["interest"] = json!("14795");
    wrong["total"] = json!("1014795");
    assert_eq!(repay(&hub, &wrong).await.fields(), ["installmentNo"]);
    let mut future = good.clone();
    future["repaidAt"] = json!((Utc::now() + Duration::days(400)).to_rfc3339());
    assert_eq!(repay(&hub, &future).await.fields(), ["repaidAt"]);

    let accepted = repay(&hub, &good).await;
    assert_eq!(accepted.code(), "OK");
    let mut reused = good.clone();
    reused["repaidAt"] = json!(at(due - Duration::days(1)));
    assert_eq!(repay(&hub, &reused).await.code(), "CONFLICT", "a serial names one repayment");
    let mut second = good.clone();
    second["repaymentSerial"] = json!("X-3");
    let busy = repay(&hub, &second).await;
    assert_eq!((busy.status, busy.code()), (409, "ILLEGAL_STATE"), "one collection at a time: {}", busy.body);
    hub.drain_steps(&FakePlatform::immediate(&[]), &FakeOriginator::default()).await;
    let settled = repay(&hub, &second).await;
    assert_eq!((settled.status, settled.code()), (409, "ILLEGAL_STATE"), "{}", settled.body);
    assert_eq!(repay(&hub, &good).await.data(), accepted.data(), "the original answer, even after settlement");
}

#[tokio::test]
async fn a_failed_collection_is_repay_failed_and_duplicated_callbacks_pay_once() {
    let mut hub = TestHub::spawn().await;
    let (key, day0) = disbursed(&hub, &bullet("REPAY-FAIL"), 36, &[600_000, 400_000]).await;
    let due = day0 + Duration::days(30);
    clock_after(&mut hub, due);
    let figures = [1_000_000, 14_795, 0];

    // The borrower's account refuses: REPAY_FAILED with the reason, nothing paid out.
    let failing = FakePlatform::immediate(&[("COL-REP", 9, "ACCOUNT_REJECTED")]);
    assert_eq!(repay(&hub, &repayment("REPAY-FAIL", "F-1", 1, figures, due, "INSTALLMENT")).await.code(), "OK");
    hub.drain_steps(&failing, &FakeOriginator::default()).await;
    let claim = hub.app.store.get_claim("doit", &key.claim_no).await.unwrap().unwrap();
    assert_eq!(
        (claim.status, claim.history.last().unwrap().reason.as_deref()),
        (ClaimStatus::RepayFailed, Some("ACCOUNT_REJECTED"))
    );
    assert!(asked(&failing, "PAY-RET").is_empty());

    // Sent again under a new serial, through callbacks that all arrive twice.
    let platform = FakePlatform::calling_back();
    assert_eq!(repay(&hub, &repayment("REPAY-FAIL", "F-2", 1, figures, due, "INSTALLMENT")).await.code(), "OK");
    for _ in 0..4 {
        hub.drain_steps(&platform, &FakeOriginator::default()).await;
        let decided: Vec<Report> = platform.decided.lock().unwrap().values().cloned().collect();
        for report in decided {
            for _ in 0..2 {
                let reply = hub.callback(&report).await;
                assert_eq!(reply.code(), "OK", "{}", reply.body);
            }
        }
    }
    hub.drain_steps(&platform, &FakeOriginator::default()).await;
    // 600,000 / 400,000 at 10 % for 30 days: 4,931 / 3,287; spread 14,795 - 8,218 = 6,577.
    assert_eq!(asked(&platform, "PAY-RET"), [rp(604_931), rp(403_287)]);
    assert_eq!(asked(&platform, "PAY-INC"), [rp(6_577)]);
    assert_eq!(status(&hub, &key).await, (ClaimStatus::Settled, rp(0)));
    let ledger = hub.app.store.ledger(&key).await.unwrap();
    let collected: Vec<_> = ledger.iter().filter(|p| p.entry.serial.starts_with("COL-REP")).collect();
    assert_eq!(collected.len(), 1, "one collection posted despite duplicates");
    println!(
        "failed collection -> REPAY_FAILED; resent and every callback duplicated: 1 collection, 2 investor \
              payouts, 1 income payout; SETTLED"
    );
}
