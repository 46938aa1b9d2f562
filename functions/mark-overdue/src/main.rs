#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hub::worker::serve_scheduled(mark_overdue::run).await
}
