//! The functions' environment: `Globals.Function` and every function's variables across the
//! templates, resolved locally. One env file serves every function under `cargo lambda watch`,
//! so a variable must resolve to one value or be given with `--set`.

use super::LocalResources;
use crate::template::Template;
use std::collections::BTreeMap;

/// Resolves every variable; `settings` (from `--set`) are taken as given and win. The error
/// names each variable that has no local value or two different ones.
pub fn resolve_environment(
    templates: &[Template],
    resources: &LocalResources,
    settings: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    // variable -> value -> where it is defined
    let mut candidates: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut problems: BTreeMap<String, String> = BTreeMap::new();
    for template in templates {
        let mut sources = vec![("Globals".to_owned(), template.global_environment())];
        for function in template.functions()? {
            sources.push((function.logical_id, function.environment));
        }
        for (source, variables) in sources {
            for (key, raw) in variables {
                if settings.contains_key(&key) {
                    continue;
                }
                match resources.resolve(&raw) {
                    Ok(value) => candidates.entry(key).or_default().entry(value).or_default().push(source.clone()),
                    Err(why) => {
                        problems.entry(key).or_insert_with(|| format!("in {source}: {why}"));
                    }
                }
            }
        }
    }
    for (key, values) in &candidates {
        if values.len() > 1 && !problems.contains_key(key) {
            let sources: Vec<String> = values.values().map(|s| s.join("+")).collect();
            problems.insert(key.clone(), format!("differs between {}", sources.join(" and ")));
        }
    }
    if !problems.is_empty() {
        let lines: Vec<String> =
            problems.iter().map(|(key, why)| format!("  {key}: {why}; give it with --set {key}=VALUE")).collect();
        return Err(format!("environment variables without one local value:\n{}", lines.join("\n")));
    }
    let mut environment: BTreeMap<String, String> =
        candidates.into_iter().filter_map(|(key, values)| Some((key, values.into_keys().next()?))).collect();
    environment.extend(settings.clone());
    Ok(environment)
}
