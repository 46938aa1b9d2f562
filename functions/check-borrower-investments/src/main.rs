#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hub::edge::serve(check_borrower_investments::handle).await
}
