pub mod dynamo;
pub mod originator;
pub mod payment;
pub mod sqs;
