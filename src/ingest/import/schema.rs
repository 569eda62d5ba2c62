//! The columns each import kind expects (SPEC §3): which are required,
//! which are typed and optional, and whether extra columns are kept as
//! attributes. A CSV header is checked against this before any write.

/// The expected columns of one kind of file.
#[derive(Debug)]
pub struct Schema {
    /// Columns every file must have.
    pub required: &'static [&'static str],
    /// Typed columns a file may have.
    pub optional: &'static [&'static str],
    /// Whether unknown columns are kept (as attributes) or rejected.
    pub extras: bool,
}

/// users: `user_id` plus typed contact and profile columns; extras kept.
pub const USERS: Schema = Schema {
    required: &["user_id"],
    optional: &[
        "email",
        "phone",
        "timezone",
        "locale",
        "country",
        "city",
        "age",
        "gender",
        "signup_at",
        "consent_push",
        "consent_email",
        "consent_sms",
    ],
    extras: true,
};

/// items: `item_id` and `title`; extras kept.
pub const ITEMS: Schema = Schema {
    required: &["item_id", "title"],
    optional: &[
        "category",
        "brand",
        "price",
        "currency",
        "url",
        "image_url",
        "in_stock",
        "created_at",
    ],
    extras: true,
};

/// events: who, what and when; `item_id` and `value` optional.
pub const EVENTS: Schema = Schema {
    required: &["user_id", "event", "ts"],
    optional: &["item_id", "value"],
    extras: false,
};

/// devices: owner, platform and token.
pub const DEVICES: Schema = Schema {
    required: &["user_id", "platform", "token"],
    optional: &["app_id", "created_at"],
    extras: false,
};

impl Schema {
    /// Whether `name` is one of this schema's typed columns.
    pub fn knows(&self, name: &str) -> bool {
        self.required.contains(&name) || self.optional.contains(&name)
    }

    /// Checks a CSV header: no missing required column, no duplicate, and
    /// no unknown column where extras are not allowed.
    pub fn check_header(&self, names: &[String]) -> Result<(), String> {
        let missing: Vec<&str> = self
            .required
            .iter()
            .copied()
            .filter(|r| !names.iter().any(|n| n == r))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "header is missing required column(s): {} (expected {})",
                missing.join(", "),
                self.expected()
            ));
        }
        if let Some(dup) = names
            .iter()
            .enumerate()
            .find_map(|(i, n)| names[..i].contains(n).then_some(n))
        {
            return Err(format!("header names column `{dup}` twice"));
        }
        let unknown: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| !self.knows(n))
            .collect();
        if !self.extras && !unknown.is_empty() {
            return Err(format!(
                "header has unknown column(s): {} (expected {})",
                unknown.join(", "),
                self.expected()
            ));
        }
        Ok(())
    }

    fn expected(&self) -> String {
        let mut all: Vec<&str> = self.required.to_vec();
        all.extend(self.optional.iter().copied());
        all.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_header_without_a_required_column_names_it() {
        let err = EVENTS
            .check_header(&names(&["user_id", "event"]))
            .unwrap_err();
        assert!(err.contains("missing required column(s): ts"), "{err}");
    }

    #[test]
    fn unknown_columns_are_attributes_for_users_but_errors_for_events() {
        assert!(
            USERS
                .check_header(&names(&["user_id", "first_name"]))
                .is_ok()
        );
        let err = EVENTS
            .check_header(&names(&["user_id", "event", "ts", "timestamp"]))
            .unwrap_err();
        assert!(err.contains("unknown column(s): timestamp"), "{err}");
    }

    #[test]
    fn duplicate_columns_are_rejected() {
        let err = USERS
            .check_header(&names(&["user_id", "email", "email"]))
            .unwrap_err();
        assert!(err.contains("`email` twice"), "{err}");
    }
}
