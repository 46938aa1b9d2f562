//! The payment platform's interfaces over signed HTTP (docs/INTERFACES.md).

use crate::domain::claim::BankAccount;
use crate::domain::money::Currency;
use crate::domain::movement::{Movement, MovementKind, MovementStatus, Purpose};
use crate::domain::ports::{PartnerError, PaymentPlatform};
use crate::domain::settlement::Report;
use crate::outbound::SignedClient;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct PaymentClient {
    client: Option<SignedClient>,
}

impl PaymentClient {
    /// `None` when the payment platform's URL is not configured: calls then fail clearly.
    pub fn new(client: Option<SignedClient>) -> PaymentClient {
        PaymentClient { client }
    }
}

fn party_kind(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Investment | Purpose::Refund | Purpose::InvestorReturn => "INVESTOR",
        Purpose::Disbursement | Purpose::Repayment => "BORROWER",
        Purpose::UpfrontFee | Purpose::IncomeShare => "INCOME",
    }
}

impl PaymentClient {
    fn client(&self) -> Result<&SignedClient, PartnerError> {
        self.client.as_ref().ok_or(PartnerError::NotConfigured("PAYMENT_URL"))
    }
}

impl PaymentPlatform for PaymentClient {
    async fn request_movement(
        &self,
        movement: &Movement,
        party: &BankAccount,
    ) -> Result<(MovementStatus, Option<String>), PartnerError> {
        let client = self.client()?;
        let account = json!({
            "kind": party_kind(movement.purpose),
            "bankCode": party.bank_code,
            "accountNo": party.account_no,
            "accountName": party.account_name,
        });
        let (path, role) = match movement.purpose.kind() {
            MovementKind::Collection => ("/v1/collections", "payer"),
            MovementKind::Payout => ("/v1/payouts", "payee"),
        };
        let body = json!({
            "serialNo": movement.serial,
            "amount": movement.amount,
            "currency": "IDR",
            role: account,
            "purpose": movement.purpose,
        })
        .to_string();
        let answer = client.call("POST", path, Some(body.as_bytes())).await.map_err(PartnerError::Unreachable)?;
        let status = answer.data()["status"].as_str().and_then(|s| serde_json::from_value(json!(s)).ok());
        let reason = answer.data()["failureReason"].as_str().map(str::to_owned);
        match (answer.status, status) {
            (200, Some(status)) => Ok((status, reason)),
            (status, _) => Err(PartnerError::Refused { status, body: answer.code().to_owned() }),
        }
    }

    async fn movement_status(&self, serial: &str) -> Result<Option<Report>, PartnerError> {
        // Serials are ours: letters, digits and dashes, safe in a path.
        let answer = self
            .client()?
            .call("GET", &format!("/v1/movements/{serial}"), None)
            .await
            .map_err(PartnerError::Unreachable)?;
        match answer.status {
            200 => Report::parse_status(answer.data(), Currency::IDR)
                .map(Some)
                .map_err(|e| PartnerError::Refused { status: 200, body: format!("unreadable status: {e:?}") }),
            404 => Ok(None),
            status => Err(PartnerError::Refused { status, body: answer.code().to_owned() }),
        }
    }
}
