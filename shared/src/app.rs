//! What a Lambda builds once per cold start: settings, AWS clients, the clock.

use crate::adapters::dynamo::DynamoStore;
use crate::config::{ConfigError, Settings};
use chrono::{DateTime, SubsecRound, Utc};

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
    pub clock: Clock,
}

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
        App {
            settings,
            store,
            clock: Clock,
        }
    }
}
