//! What a Lambda builds once per cold start: settings, AWS clients, the clock.

use crate::adapters::dynamo::DynamoStore;
use crate::adapters::originator::OriginatorClient;
use crate::adapters::payment::PaymentClient;
use crate::adapters::sqs::SqsQueues;
use crate::config::{ConfigError, Settings};
use crate::outbound::{HttpPool, SignedClient};
use chrono::{DateTime, SubsecRound, Utc};
use std::path::PathBuf;

/// The hub's clock: the one "today" every rule reads (SPEC section 5). Times are kept to the
/// millisecond so they survive a storage round trip. Local runs and tests may set it ahead
/// through a file of whole seconds (`HUB_CLOCK_FILE`), so loans live months in minutes;
/// signatures and nonces always use the wall clock.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_file: Option<PathBuf>,
}

impl Clock {
    pub fn settable(offset_file: Option<PathBuf>) -> Clock {
        Clock { offset_file }
    }

    /// Business time: the wall clock plus the offset, if one is set.
    pub fn now(&self) -> DateTime<Utc> {
        let offset = self
            .offset_file
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .and_then(|text| text.trim().parse::<i64>().ok())
            .and_then(chrono::Duration::try_seconds)
            .unwrap_or_default();
        (Utc::now() + offset).trunc_subsecs(3)
    }

    /// Transport time, for signatures and nonces.
    pub fn wall(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(3)
    }
}

#[derive(Debug, Clone)]
pub struct App {
    pub settings: Settings,
    pub store: DynamoStore,
    pub queues: SqsQueues,
    pub originator: OriginatorClient,
    pub payment: PaymentClient,
    pub clock: Clock,
}

/// The hub's own partner id when it calls others.
pub const HUB_PARTNER_ID: &str = "hub";

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
        let queues = SqsQueues::new(
            aws_sdk_sqs::Client::new(aws),
            settings.steps_queue_url.clone(),
            settings.notices_queue_url.clone(),
        );
        // One HTTP client for both partners, built on the first partner call, not at cold start.
        let pool = HttpPool::default();
        let originator = OriginatorClient::new(settings.originator_url.as_ref().and_then(|url| {
            let secret = settings.partners.get(&settings.originator_partner)?;
            SignedClient::in_pool(&pool, url, HUB_PARTNER_ID, secret, settings.partner_timeout).ok()
        }));
        let payment = PaymentClient::new(settings.payment_url.as_ref().and_then(|url| {
            let secret = settings.partners.get(&settings.payment_partner)?;
            SignedClient::in_pool(&pool, url, HUB_PARTNER_ID, secret, settings.partner_timeout).ok()
        }));
        let clock = Clock::settable(settings.clock_file.clone());
        App { settings, store, queues, originator, payment, clock }
    }
}
