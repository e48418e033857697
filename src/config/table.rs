//! The README's configuration table, rendered from the settings' declarations. `educoin config-table`
//! prints it, `--write` puts it between the README's markers, and a test fails when it is stale.

use std::path::Path;

use super::catalog;
use super::kinds::UNSET;

pub const BEGIN: &str = "<!-- config-table:begin -->";
pub const END: &str = "<!-- config-table:end -->";

/// The Markdown table, one row per setting in declaration order.
pub fn render() -> String {
    let mut out = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for s in catalog() {
        let name = if s.secret {
            format!("`{}` (secret)", s.name)
        } else {
            format!("`{}`", s.name)
        };
        let default = if s.default == UNSET || s.default.is_empty() {
            "unset".to_owned()
        } else {
            format!("`{}`", s.default)
        };
        out.push_str(&format!("| {name} | {default} | {} |\n", escape(s.doc)));
    }
    out
}

/// A doc line as a Markdown table cell: `|` would end the cell.
fn escape(doc: &str) -> String {
    doc.replace('|', "\\|")
}

/// `readme` with the text between the markers replaced by the current table.
pub fn splice(readme: &str) -> Result<String, String> {
    let start = readme
        .find(BEGIN)
        .ok_or_else(|| format!("no {BEGIN} marker"))?;
    let end = readme.find(END).ok_or_else(|| format!("no {END} marker"))?;
    if end < start {
        return Err(format!("{END} comes before {BEGIN}"));
    }
    Ok(format!(
        "{}{BEGIN}\n{}{}",
        &readme[..start],
        render(),
        &readme[end..]
    ))
}

/// Rewrites the README at `path` with the current table; tells whether it changed.
pub fn write(path: &Path) -> std::io::Result<bool> {
    let readme = std::fs::read_to_string(path)?;
    let current = splice(&readme).map_err(std::io::Error::other)?;
    if current == readme {
        return Ok(false);
    }
    std::fs::write(path, current)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_configuration_table_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let current = splice(&readme).unwrap();
        assert!(
            current == readme,
            "README.md's configuration table is stale: run `cargo run -q -- config-table --write`"
        );
    }

    #[test]
    fn every_setting_has_one_row() {
        let table = render();
        for s in catalog() {
            assert_eq!(
                table.matches(&format!("| `{}`", s.name)).count(),
                1,
                "{}",
                s.name
            );
        }
    }
}
