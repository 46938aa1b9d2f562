//! Investor registration and interface 4 against moto: keyed-hash matching, phone spellings,
//! idempotent registration, roles.

use hub::domain::ports::InvestorStore;
use hub_tests::{Gateway, OTHER_PARTNER, OTHER_SECRET, TestHub, WEB_SECRET};
use serde_json::{Value, json};

fn investor(nik: &str, phone: &str) -> Value {
    json!({"name": "Dewi Lestari", "nik": nik, "phone": phone, "bankCode": "BCA",
           "bankName": "Bank Central Asia", "bankAccountNo": "1234567890", "bankAccountName": "DEWI LESTARI"})
}

async fn register(hub: &TestHub, body: &Value) -> hub_tests::Reply {
    hub.post("/v1/investors", body.to_string()).as_partner("web", WEB_SECRET).send().await
}

async fn check(hub: &TestHub, body: Value) -> hub_tests::Reply {
    hub.post("/v1/checks/borrower-investments", body.to_string()).send().await
}

#[tokio::test]
async fn registration_is_idempotent_and_conflicts_on_other_details() {
    let hub = TestHub::spawn().await;
    let first = register(&hub, &investor("3174055506900003", "081234567890")).await;
    assert_eq!((first.status, first.code()), (200, "OK"), "{}", first.body);
    let id = first.data()["investorId"].as_str().unwrap().to_owned();

    let again = register(&hub, &investor("3174055506900003", "+62 812-3456-7890")).await;
    assert_eq!(again.data()["investorId"], id.as_str(), "same person, phone spelled differently");

    let mut other_bank = investor("3174055506900003", "081234567890");
    other_bank["bankAccountNo"] = json!("999999999");
    assert_eq!(register(&hub, &other_bank).await.code(), "CONFLICT");

    let same_phone = register(&hub, &investor("3174055506900011", "6281234567890")).await;
    assert_eq!((same_phone.status, same_phone.code()), (409, "CONFLICT"), "phone belongs to another investor");

    let stored = hub.app.store.get_investor(&id).await.unwrap().unwrap();
    assert_eq!(stored.phone.as_str(), "6281234567890");
    assert_eq!(stored.active_investments, 0);
}

#[tokio::test]
async fn registration_names_every_bad_field_via_each_gateway() {
    let hub = TestHub::spawn().await;
    for gateway in Gateway::ALL {
        let bad = json!({"name": "", "nik": "12", "phone": "12", "bankCode": "NOPE", "bankName": "x", "bankAccountNo": "x1", "bankAccountName": "y"});
        let reply = hub.post("/v1/investors", bad.to_string()).as_partner("web", WEB_SECRET).via(gateway).send().await;
        assert_eq!(reply.status, 400);
        assert_eq!(reply.fields(), ["bankAccountNo", "bankCode", "name", "nik", "phone"]);
    }
}

#[tokio::test]
async fn only_the_right_partners_may_call() {
    let hub = TestHub::spawn().await;
    let as_originator =
        hub.post("/v1/investors", investor("3174055506900003", "081234567890").to_string()).send().await;
    assert_eq!((as_originator.status, as_originator.code()), (403, "FORBIDDEN"));
    let as_web = hub
        .post("/v1/checks/borrower-investments", json!({"phone": "081234567890"}).to_string())
        .as_partner("web", WEB_SECRET)
        .send()
        .await;
    assert_eq!(as_web.status, 403);
    let other_originator = hub
        .post("/v1/checks/borrower-investments", json!({"phone": "081234567890"}).to_string())
        .as_partner(OTHER_PARTNER, OTHER_SECRET)
        .send()
        .await;
    assert_eq!(other_originator.status, 200);
}

#[tokio::test]
async fn interface_4_answers_1_only_for_investors_with_active_investments() {
    let hub = TestHub::spawn().await;
    let id = register(&hub, &investor("3174055506900003", "081234567890")).await.data()["investorId"]
        .as_str()
        .unwrap()
        .to_owned();
    // Registered but nothing invested yet: 0.
    assert_eq!(check(&hub, json!({"nik": "3174055506900003"})).await.data()["result"], 0);

    // One active investment (set directly; investing itself is tested with the money chain).
    hub.dynamo
        .update_item()
        .table_name(hub.table())
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("INVESTOR#{id}")))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("INVESTOR".into()))
        .update_expression("SET #a = :one")
        .expression_attribute_names("#a", "activeInvestments")
        .expression_attribute_values(":one", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    for query in [
        json!({"nik": "3174055506900003"}),
        json!({"phone": "+62 812 3456 7890"}),
        json!({"phone": "6281234567890"}),
        json!({"nik": "3174055506900099", "phone": "0812-3456-7890"}),
    ] {
        let reply = check(&hub, query.clone()).await;
        assert_eq!((reply.code(), &reply.data()["result"]), ("OK", &json!(1)), "{query}");
    }
    assert_eq!(check(&hub, json!({"nik": "3174055506900099"})).await.data()["result"], 0);
    assert_eq!(check(&hub, json!({"phone": "081299999999"})).await.data()["result"], 0);

    let none = check(&hub, json!({})).await;
    assert_eq!((none.status, none.fields()), (400, vec!["nik".to_owned(), "phone".to_owned()]));
    let bad = check(&hub, json!({"nik": 3174055506900003u64})).await;
    assert_eq!((bad.status, bad.fields()), (400, vec!["nik".to_owned()]));
}
