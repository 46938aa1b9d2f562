//! template.yaml and the local stack agree: `cargo lambda watch`'s router mirrors the
//! HttpApi events, every function binary exists, and the table has what the issue asks.

use hub_tests::repo_root;
use hubctl::template::{Route, Template};
use serde_yaml::Value;

/// The hub's stack and the sandboxes' stack; `cargo lambda watch` serves both.
const TEMPLATES: [&str; 2] = ["template.yaml", "infra/sandbox-template.yaml"];

fn template() -> Template {
    Template::load(&repo_root().join("template.yaml")).unwrap()
}

fn all_routes() -> Vec<Route> {
    let mut routes: Vec<Route> =
        TEMPLATES.iter().flat_map(|t| Template::load(&repo_root().join(t)).unwrap().http_routes()).collect();
    routes.sort();
    routes
}

fn router_routes() -> Vec<Route> {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap()).unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"].as_table().unwrap();
    let mut routes: Vec<Route> = router
        .iter()
        .flat_map(|(path, entries)| {
            entries.as_array().unwrap().iter().map(move |e| Route {
                method: e["method"].as_str().unwrap().to_owned(),
                path: path.clone(),
                binary: e["function"].as_str().unwrap().to_owned(),
            })
        })
        .collect();
    routes.sort();
    routes
}

#[test]
fn watch_router_mirrors_the_template_routes() {
    let from_templates = all_routes();
    assert!(from_templates.len() >= 2, "{from_templates:?}");
    assert_eq!(router_routes(), from_templates);
}

#[test]
fn every_template_function_is_a_workspace_binary() {
    for route in all_routes() {
        let main = repo_root().join("functions").join(&route.binary).join("src/main.rs");
        assert!(main.exists(), "{} has no crate at {}", route.binary, main.display());
    }
}

#[test]
fn functions_are_rust_on_al2023_built_by_cargo_lambda() {
    let doc: Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("template.yaml")).unwrap()).unwrap();
    assert_eq!(doc["Globals"]["Function"]["Runtime"].as_str(), Some("provided.al2023"));
    let functions: Vec<&Value> = doc["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .collect();
    assert!(!functions.is_empty());
    for f in functions {
        assert_eq!(f["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"));
    }
}

#[test]
fn the_table_is_on_demand_with_ttl_and_point_in_time_recovery() {
    let tables = template().tables();
    let table = &tables.iter().find(|t| t.logical_id == "HubTable").unwrap().properties;
    assert_eq!(table["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"].as_bool(), Some(true));
    assert_eq!(table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(), Some(true));
}

#[test]
fn partner_secrets_come_from_secrets_manager_not_the_template() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    assert!(text.contains("{{resolve:secretsmanager:"));
    assert!(!text.contains("local-doit-secret"));
}
