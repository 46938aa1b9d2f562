//! `hubctl provision`: creates the templates' DynamoDB tables and SQS queues in the local
//! stack (moto) and resolves every function's environment against them.

mod env_file;
mod environment;
mod local;
mod queues;

pub use env_file::render as render_env_file;
pub use environment::resolve_environment;
pub use local::{LocalResource, LocalResources};
pub(crate) use queues::queue_attributes;

use crate::tables;
use crate::template::{QueueSpec, Template};
use std::collections::BTreeMap;

/// The account moto answers for; local ARNs carry it.
pub const LOCAL_ACCOUNT: &str = "123456789012";

/// Local resource names: the logical id behind an optional prefix (tests use one per run),
/// `.fifo` for FIFO queues, or an explicit name for a table.
#[derive(Debug, Clone, Default)]
pub struct LocalNames {
    prefix: String,
    table_names: BTreeMap<String, String>,
}

impl LocalNames {
    pub fn new(prefix: &str) -> Result<LocalNames, String> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if !prefix.chars().all(allowed) {
            return Err(format!("prefix {prefix:?}: only letters, digits, - and _ fit queue names"));
        }
        Ok(LocalNames { prefix: prefix.to_owned(), table_names: BTreeMap::new() })
    }

    /// What `infra/run` has always done: `HUB_TABLE` names the `HubTable` table.
    pub fn with_env_overrides(self) -> LocalNames {
        match std::env::var("HUB_TABLE") {
            Ok(name) if !name.is_empty() => self.with_table_name("HubTable", &name),
            _ => self,
        }
    }

    pub fn with_table_name(mut self, logical_id: &str, name: &str) -> LocalNames {
        self.table_names.insert(logical_id.to_owned(), name.to_owned());
        self
    }

    pub fn table(&self, logical_id: &str) -> String {
        self.table_names.get(logical_id).cloned().unwrap_or_else(|| format!("{}{logical_id}", self.prefix))
    }

    pub fn queue(&self, spec: &QueueSpec) -> String {
        let suffix = if spec.is_fifo() { ".fifo" } else { "" };
        format!("{}{}{suffix}", self.prefix, spec.logical_id)
    }
}

/// What `provision` made and the functions' environment resolved against it.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub resources: LocalResources,
    pub environment: BTreeMap<String, String>,
}

/// Creates every table and queue of the templates (an existing one is kept) and resolves the
/// union of their functions' environment; `settings` give or override variables.
pub async fn provision(
    aws: &aws_config::SdkConfig,
    templates: &[Template],
    names: &LocalNames,
    settings: &BTreeMap<String, String>,
) -> Result<Provisioned, String> {
    let region = aws.region().map(ToString::to_string).unwrap_or_default();
    let mut resources = LocalResources::new(&region);
    let dynamo = aws_sdk_dynamodb::Client::new(aws);
    for spec in templates.iter().flat_map(Template::tables) {
        let name = names.table(&spec.logical_id);
        tables::create_table(&dynamo, &spec, &name).await?;
        let arn = table_arn(&dynamo, &name).await?;
        resources.insert(&spec.logical_id, LocalResource::Table { name, arn });
    }
    let sqs = aws_sdk_sqs::Client::new(aws);
    let queue_specs: Vec<QueueSpec> = templates.iter().flat_map(Template::queues).collect();
    queues::create_all(&sqs, &queue_specs, names, &mut resources).await?;
    let environment = resolve_environment(templates, &resources, settings)?;
    Ok(Provisioned { resources, environment })
}

async fn table_arn(dynamo: &aws_sdk_dynamodb::Client, name: &str) -> Result<String, String> {
    let described = dynamo
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| format!("describe table {name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    described.table().and_then(|t| t.table_arn()).map(str::to_owned).ok_or_else(|| format!("table {name} has no ARN"))
}
