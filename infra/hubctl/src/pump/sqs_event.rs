//! The SQS event Lambda sends a function, and what a function's answer means for the batch.

use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{Message, MessageAttributeValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

use super::Outcome;

fn base64(blob: &Blob) -> String {
    STANDARD.encode(blob.as_ref())
}

fn message_attribute(value: &MessageAttributeValue) -> Value {
    let mut out = json!({
        "stringListValues": value.string_list_values(),
        "binaryListValues": value.binary_list_values().iter().map(base64).collect::<Vec<_>>(),
        "dataType": value.data_type(),
    });
    if let Some(text) = value.string_value() {
        out["stringValue"] = json!(text);
    }
    if let Some(blob) = value.binary_value() {
        out["binaryValue"] = json!(base64(blob));
    }
    out
}

/// moto gives a FIFO message a `SequenceNumber` only when it was sent with an explicit
/// `MessageDeduplicationId`. SQS always does; this stand-in is stable for the message and
/// orders by send time: the 13-digit `SentTimestamp` and 7 digits from the message id.
fn stand_in_sequence_number(attributes: &Map<String, Value>, message_id: &str) -> String {
    let sent: u64 =
        attributes.get("SentTimestamp").and_then(Value::as_str).and_then(|t| t.parse().ok()).unwrap_or_default();
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(message_id, &mut hasher);
    format!("{sent:013}{:07}", std::hash::Hasher::finish(&hasher) % 10_000_000)
}

fn record(message: &Message, queue_arn: &str, region: &str, fifo: bool) -> Value {
    // System attributes as SQS returned them (FIFO queues add MessageGroupId,
    // MessageDeduplicationId and SequenceNumber).
    let mut attributes: Map<String, Value> = message
        .attributes()
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.as_str().to_owned(), json!(value)))
        .collect();
    if fifo && !attributes.contains_key("SequenceNumber") {
        let stand_in = stand_in_sequence_number(&attributes, message.message_id().unwrap_or_default());
        attributes.insert("SequenceNumber".to_owned(), json!(stand_in));
    }
    let message_attributes: Map<String, Value> = message
        .message_attributes()
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.clone(), message_attribute(value)))
        .collect();
    let mut out = json!({
        "messageId": message.message_id(),
        "receiptHandle": message.receipt_handle(),
        "body": message.body().unwrap_or_default(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.md5_of_body(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    });
    if let Some(md5) = message.md5_of_message_attributes() {
        out["md5OfMessageAttributes"] = json!(md5);
    }
    out
}

/// The event for one batch, as Lambda's SQS event source mapping builds it.
pub fn sqs_event(messages: &[Message], queue_arn: &str, region: &str, fifo: bool) -> Value {
    let records: Vec<Value> = messages.iter().map(|m| record(m, queue_arn, region, fifo)).collect();
    json!({ "Records": records })
}

/// What happens to a delivered batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    DeleteAll,
    /// Delete all but these message ids (the function's `batchItemFailures`).
    KeepFailed(BTreeSet<String>),
    /// Delete nothing: the whole batch comes back after the visibility timeout.
    KeepAll(String),
}

impl Settlement {
    pub fn deletes(&self, message_id: &str) -> bool {
        match self {
            Settlement::DeleteAll => true,
            Settlement::KeepFailed(failed) => !failed.contains(message_id),
            Settlement::KeepAll(_) => false,
        }
    }
}

/// Lambda's rules: an error or timeout keeps the batch; success deletes it, except the
/// messages named in `batchItemFailures` when the mapping has `ReportBatchItemFailures`.
pub fn settle(outcome: &Outcome, report_batch_item_failures: bool, batch: &[&str]) -> Settlement {
    match outcome {
        Outcome::Answered(_) if !report_batch_item_failures => Settlement::DeleteAll,
        Outcome::Answered(payload) => batch_item_failures(payload, batch),
        Outcome::FunctionError(kind) => Settlement::KeepAll(format!("function error {kind}")),
        Outcome::TimedOut => Settlement::KeepAll("timed out".to_owned()),
        Outcome::Unreachable(why) => Settlement::KeepAll(format!("not invoked: {why}")),
    }
}

/// An empty or null answer or list is a complete success; an invalid answer, or an item
/// identifier that is empty or not in the batch, fails the whole batch.
fn batch_item_failures(payload: &[u8], batch: &[&str]) -> Settlement {
    let invalid = |why: &str| Settlement::KeepAll(format!("invalid batch response: {why}"));
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Settlement::DeleteAll;
    }
    let answer: Value = match serde_json::from_slice(payload) {
        Ok(answer) => answer,
        Err(_) => return invalid("not JSON"),
    };
    let failures = match &answer {
        Value::Null => return Settlement::DeleteAll,
        Value::Object(fields) => match fields.get("batchItemFailures") {
            None | Some(Value::Null) => return Settlement::DeleteAll,
            Some(Value::Array(items)) => items,
            Some(_) => return invalid("batchItemFailures is not a list"),
        },
        _ => return invalid("not an object"),
    };
    let mut failed = BTreeSet::new();
    for item in failures {
        match item.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if batch.contains(&id) => failed.insert(id.to_owned()),
            _ => return invalid("an itemIdentifier is missing, empty or not in the batch"),
        };
    }
    if failed.is_empty() { Settlement::DeleteAll } else { Settlement::KeepFailed(failed) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::types::MessageSystemAttributeName as Attr;

    fn message() -> Message {
        Message::builder()
            .message_id("m-1")
            .receipt_handle("rh-1")
            .body("{\"hello\":1}")
            .md5_of_body("md5")
            .attributes(Attr::ApproximateReceiveCount, "1")
            .attributes(Attr::SentTimestamp, "1700000000000")
            .attributes(Attr::MessageGroupId, "g")
            .message_attributes(
                "kind",
                MessageAttributeValue::builder().data_type("String").string_value("claim").build().unwrap(),
            )
            .build()
    }

    #[test]
    fn the_event_parses_as_the_rust_runtime_parses_it() {
        let event = sqs_event(&[message()], "arn:aws:sqs:r:1:q.fifo", "r", true);
        let parsed: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(event).unwrap();
        let record = &parsed.records[0];
        assert_eq!(record.message_id.as_deref(), Some("m-1"));
        assert_eq!(record.body.as_deref(), Some("{\"hello\":1}"));
        assert_eq!(record.attributes["ApproximateReceiveCount"], "1");
        assert_eq!(record.attributes["MessageGroupId"], "g");
        let sequence = &record.attributes["SequenceNumber"];
        assert!(sequence.starts_with("1700000000000") && sequence.len() == 20);
        assert_eq!(record.message_attributes["kind"].string_value.as_deref(), Some("claim"));
        assert_eq!(record.event_source.as_deref(), Some("aws:sqs"));
        assert_eq!(record.event_source_arn.as_deref(), Some("arn:aws:sqs:r:1:q.fifo"));
    }

    #[test]
    fn batch_responses_follow_lambdas_rules() {
        let batch = ["a", "b"];
        let answer = |text: &str| settle(&Outcome::Answered(text.into()), true, &batch);
        assert_eq!(answer(""), Settlement::DeleteAll);
        assert_eq!(answer("null"), Settlement::DeleteAll);
        assert_eq!(answer("{}"), Settlement::DeleteAll);
        assert_eq!(answer(r#"{"batchItemFailures":[]}"#), Settlement::DeleteAll);
        assert_eq!(
            answer(r#"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#),
            Settlement::KeepFailed(["b".to_owned()].into())
        );
        for invalid in [
            "not json",
            r#"{"batchItemFailures":[{"itemIdentifier":""}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":"zzz"}]}"#,
            r#"{"batchItemFailures":[{"id":"a"}]}"#,
        ] {
            assert!(matches!(answer(invalid), Settlement::KeepAll(_)), "{invalid}");
        }
        let plain = settle(&Outcome::Answered(b"whatever".to_vec()), false, &batch);
        assert_eq!(plain, Settlement::DeleteAll);
        assert!(matches!(settle(&Outcome::TimedOut, true, &batch), Settlement::KeepAll(_)));
    }

    #[test]
    fn the_batch_response_type_of_the_runtime_is_understood() {
        let mut response = aws_lambda_events::event::sqs::SqsBatchResponse::default();
        let mut failure = aws_lambda_events::event::sqs::BatchItemFailure::default();
        failure.item_identifier = "a".to_owned();
        response.batch_item_failures.push(failure);
        let payload = serde_json::to_vec(&response).unwrap();
        assert_eq!(
            settle(&Outcome::Answered(payload), true, &["a", "b"]),
            Settlement::KeepFailed(["a".to_owned()].into())
        );
    }
}
