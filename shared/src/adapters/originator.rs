//! The originator's interfaces over signed HTTP (docs/INTERFACES.md).

use crate::domain::people::{Nik, Phone};
use crate::domain::ports::{Originator, PartnerError};
use crate::outbound::SignedClient;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct OriginatorClient {
    client: Option<SignedClient>,
}

impl OriginatorClient {
    /// `None` when the originator's URL is not configured: calls then fail clearly.
    pub fn new(client: Option<SignedClient>) -> OriginatorClient {
        OriginatorClient { client }
    }

    fn client(&self) -> Result<&SignedClient, PartnerError> {
        self.client.as_ref().ok_or(PartnerError::NotConfigured("ORIGINATOR_URL"))
    }
}

impl Originator for OriginatorClient {
    async fn has_active_loan(&self, nik: &Nik, phone: &Phone) -> Result<bool, PartnerError> {
        let body = json!({ "nik": nik.as_str(), "phone": phone.as_str() }).to_string();
        let answer = self
            .client()?
            .call("POST", "/v1/checks/investor-loans", Some(body.as_bytes()))
            .await
            .map_err(PartnerError::Unreachable)?;
        match (answer.status, answer.data()["result"].as_u64()) {
            (200, Some(result)) => Ok(result == 1),
            (status, _) => Err(PartnerError::Refused { status, body: answer.code().to_owned() }),
        }
    }
}
