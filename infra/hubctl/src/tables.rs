//! Creates a table in a local DynamoDB (moto) exactly as `template.yaml` defines it.

use crate::template::TableSpec;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_yaml::Value;

fn text<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| format!("table property {key} missing"))
}

fn list<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    v.get(key).and_then(Value::as_sequence).ok_or_else(|| format!("table property {key} missing"))
}

fn key_schema(v: &Value) -> Result<Vec<KeySchemaElement>, String> {
    list(v, "KeySchema")?
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName")?)
                .key_type(KeyType::from(text(k, "KeyType")?))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Creates `name` from the spec (keys, billing, TTL, point-in-time recovery). An existing
/// table of that name is left alone.
pub async fn create_table(client: &Client, spec: &TableSpec, name: &str) -> Result<(), String> {
    let p = &spec.properties;
    let attributes = list(p, "AttributeDefinitions")?
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(text(a, "AttributeType")?))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let indexes = match p.get("GlobalSecondaryIndexes").and_then(Value::as_sequence) {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|gsi| {
                    let projection = Projection::builder()
                        .projection_type(ProjectionType::from(
                            gsi.get("Projection").map(|p| text(p, "ProjectionType")).transpose()?.unwrap_or("ALL"),
                        ))
                        .build();
                    GlobalSecondaryIndex::builder()
                        .index_name(text(gsi, "IndexName")?)
                        .set_key_schema(Some(key_schema(gsi)?))
                        .projection(projection)
                        .build()
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, String>>()?,
        ),
    };
    let created = client
        .create_table()
        .set_global_secondary_indexes(indexes)
        .table_name(name)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(p)?))
        .billing_mode(BillingMode::from(text(p, "BillingMode").unwrap_or("PAY_PER_REQUEST")))
        .send()
        .await;
    if let Err(e) = created {
        let already = e.as_service_error().map(|s| s.is_resource_in_use_exception()).unwrap_or(false);
        if already {
            return Ok(());
        }
        return Err(format!("create table {name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)));
    }
    if let Some(ttl) = p.get("TimeToLiveSpecification") {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(text(ttl, "AttributeName")?)
            .enabled(ttl.get("Enabled").and_then(Value::as_bool).unwrap_or(false))
            .build()
            .map_err(|e| e.to_string())?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| format!("TTL on {name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    }
    let pitr = p
        .get("PointInTimeRecoverySpecification")
        .and_then(|s| s.get("PointInTimeRecoveryEnabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if pitr {
        let spec = PointInTimeRecoverySpecification::builder()
            .point_in_time_recovery_enabled(true)
            .build()
            .map_err(|e| e.to_string())?;
        client
            .update_continuous_backups()
            .table_name(name)
            .point_in_time_recovery_specification(spec)
            .send()
            .await
            .map_err(|e| format!("PITR on {name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    }
    Ok(())
}
