//! The resources the local stack created, by logical id, and how template values resolve
//! against them (`!Ref`, `!GetAtt`, `!Sub`).

use super::LOCAL_ACCOUNT;
use crate::template::Intrinsic;
use serde_yaml::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalResource {
    Table { name: String, arn: String },
    Queue { name: String, url: String, arn: String },
}

#[derive(Debug, Clone, Default)]
pub struct LocalResources {
    region: String,
    by_logical_id: BTreeMap<String, LocalResource>,
}

impl LocalResources {
    pub fn new(region: &str) -> LocalResources {
        LocalResources { region: region.to_owned(), by_logical_id: BTreeMap::new() }
    }

    pub fn insert(&mut self, logical_id: &str, resource: LocalResource) {
        self.by_logical_id.insert(logical_id.to_owned(), resource);
    }

    pub fn get(&self, logical_id: &str) -> Option<&LocalResource> {
        self.by_logical_id.get(logical_id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &LocalResource)> {
        self.by_logical_id.iter()
    }

    /// The local value of a template value, or why there is none.
    pub fn resolve(&self, value: &Value) -> Result<String, String> {
        match Intrinsic::of(value) {
            Intrinsic::Literal(text) => Ok(text),
            Intrinsic::Ref(id) => self.reference(&id),
            Intrinsic::GetAtt { resource, attribute } => self.attribute(&resource, &attribute),
            Intrinsic::Sub(text) => self.substitute(&text),
            Intrinsic::Unsupported(what) => Err(format!("{what} has no local value")),
        }
    }

    fn reference(&self, id: &str) -> Result<String, String> {
        match (id, self.get(id)) {
            ("AWS::Region", _) => Ok(self.region.clone()),
            ("AWS::AccountId", _) => Ok(LOCAL_ACCOUNT.to_owned()),
            (_, Some(LocalResource::Table { name, .. })) => Ok(name.clone()),
            (_, Some(LocalResource::Queue { url, .. })) => Ok(url.clone()),
            (_, None) => Err(format!(
                "!Ref {id} has no local value (a parameter, or a resource the local stack does not create)"
            )),
        }
    }

    fn attribute(&self, id: &str, attribute: &str) -> Result<String, String> {
        match (self.get(id), attribute) {
            (Some(LocalResource::Table { arn, .. }), "Arn") => Ok(arn.clone()),
            (Some(LocalResource::Queue { arn, .. }), "Arn") => Ok(arn.clone()),
            (Some(LocalResource::Queue { name, .. }), "QueueName") => Ok(name.clone()),
            (Some(LocalResource::Queue { url, .. }), "QueueUrl") => Ok(url.clone()),
            _ => Err(format!("!GetAtt {id}.{attribute} has no local value")),
        }
    }

    /// `!Sub` with `${Resource}`, `${Resource.Attribute}`, `${!Literal}`; no dynamic references.
    fn substitute(&self, text: &str) -> Result<String, String> {
        if text.contains("{{resolve:") {
            return Err("a dynamic reference ({{resolve:...}}) has no local value".to_owned());
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| format!("!Sub {text:?}: unclosed ${{"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&self.attribute(resource, attribute)?);
            } else {
                out.push_str(&self.reference(name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources() -> LocalResources {
        let mut r = LocalResources::new("ap-southeast-3");
        r.insert("Jobs", LocalResource::Table { name: "jobs".into(), arn: "arn:table".into() });
        r.insert(
            "Work",
            LocalResource::Queue {
                name: "Work.fifo".into(),
                url: "http://q/Work.fifo".into(),
                arn: "arn:queue".into(),
            },
        );
        r
    }

    fn resolve(yaml: &str) -> Result<String, String> {
        let value: Value = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
        resources().resolve(&value)
    }

    #[test]
    fn short_and_long_forms_resolve_alike() {
        assert_eq!(resolve("!Ref Jobs").as_deref(), Ok("jobs"));
        assert_eq!(resolve("{Ref: Work}").as_deref(), Ok("http://q/Work.fifo"));
        assert_eq!(resolve("!GetAtt Work.QueueName").as_deref(), Ok("Work.fifo"));
        assert_eq!(resolve("{'Fn::GetAtt': [Jobs, Arn]}").as_deref(), Ok("arn:table"));
        assert_eq!(resolve("7").as_deref(), Ok("7"));
    }

    #[test]
    fn sub_resolves_resources_and_keeps_escapes() {
        assert_eq!(
            resolve("!Sub '${Work.Arn}/${AWS::Region}/${!Keep}'").as_deref(),
            Ok("arn:queue/ap-southeast-3/${Keep}")
        );
    }

    #[test]
    fn parameters_and_dynamic_references_have_no_local_value() {
        assert!(resolve("!Ref SecretArn").is_err());
        assert!(resolve("!Sub '{{resolve:secretsmanager:${SecretArn}:SecretString}}'").is_err());
        assert!(resolve("!GetAtt Jobs.StreamArn").is_err());
        assert!(resolve("!Join [',', [a, b]]").is_err());
    }
}
