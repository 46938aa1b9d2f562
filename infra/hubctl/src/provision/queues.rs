//! Creates the templates' SQS queues with their attributes, dead-letter queues before the
//! queues whose `RedrivePolicy` points at them.

use super::{LocalNames, LocalResource, LocalResources};
use crate::template::{Intrinsic, QueueSpec};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml::Value;
use std::collections::{BTreeSet, HashMap};

/// Template properties that are queue attributes of the same name and meaning.
const PLAIN_ATTRIBUTES: [&str; 9] = [
    "FifoQueue",
    "ContentBasedDeduplication",
    "VisibilityTimeout",
    "DelaySeconds",
    "MessageRetentionPeriod",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

pub(super) async fn create_all(
    sqs: &Client,
    specs: &[QueueSpec],
    names: &LocalNames,
    resources: &mut LocalResources,
) -> Result<(), String> {
    for spec in dead_letter_queues_first(specs)? {
        let name = names.queue(spec);
        let attributes = attributes(spec, resources)?;
        let url = create_queue(sqs, &name, attributes).await?;
        let arn = queue_arn(sqs, &url).await?;
        resources.insert(&spec.logical_id, LocalResource::Queue { name, url, arn });
    }
    Ok(())
}

/// Orders the queues so each dead-letter queue comes before the queues that use it; a queue
/// defined in two templates is created once.
fn dead_letter_queues_first(specs: &[QueueSpec]) -> Result<Vec<&QueueSpec>, String> {
    let mut pending: Vec<&QueueSpec> = vec![];
    for spec in specs {
        if !pending.iter().any(|p| p.logical_id == spec.logical_id) {
            pending.push(spec);
        }
    }
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut ordered = vec![];
    while !pending.is_empty() {
        let mut waiting = vec![];
        for spec in pending.iter().copied() {
            let ready = match spec.redrive()? {
                None => true,
                Some(redrive) => placed.contains(&redrive.dead_letter_queue),
            };
            if ready {
                placed.insert(spec.logical_id.clone());
                ordered.push(spec);
            } else {
                waiting.push(spec);
            }
        }
        if waiting.len() == pending.len() {
            let ids: Vec<&str> = waiting.iter().map(|s| s.logical_id.as_str()).collect();
            return Err(format!(
                "queues {ids:?}: their dead-letter queue is not a queue of the templates, or they point at each other"
            ));
        }
        pending = waiting;
    }
    Ok(ordered)
}

fn scalar(spec: &QueueSpec, key: &str, value: &Value) -> Result<String, String> {
    match Intrinsic::of(value) {
        Intrinsic::Literal(text) => Ok(text),
        _ => Err(format!("{}.{key} must be a literal to create the queue locally", spec.logical_id)),
    }
}

fn attributes(spec: &QueueSpec, resources: &LocalResources) -> Result<HashMap<QueueAttributeName, String>, String> {
    let mut attributes = HashMap::new();
    for key in PLAIN_ATTRIBUTES {
        if let Some(value) = spec.properties.get(key) {
            attributes.insert(QueueAttributeName::from(key), scalar(spec, key, value)?);
        }
    }
    if let Some(redrive) = spec.redrive()? {
        let Some(LocalResource::Queue { arn, .. }) = resources.get(&redrive.dead_letter_queue) else {
            return Err(format!(
                "{}: dead-letter queue {} was not created",
                spec.logical_id, redrive.dead_letter_queue
            ));
        };
        let policy = serde_json::json!({
            "deadLetterTargetArn": arn,
            "maxReceiveCount": redrive.max_receive_count,
        });
        attributes.insert(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    Ok(attributes)
}

/// Creates the queue, or brings an existing one of that name to these attributes.
async fn create_queue(
    sqs: &Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<String, String> {
    let created = sqs.create_queue().queue_name(name).set_attributes(Some(attributes.clone())).send().await;
    match created {
        Ok(out) => out.queue_url.ok_or_else(|| format!("create queue {name}: no URL in the answer")),
        Err(e) => {
            let exists = e
                .as_service_error()
                .is_some_and(|s| s.is_queue_name_exists() || s.code() == Some("QueueAlreadyExists"));
            if !exists {
                return Err(format!("create queue {name}: {}", DisplayErrorContext(e)));
            }
            update_queue(sqs, name, attributes).await
        }
    }
}

async fn update_queue(
    sqs: &Client,
    name: &str,
    mut attributes: HashMap<QueueAttributeName, String>,
) -> Result<String, String> {
    let url = sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| format!("queue {name}: {}", DisplayErrorContext(e)))?
        .queue_url
        .ok_or_else(|| format!("queue {name}: no URL in the answer"))?;
    // Whether a queue is FIFO is fixed at creation (and in its name).
    attributes.remove(&QueueAttributeName::FifoQueue);
    sqs.set_queue_attributes()
        .queue_url(&url)
        .set_attributes(Some(attributes))
        .send()
        .await
        .map_err(|e| format!("update queue {name}: {}", DisplayErrorContext(e)))?;
    Ok(url)
}

/// The named attributes of a queue.
pub(crate) async fn queue_attributes(
    sqs: &Client,
    url: &str,
    names: &[QueueAttributeName],
) -> Result<HashMap<QueueAttributeName, String>, String> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .set_attribute_names(Some(names.to_vec()))
        .send()
        .await
        .map_err(|e| format!("queue {url}: {}", DisplayErrorContext(e)))?;
    Ok(out.attributes.unwrap_or_default())
}

async fn queue_arn(sqs: &Client, url: &str) -> Result<String, String> {
    queue_attributes(sqs, url, &[QueueAttributeName::QueueArn])
        .await?
        .remove(&QueueAttributeName::QueueArn)
        .ok_or_else(|| format!("queue {url} has no ARN"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Template;

    const TEMPLATE: &str = "
Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dead.Arn, maxReceiveCount: 3}
  Dead:
    Type: AWS::SQS::Queue
  Loop:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Loop.Arn, maxReceiveCount: 3}
";

    #[test]
    fn dead_letter_queues_come_first_and_cycles_are_refused() {
        let queues = Template::parse(TEMPLATE).unwrap().queues();
        let ids = |specs: Vec<&QueueSpec>| -> Vec<String> { specs.iter().map(|s| s.logical_id.clone()).collect() };
        let without_loop: Vec<QueueSpec> = queues.iter().filter(|q| q.logical_id != "Loop").cloned().collect();
        assert_eq!(ids(dead_letter_queues_first(&without_loop).unwrap()), ["Dead", "Work"]);
        assert!(dead_letter_queues_first(&queues).is_err());
    }
}
