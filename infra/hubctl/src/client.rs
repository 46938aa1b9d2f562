//! The signing client, under the name the tools use for calling the hub.

use std::time::Duration;

pub use hub::outbound::Answer;
use hub::outbound::SignedClient;

/// Generous: the first local call waits for `cargo lambda watch` to compile the function.
const TOOL_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct HubClient(SignedClient);

impl HubClient {
    pub fn new(base_url: &str, partner: &str, secret: &str) -> Result<HubClient, String> {
        SignedClient::new(base_url, partner, secret, TOOL_TIMEOUT).map(HubClient)
    }
}

impl std::ops::Deref for HubClient {
    type Target = SignedClient;
    fn deref(&self) -> &SignedClient {
        &self.0
    }
}
