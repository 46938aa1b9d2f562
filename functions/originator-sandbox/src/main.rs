#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hub::sandbox::serve(originator_sandbox::Originator::from_env(), originator_sandbox::handle).await
}
