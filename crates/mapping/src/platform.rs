//! The email platforms this crate shapes output for, and their rules on variable names.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An email platform (or plain JSON Lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Platform {
    /// SendGrid Mail Send v3: `personalizations[].dynamic_template_data`, at most 1000
    /// personalizations per request; variables are Handlebars identifiers.
    #[serde(rename = "sendgrid")]
    SendGrid,
    /// Mailchimp Marketing API batch subscribe (`POST /lists/{list_id}`): merge fields with tags of at most 10 upper-case
    /// characters, `ADDRESS`-type fields as objects, at most 500 members per request.
    Mailchimp,
    /// Braze `/users/track`: attributes objects, string values at most 255 characters, at most
    /// 75 attribute objects per request.
    Braze,
    /// Klaviyo profile import: standard fields plus `properties`, phone numbers in E.164, at
    /// most 10000 profiles per bulk job.
    Klaviyo,
    /// One JSON object per recipient and line.
    #[serde(rename = "jsonl")]
    JsonLines,
}

impl Platform {
    /// Every platform.
    pub const ALL: [Platform; 5] = [
        Platform::SendGrid,
        Platform::Mailchimp,
        Platform::Braze,
        Platform::Klaviyo,
        Platform::JsonLines,
    ];

    /// The name used in configuration (`sendgrid`, `mailchimp`, `braze`, `klaviyo`, `jsonl`).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::SendGrid => "sendgrid",
            Platform::Mailchimp => "mailchimp",
            Platform::Braze => "braze",
            Platform::Klaviyo => "klaviyo",
            Platform::JsonLines => "jsonl",
        }
    }

    /// The most recipients one request (or batch) may carry.
    pub fn batch_limit(self) -> usize {
        match self {
            Platform::SendGrid => 1000,
            Platform::Mailchimp => 500,
            Platform::Braze => 75,
            Platform::Klaviyo => 10_000,
            Platform::JsonLines => usize::MAX,
        }
    }

    /// The key a variable is written under: the upper-case merge tag for Mailchimp, the name
    /// itself elsewhere.
    pub fn key(self, name: &str) -> String {
        match self {
            Platform::Mailchimp => name.to_ascii_uppercase(),
            _ => name.to_string(),
        }
    }

    /// Why the platform would take the variables `a` and `b` for one (Mailchimp's merge tags
    /// are upper case, so `fname` and `FNAME` are both `FNAME`), if it would.
    pub fn check_pair(self, a: &str, b: &str) -> Option<String> {
        (a != b && self.key(a) == self.key(b)).then(|| {
            format!(
                "`{a}` and `{b}` are both written as `{}` for {self}; rename one of them",
                self.key(a)
            )
        })
    }

    /// Why the platform would reject a variable named `name`, if it would.
    pub fn check_name(self, name: &str) -> Option<String> {
        if name.is_empty() {
            return Some("a variable name cannot be empty".into());
        }
        let ident = |s: &str| {
            let mut chars = s.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        match self {
            Platform::SendGrid => (!ident(name)).then(|| {
                "sendgrid handlebars variables must be letters, digits and `_`, not starting with a digit".into()
            }),
            Platform::Mailchimp => {
                let tag = name.to_ascii_uppercase();
                if tag.len() > 10 || !ident(&tag) {
                    Some(format!(
                        "mailchimp merge tag `{tag}` must be at most 10 letters, digits or `_`, not starting with a digit"
                    ))
                } else if ["EMAIL", "UNSUB", "FORWARD", "LIST", "ARCHIVE", "REWARDS"].contains(&tag.as_str()) {
                    Some(format!("mailchimp reserves the merge tag `{tag}`"))
                } else {
                    None
                }
            }
            Platform::Braze => {
                // "Custom attribute keys and values have a maximum length of 255 characters"
                // (Braze, "Setting custom attributes"): characters, not bytes.
                if name.chars().count() > 255 {
                    Some("braze attribute names are at most 255 characters".into())
                } else if name.starts_with('$') {
                    Some("braze attribute names cannot start with `$`".into())
                } else if ["external_id", "braze_id", "user_alias", "email"].contains(&name) {
                    Some(format!("`{name}` is set by the exporter from the profile; rename the variable"))
                } else {
                    None
                }
            }
            Platform::Klaviyo => {
                if name.starts_with('$') {
                    Some("klaviyo property names cannot start with `$`".into())
                } else if ["email", "id", "external_id"].contains(&name) {
                    Some(format!("`{name}` is set by the exporter from the profile; rename the variable"))
                } else {
                    None
                }
            }
            Platform::JsonLines => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(Platform::SendGrid.check_name("first_name").is_none());
        assert!(Platform::SendGrid.check_name("first name").is_some());
        assert!(Platform::Mailchimp.check_name("fname").is_none());
        assert!(Platform::Mailchimp.check_name("first_name_x").is_some());
        assert!(Platform::Mailchimp.check_name("email").is_some());
        assert!(Platform::Braze.check_name("$x").is_some());
        assert!(Platform::Klaviyo.check_name("email").is_some());
        assert!(Platform::JsonLines.check_name("any thing").is_none());
        assert_eq!(Platform::Mailchimp.key("fname"), "FNAME");
        let why = Platform::Mailchimp.check_pair("fname", "FNAME").unwrap();
        assert!(why.contains("`fname`") && why.contains("`FNAME`"), "{why}");
        assert!(Platform::SendGrid.check_pair("fname", "FNAME").is_none());
        assert!(Platform::Mailchimp.check_pair("city", "city").is_none());
        // Braze counts characters: 255 of `é` are 510 bytes and still allowed.
        assert!(Platform::Braze.check_name(&"é".repeat(255)).is_none());
        assert!(Platform::Braze.check_name(&"é".repeat(256)).is_some());
    }
}
