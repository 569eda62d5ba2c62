//! Named HTML body templates for email (`email_template = "weekly_picks"`).
//!
//! These are user-facing Jinja templates (rendered by minijinja with HTML
//! auto-escaping), not the system's askama layouts: the body goes inside
//! `templates/email.html`. Built-ins ship in `templates/content/`; an
//! operator may add a folder of `*.html` files.

use std::collections::BTreeMap;
use std::path::Path;

/// The body used when a variant has an email subject but names no body.
pub const DEFAULT_EMAIL_TEMPLATE: &str = "default";

/// Email body templates by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateLibrary {
    /// Template source by name (file stem).
    templates: BTreeMap<String, String>,
}

impl Default for TemplateLibrary {
    fn default() -> Self {
        Self::builtin()
    }
}

impl TemplateLibrary {
    /// The built-in bodies: `default` (the push body and the items) and
    /// `weekly_picks` (a product grid).
    pub fn builtin() -> Self {
        let mut templates = BTreeMap::new();
        let builtin = [
            (
                DEFAULT_EMAIL_TEMPLATE,
                include_str!("../../templates/content/default.html"),
            ),
            (
                "weekly_picks",
                include_str!("../../templates/content/weekly_picks.html"),
            ),
        ];
        for (name, source) in builtin {
            templates.insert(name.to_owned(), source.to_owned());
        }
        Self { templates }
    }

    /// Adds or replaces a template.
    pub fn insert(&mut self, name: impl Into<String>, source: impl Into<String>) {
        self.templates.insert(name.into(), source.into());
    }

    /// Adds every `*.html` file of `dir`, named by file stem.
    pub fn load_dir(&mut self, dir: &Path) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let stem = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned);
            if let (Some(stem), Some("html")) = (stem, path.extension().and_then(|e| e.to_str())) {
                let source = std::fs::read_to_string(&path)?;
                self.insert(stem, source);
            }
        }
        Ok(())
    }

    /// The source of a named template.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.templates.get(name).map(String::as_str)
    }

    /// The known names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.templates.keys().map(String::as_str)
    }
}
