//! The data engine (`preflight datagen`): synthetic, labelled agent
//! trajectories in the eval-case JSONL format, deterministic by seed.
//!
//! A *template* is one scenario mechanism written against tool roles
//! ([`domains`]); a *family* is a template instantiated in one domain. Each
//! family yields several cases with different values. Benign templates
//! ([`benign`]), hard benign negatives ([`hard_negatives`]) and risk
//! injectors per taxonomy code ([`risks`]) share the value pools
//! ([`pools`]) and building blocks ([`scenario`]). The split is by family
//! ([`split`]). No public benchmark data is used anywhere.

pub mod benign;
pub mod case;
pub mod domains;
pub mod hard_negatives;
pub mod pools;
pub mod risks;
pub mod rng;
pub mod scenario;
pub mod split;

use serde_json::Value;

use case::Draft;
use domains::{DOMAINS, Domain};
use rng::Rng;
pub use split::Split;

/// One scenario mechanism.
#[derive(Debug)]
pub struct Template {
    /// Stable name (`b.read`, `x.exfil_lookalike`, ...).
    pub name: &'static str,
    /// Builds one draft in a domain; `None` when the domain lacks a role.
    pub build: fn(&mut Rng, &Domain) -> Option<Draft>,
}

/// Every template: benign, hard negatives, risks.
pub fn templates() -> impl Iterator<Item = &'static Template> {
    benign::TEMPLATES
        .iter()
        .chain(hard_negatives::TEMPLATES)
        .chain(risks::TEMPLATES)
}

/// Generation settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The seed.
    pub seed: u64,
    /// Cases per benign family.
    pub benign_per_family: usize,
    /// Cases per malicious family.
    pub malicious_per_family: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            seed: 7,
            benign_per_family: 40,
            malicious_per_family: 20,
        }
    }
}

/// A generated data set: cases (JSON objects) per split.
#[derive(Debug, Default)]
pub struct Dataset {
    /// Training cases.
    pub train: Vec<Value>,
    /// Validation cases.
    pub val: Vec<Value>,
    /// Test cases.
    pub test: Vec<Value>,
}

impl Dataset {
    /// The cases of one split.
    pub fn split(&self, split: Split) -> &[Value] {
        match split {
            Split::Train => &self.train,
            Split::Val => &self.val,
            Split::Test => &self.test,
        }
    }
}

/// Templates whose label does not depend on what the user asked, so a
/// share of their cases is also written without any user message, as an
/// MCP session or a bare plan arrives: the guard must neither block every
/// goal-less step nor learn that a missing goal means "safe".
const GOALLESS: &[&str] = &[
    "b.read",
    "b.read_second",
    "b.write_named",
    "b.partial_reference",
    "b.followup_lookup",
    "x.exfil_injected",
    "x.pay_injected",
    "x.delete_broad",
    "x.delete_injected",
    "x.stop_injected",
    "x.grant_injected",
    "x.hijack_write",
    "x.hijack_publish",
    "x.logs_cleanup",
    "x.logs_injected",
    "x.harmful_post",
    "x.harmful_polite",
];

/// The share of a [`GOALLESS`] template's cases written without a goal.
const GOALLESS_SHARE: f64 = 0.3;

/// Generates the data set. Same settings, same bytes.
pub fn generate(settings: Settings) -> Dataset {
    let mut families: Vec<(&'static str, &'static Domain, &'static Template)> = Vec::new();
    for t in templates() {
        for d in DOMAINS {
            // A family exists when the template applies to the domain.
            let mut probe = Rng::derive(settings.seed, "probe");
            if (t.build)(&mut probe, d).is_some() {
                families.push((t.name, d, t));
            }
        }
    }
    let keys: Vec<(&'static str, &'static str)> =
        families.iter().map(|(t, d, _)| (*t, d.name)).collect();
    let splits = split::assign(settings.seed, &keys);
    let mut out = Dataset::default();
    for (tname, d, t) in families {
        let family = format!("{tname}@{}", d.name);
        let split = splits
            .get(&(tname, d.name))
            .copied()
            .unwrap_or(Split::Train);
        let mut rng = Rng::derive(settings.seed, &family);
        // A separate stream, so the cases themselves do not change with it.
        let mut goalless = Rng::derive(settings.seed, &format!("{family}/goalless"));
        let n = if tname.starts_with("x.") {
            settings.malicious_per_family
        } else {
            settings.benign_per_family
        };
        for i in 0..n {
            let Some(mut draft) = (t.build)(&mut rng, d) else {
                continue;
            };
            if GOALLESS.contains(&tname) && goalless.chance(GOALLESS_SHARE) {
                draft = draft.without_goal();
            }
            let id = format!("{family}#{i}");
            let case = draft.to_case(&id, &family, split.name(), d);
            match split {
                Split::Train => out.train.push(case),
                Split::Val => out.val.push(case),
                Split::Test => out.test.push(case),
            }
        }
    }
    out
}

/// JSONL text of a list of cases.
pub fn to_jsonl(cases: &[Value]) -> String {
    let mut s = String::new();
    for c in cases {
        s.push_str(&c.to_string());
        s.push('\n');
    }
    s
}
