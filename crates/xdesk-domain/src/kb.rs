//! Knowledge-base articles as Markdown files with TOML front matter, one file per article and
//! language (`<slug>.<lang>.md`; files sharing a slug are translations of each other). The
//! format an exchange imports its FAQ in and keeps its articles in git with.

use crate::FieldError;
use crate::issue_type::IssueType;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Languages articles are written in.
pub const LANGUAGES: &[&str] = &["en", "zh"];

/// What the front matter says of an article in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub category: String,
    #[serde(default)]
    pub section: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The ticket issue types it answers.
    #[serde(default)]
    pub answers: Vec<String>,
    /// `draft` or `published`.
    #[serde(default = "published")]
    pub status: String,
    /// `public`, or `internal` for agents only.
    #[serde(default = "public")]
    pub visibility: String,
}

fn published() -> String {
    "published".into()
}

fn public() -> String {
    "public".into()
}

/// `_categories.toml`: the categories and their sections, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Categories {
    #[serde(default)]
    pub category: Vec<CategoryDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDef {
    pub slug: String,
    pub name_en: String,
    pub name_zh: String,
    #[serde(default)]
    pub description_en: String,
    #[serde(default)]
    pub description_zh: String,
    #[serde(default)]
    pub section: Vec<SectionDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionDef {
    pub slug: String,
    pub name_en: String,
    pub name_zh: String,
}

impl Categories {
    pub fn parse(text: &str) -> Result<Categories, FieldError> {
        let c: Categories = toml::from_str(text)
            .map_err(|e| bad("categories", "invalid_categories", e.message().to_owned()))?;
        for cat in &c.category {
            check_slug(&cat.slug).map_err(|e| e.for_field("category"))?;
            for s in &cat.section {
                check_slug(&s.slug).map_err(|e| e.for_field("section"))?;
            }
            if cat.name_en.trim().is_empty() || cat.name_zh.trim().is_empty() {
                return Err(bad(
                    "category",
                    "invalid_name",
                    format!("`{}` needs both names", cat.slug),
                ));
            }
        }
        Ok(c)
    }

    pub fn to_text(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Whether `category` (and `section`, if given) is defined here.
    pub fn has(&self, category: &str, section: Option<&str>) -> bool {
        self.category.iter().any(|c| {
            c.slug == category && section.is_none_or(|s| c.section.iter().any(|x| x.slug == s))
        })
    }
}

/// One article in one language, as a file holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleFile {
    pub slug: String,
    pub language: String,
    pub front: FrontMatter,
    /// Markdown.
    pub body: String,
}

fn bad(field: &str, code: &'static str, reason: impl Into<String>) -> FieldError {
    FieldError::new(field, code, reason)
}

/// A slug: lowercase ASCII letters, digits and single dashes, 1–100 characters.
pub fn check_slug(slug: &str) -> Result<(), FieldError> {
    let ok = !slug.is_empty()
        && slug.len() <= 100
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--");
    if ok {
        Ok(())
    } else {
        Err(bad(
            "slug",
            "invalid_slug",
            format!("`{slug}` is not a slug like deposit-not-credited"),
        ))
    }
}

impl FrontMatter {
    /// Checks every value, so a bad file is refused whole, naming the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(bad("title", "invalid_title", "1-200 characters"));
        }
        if self.description.chars().count() > 300 {
            return Err(bad(
                "description",
                "invalid_description",
                "at most 300 characters",
            ));
        }
        check_slug(&self.category).map_err(|e| e.for_field("category"))?;
        if let Some(s) = &self.section {
            check_slug(s).map_err(|e| e.for_field("section"))?;
        }
        for a in &self.answers {
            IssueType::from_str(a).map_err(|e| e.for_field("answers"))?;
        }
        if self.tags.len() > 20
            || self
                .tags
                .iter()
                .any(|t| t.trim().is_empty() || t.chars().count() > 50)
        {
            return Err(bad(
                "tags",
                "invalid_tags",
                "up to 20 tags of 1-50 characters",
            ));
        }
        if !["draft", "published"].contains(&self.status.as_str()) {
            return Err(bad("status", "invalid_status", "`draft` or `published`"));
        }
        if !["public", "internal"].contains(&self.visibility.as_str()) {
            return Err(bad(
                "visibility",
                "invalid_visibility",
                "`public` or `internal`",
            ));
        }
        Ok(())
    }

    pub fn is_public(&self) -> bool {
        self.status == "published" && self.visibility == "public"
    }
}

impl ArticleFile {
    /// Reads a file named `<slug>.<language>.md`.
    pub fn parse(file_name: &str, text: &str) -> Result<ArticleFile, FieldError> {
        let stem = file_name.strip_suffix(".md").ok_or_else(|| {
            bad(
                "file",
                "invalid_file_name",
                format!("`{file_name}` is not <slug>.<language>.md"),
            )
        })?;
        let (slug, language) = stem.rsplit_once('.').ok_or_else(|| {
            bad(
                "file",
                "invalid_file_name",
                format!("`{file_name}` is not <slug>.<language>.md"),
            )
        })?;
        check_slug(slug)?;
        if !LANGUAGES.contains(&language) {
            return Err(bad(
                "language",
                "invalid_language",
                format!("`{language}` is not one of: {}", LANGUAGES.join(", ")),
            ));
        }
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let rest = text
            .strip_prefix("+++\n")
            .or_else(|| text.strip_prefix("+++\r\n"))
            .ok_or_else(|| {
                bad(
                    "front_matter",
                    "missing_front_matter",
                    "the file must start with +++",
                )
            })?;
        let end = rest
            .find("\n+++")
            .ok_or_else(|| bad("front_matter", "missing_front_matter", "no closing +++"))?;
        let front: FrontMatter = toml::from_str(&rest[..end]).map_err(|e| {
            bad(
                "front_matter",
                "invalid_front_matter",
                e.message().to_owned(),
            )
        })?;
        front.validate()?;
        let body = rest[end + 4..].trim_start_matches(['\r', '\n']).to_owned();
        Ok(ArticleFile {
            slug: slug.to_owned(),
            language: language.to_owned(),
            front,
            body,
        })
    }

    /// The file name it is exported under.
    pub fn file_name(&self) -> String {
        format!("{}.{}.md", self.slug, self.language)
    }

    /// The file's text, as [`ArticleFile::parse`] reads it back.
    pub fn to_text(&self) -> String {
        let front = toml::to_string(&self.front).unwrap_or_default();
        format!("+++\n{front}+++\n\n{}\n", self.body.trim_end())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const FILE: &str = "+++\ntitle = \"充值未到账怎么办\"\ncategory = \"deposits\"\nsection = \"crypto-deposits\"\ntags = [\"充值\", \"tx hash\"]\nanswers = [\"missing_deposit\"]\n+++\n\n## 步骤\n\n1. 查看充值记录。\n";

    #[test]
    fn a_file_reads_with_defaults_and_writes_back_the_same() {
        let a = ArticleFile::parse("deposit-not-credited.zh.md", FILE).unwrap();
        assert_eq!(
            (a.slug.as_str(), a.language.as_str()),
            ("deposit-not-credited", "zh")
        );
        assert_eq!(a.front.status, "published");
        assert!(a.front.is_public());
        assert!(a.body.starts_with("## 步骤"));
        let again = ArticleFile::parse(&a.file_name(), &a.to_text()).unwrap();
        assert_eq!(again, a);
    }

    #[test]
    fn bad_files_are_refused_naming_the_problem() {
        let cases = [
            ("x.md", FILE, "invalid_file_name"),
            ("Bad_Slug.zh.md", FILE, "invalid_slug"),
            ("ok.fr.md", FILE, "invalid_language"),
            ("ok.en.md", "no front matter", "missing_front_matter"),
            ("ok.en.md", "+++\ntitle = 1\n+++\n", "invalid_front_matter"),
            (
                "ok.en.md",
                "+++\ntitle = \"t\"\ncategory = \"c\"\nanswers = [\"refund\"]\n+++\n",
                "invalid_issue_type",
            ),
            (
                "ok.en.md",
                "+++\ntitle = \"t\"\ncategory = \"c\"\nstatus = \"live\"\n+++\n",
                "invalid_status",
            ),
            (
                "ok.en.md",
                "+++\ntitle = \"t\"\ncategory = \"c\"\nsecret = 1\n+++\n",
                "invalid_front_matter",
            ),
        ];
        for (name, text, code) in cases {
            assert_eq!(
                ArticleFile::parse(name, text).unwrap_err().code,
                code,
                "{name} {text}"
            );
        }
    }
}
