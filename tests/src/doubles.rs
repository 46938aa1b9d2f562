//! Stand-ins for the counterparts where the counterpart itself is not under test. The
//! sandboxes are tested on their own (tests/sandboxes.rs) and run with the hub end to end.

use hub::domain::borrower::Profile;
use hub::domain::claim::BankAccount;
use hub::domain::money::Money;
use hub::domain::movement::{Movement, MovementStatus};
use hub::domain::notice::Notice;
use hub::domain::people::{Nik, Phone};
use hub::domain::ports::{Originator, PartnerError, PaymentPlatform};
use hub::domain::settlement::Report;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Interfaces 2, 3 and 6 as a test wants them.
#[derive(Default)]
pub struct FakeOriginator {
    /// Interface 3's answer for everyone.
    pub everyone_borrows: bool,
    /// Interface 2: the borrower's NIK and phone, instead of fresh ones.
    pub borrower_identity: Option<(String, String)>,
    /// Interface 2 answers 404.
    pub unknown_borrowers: bool,
    /// Interface 6 fails while set.
    pub down: AtomicBool,
    /// What interface 6 received, in order (with repeats).
    pub notices: Mutex<Vec<Notice>>,
}

impl FakeOriginator {
    pub fn with_borrower(nik: &str, phone: &str) -> FakeOriginator {
        FakeOriginator { borrower_identity: Some((nik.into(), phone.into())), ..FakeOriginator::default() }
    }

    pub fn received(&self) -> Vec<Notice> {
        self.notices.lock().unwrap().clone()
    }
}

impl Originator for FakeOriginator {
    async fn has_active_loan(&self, _: &Nik, _: &Phone) -> Result<bool, PartnerError> {
        Ok(self.everyone_borrows)
    }

    async fn borrower_profile(&self, uuid: &str) -> Result<Option<Profile>, PartnerError> {
        if self.unknown_borrowers {
            return Ok(None);
        }
        // A NIK and phone no investor of the tests uses, unless told otherwise.
        let digits: String = uuid.chars().filter(char::is_ascii_digit).chain(std::iter::repeat('7')).take(8).collect();
        let (nik, phone) =
            self.borrower_identity.clone().unwrap_or_else(|| (format!("35150{digits}001"), format!("0857{digits}")));
        let data = serde_json::json!({
            "nik": nik, "phone": phone, "realName": "Siti Rahayu", "age": 34, "gender": 2, "education": "SMA",
            "occupation": "Pedagang", "documents": {"idCard": {"verified": true}, "bankCard": {"verified": true},
            "emergencyContacts": {"verified": true}, "insuranceCard": {"verified": false}, "familyCard": {"verified": true}}
        });
        Profile::parse(&data).map(Some).map_err(|e| PartnerError::Refused { status: 200, body: e })
    }

    async fn notify(&self, notice: &Notice) -> Result<(), PartnerError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PartnerError::Unreachable("originator down (test)".into()));
        }
        self.notices.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

/// The payment platform. It decides each movement at once: success, unless a serial prefix
/// (`PAY-DIS`, `COL-INV`, ...) is told to fail its first attempts. `immediate` answers the
/// final status in the request (as a fast platform may); otherwise it answers PENDING and the
/// test delivers the outcome as callbacks (or lets the reconciler ask interface 12).
#[derive(Default)]
pub struct FakePlatform {
    pub immediate: bool,
    fail: HashMap<&'static str, (u32, &'static str)>,
    /// Every request, in order: serial, amount, account on the other side.
    pub asked: Mutex<Vec<(String, Money, String)>>,
    /// Decided movements: serial -> outcome (what callbacks and interface 12 report).
    pub decided: Mutex<HashMap<String, Report>>,
}

impl FakePlatform {
    pub fn immediate(fail: &[(&'static str, u32, &'static str)]) -> FakePlatform {
        FakePlatform {
            immediate: true,
            fail: fail.iter().map(|(p, n, r)| (*p, (*n, *r))).collect(),
            ..Default::default()
        }
    }

    pub fn calling_back() -> FakePlatform {
        FakePlatform::default()
    }

    pub fn serials(&self) -> Vec<String> {
        self.asked.lock().unwrap().iter().map(|(s, _, _)| s.clone()).collect()
    }
}

impl PaymentPlatform for FakePlatform {
    async fn request_movement(
        &self,
        m: &Movement,
        party: &BankAccount,
    ) -> Result<(MovementStatus, Option<String>), PartnerError> {
        self.asked.lock().unwrap().push((m.serial.clone(), m.amount, party.account_no.clone()));
        let (status, reason) = match self.fail.get(&m.serial[..7]) {
            Some((attempts, reason)) if m.attempt <= *attempts => (MovementStatus::Failed, Some(reason.to_string())),
            _ => (MovementStatus::Succeeded, None),
        };
        let report = Report { serial: m.serial.clone(), status, amount: m.amount, failure_reason: reason.clone() };
        // The serial is the idempotency key: a repeat never changes the outcome.
        self.decided.lock().unwrap().entry(m.serial.clone()).or_insert(report);
        Ok(if self.immediate { (status, reason) } else { (MovementStatus::Pending, None) })
    }

    async fn movement_status(&self, serial: &str) -> Result<Option<Report>, PartnerError> {
        Ok(self.decided.lock().unwrap().get(serial).cloned())
    }
}
