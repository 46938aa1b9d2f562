//! Writes the env file `cargo lambda watch --env-file` reads (the env-file-reader format): a
//! value stays bare when it has no blank, quote, `#` or `=`; otherwise it is wrapped in the
//! first of `'`, `` ` ``, `"` it does not contain (the reader has no other escapes).

use std::collections::BTreeMap;

const QUOTES: [char; 3] = ['\'', '`', '"'];

fn is_bare(value: &str) -> bool {
    !value.is_empty() && !value.chars().any(|c| c.is_whitespace() || matches!(c, '=' | '\'' | '`' | '"' | '#'))
}

fn is_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn line(key: &str, value: &str) -> Result<String, String> {
    if !is_key(key) {
        return Err(format!("{key:?} is not an environment variable name"));
    }
    if is_bare(value) {
        return Ok(format!("{key}={value}"));
    }
    // Inside quotes the reader turns the two characters \n into a newline.
    let quote = QUOTES
        .into_iter()
        .find(|q| !value.contains(*q))
        .filter(|_| !value.contains("\\n"))
        .ok_or_else(|| format!("{key}: its value cannot be written to an env file"))?;
    Ok(format!("{key}={quote}{value}{quote}"))
}

/// The whole file: a comment line, then one `KEY=VALUE` line per variable.
pub fn render(variables: &BTreeMap<String, String>, comment: &str) -> Result<String, String> {
    let mut out = format!("# {comment}\n");
    for (key, value) in variables {
        out.push_str(&line(key, value)?);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::line;

    #[test]
    fn plain_values_stay_bare_and_others_are_quoted() {
        assert_eq!(line("A", "http://127.0.0.1:5088/x").unwrap(), "A=http://127.0.0.1:5088/x");
        assert_eq!(line("S", r#"{"doit":"x"}"#).unwrap(), r#"S='{"doit":"x"}'"#);
        assert_eq!(line("Q", "it's").unwrap(), "Q=`it's`");
        assert_eq!(line("E", "").unwrap(), "E=''");
        assert_eq!(line("H", "a#b c").unwrap(), "H='a#b c'");
    }

    #[test]
    fn unwritable_values_and_bad_names_are_errors() {
        assert!(line("X", r#"'`""#).is_err());
        assert!(line("X", r"a b\nc").is_err());
        assert!(line("1X", "v").is_err());
    }
}
