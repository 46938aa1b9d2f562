use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use payment_sandbox_callbacks::Worker;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let worker: &'static Worker = Box::leak(Box::new(Worker::from_env()?));
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, std::convert::Infallible>(payment_sandbox_callbacks::handle(worker, event.payload).await)
    }))
    .await
}
