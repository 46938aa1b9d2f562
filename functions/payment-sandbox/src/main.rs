#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hub::sandbox::serve(payment_sandbox::Payment::from_env(), payment_sandbox::handle).await
}
