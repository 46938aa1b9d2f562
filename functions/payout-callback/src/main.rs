#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hub::edge::serve(payout_callback::handle).await
}
