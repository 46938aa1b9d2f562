//! Reads what the local stack needs out of `template.yaml`, so nothing is kept twice: the
//! DynamoDB tables and the HttpApi routes.

use serde_yaml::Value;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct Template {
    resources: serde_yaml::Mapping,
}

/// A `AWS::DynamoDB::Table` resource: its logical id and properties.
#[derive(Debug, Clone)]
pub struct TableSpec {
    pub logical_id: String,
    pub properties: Value,
}

/// One `HttpApi` event of a function: method, path and the cargo binary serving it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub binary: String,
}

impl Template {
    pub fn load(path: &Path) -> Result<Template, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Template::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Template, String> {
        let doc: Value = serde_yaml::from_str(text).map_err(|e| format!("template.yaml: {e}"))?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .cloned()
            .ok_or("template.yaml has no Resources")?;
        Ok(Template { resources })
    }

    fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (String, &'a Value)> + 'a {
        self.resources.iter().filter_map(move |(id, res)| {
            (res.get("Type").and_then(Value::as_str) == Some(kind))
                .then(|| (id.as_str().unwrap_or_default().to_owned(), res))
        })
    }

    pub fn tables(&self) -> Vec<TableSpec> {
        self.of_type("AWS::DynamoDB::Table")
            .map(|(logical_id, res)| TableSpec {
                logical_id,
                properties: res.get("Properties").cloned().unwrap_or(Value::Null),
            })
            .collect()
    }

    pub fn http_routes(&self) -> Vec<Route> {
        let mut routes: Vec<Route> = self
            .of_type("AWS::Serverless::Function")
            .flat_map(|(_, res)| {
                let binary = res
                    .get("Metadata")
                    .and_then(|m| m.get("BuildProperties"))
                    .and_then(|b| b.get("Binary"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let events = res
                    .get("Properties")
                    .and_then(|p| p.get("Events"))
                    .and_then(Value::as_mapping)
                    .cloned()
                    .unwrap_or_default();
                events
                    .into_iter()
                    .filter(|(_, e)| e.get("Type").and_then(Value::as_str) == Some("HttpApi"))
                    .filter_map(move |(_, e)| {
                        let props = e.get("Properties")?;
                        Some(Route {
                            method: props.get("Method")?.as_str()?.to_ascii_uppercase(),
                            path: props.get("Path")?.as_str()?.to_owned(),
                            binary: binary.clone(),
                        })
                    })
            })
            .collect();
        routes.sort();
        routes
    }
}
