//! The originator's interfaces over signed HTTP (docs/INTERFACES.md).

use crate::domain::borrower::Profile;
use crate::domain::notice::Notice;
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

    async fn borrower_profile(&self, borrower_uuid: &str) -> Result<Option<Profile>, PartnerError> {
        // The uuid was validated at intake (hex and dashes), so it is safe in a path.
        let path = format!("/v1/borrowers/{borrower_uuid}");
        let answer = self.client()?.call("GET", &path, None).await.map_err(PartnerError::Unreachable)?;
        match answer.status {
            200 => Profile::parse(answer.data())
                .map(Some)
                .map_err(|reason| PartnerError::Refused { status: 200, body: format!("unusable profile: {reason}") }),
            404 => Ok(None),
            status => Err(PartnerError::Refused { status, body: answer.code().to_owned() }),
        }
    }

    async fn notify(&self, notice: &Notice) -> Result<(), PartnerError> {
        let mut body = json!({
            "eventId": notice.event_id,
            "claimNo": notice.claim.claim_no.as_str(),
            "source": notice.claim.source,
            "sequence": notice.sequence,
            "status": notice.status,
            "occurredAt": notice.occurred_at,
        });
        if let Some(reason) = &notice.reason {
            body["reason"] = json!(reason);
        }
        let body = body.to_string();
        let answer = self
            .client()?
            .call("POST", "/v1/notifications", Some(body.as_bytes()))
            .await
            .map_err(PartnerError::Unreachable)?;
        match answer.status {
            200 => Ok(()),
            status => Err(PartnerError::Refused { status, body: answer.code().to_owned() }),
        }
    }
}
