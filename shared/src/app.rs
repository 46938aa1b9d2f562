//! What a Lambda builds once per cold start: settings, AWS clients, the clock.

use crate::adapters::dynamo::DynamoStore;
use crate::adapters::originator::OriginatorClient;
use crate::adapters::payment::PaymentClient;
use crate::adapters::sqs::SqsStepQueue;
use crate::config::{ConfigError, Settings};
use crate::outbound::SignedClient;
use chrono::{DateTime, SubsecRound, Utc};
use std::time::Duration;

/// The hub's clock. Times are kept to the millisecond so they survive a storage round trip.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock;

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(3)
    }
}

#[derive(Debug, Clone)]
pub struct App {
    pub settings: Settings,
    pub store: DynamoStore,
    pub steps: SqsStepQueue,
    pub originator: OriginatorClient,
    pub payment: PaymentClient,
    pub clock: Clock,
}

/// The hub's own partner id when it calls others.
pub const HUB_PARTNER_ID: &str = "hub";
/// Partner calls must answer well inside a Lambda's timeout.
const PARTNER_TIMEOUT: Duration = Duration::from_secs(5);

impl App {
    /// Reads configuration and builds the AWS clients. `AWS_ENDPOINT_URL` points them at a
    /// local emulator.
    pub async fn from_env() -> Result<App, ConfigError> {
        let settings = Settings::from_env()?;
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(App::new(settings, &aws))
    }

    pub fn new(settings: Settings, aws: &aws_config::SdkConfig) -> App {
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), &settings.table);
        let steps = SqsStepQueue::new(aws_sdk_sqs::Client::new(aws), settings.steps_queue_url.clone());
        let originator = OriginatorClient::new(settings.originator_url.as_ref().and_then(|url| {
            let secret = settings.partners.get(&settings.originator_partner)?;
            SignedClient::new(url, HUB_PARTNER_ID, secret, PARTNER_TIMEOUT).ok()
        }));
        let payment = PaymentClient::new(settings.payment_url.as_ref().and_then(|url| {
            let secret = settings.partners.get(&settings.payment_partner)?;
            SignedClient::new(url, HUB_PARTNER_ID, secret, PARTNER_TIMEOUT).ok()
        }));
        App { settings, store, steps, originator, payment, clock: Clock }
    }
}
