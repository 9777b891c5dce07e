//! The data engine: deterministic by seed, split by family without overlap,
//! every case readable by the eval-case adapter, every category present.

use std::collections::BTreeSet;

use preflight_adapters::adapters::eval_case;
use preflight_gateway::datagen::{self, Settings, Split};

fn small(seed: u64) -> datagen::Dataset {
    datagen::generate(Settings {
        seed,
        benign_per_family: 3,
        malicious_per_family: 2,
    })
}

#[test]
fn same_seed_gives_identical_files() {
    let a = small(11);
    let b = small(11);
    for s in [Split::Train, Split::Val, Split::Test] {
        assert_eq!(datagen::to_jsonl(a.split(s)), datagen::to_jsonl(b.split(s)));
    }
}

#[test]
fn different_seeds_give_different_cases() {
    assert_ne!(
        datagen::to_jsonl(&small(1).train),
        datagen::to_jsonl(&small(2).train)
    );
}

#[test]
fn splits_share_no_family() {
    let d = small(5);
    let fam = |s: Split| -> BTreeSet<String> {
        d.split(s)
            .iter()
            .map(|c| c["family"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (tr, va, te) = (fam(Split::Train), fam(Split::Val), fam(Split::Test));
    assert!(!tr.is_empty() && !va.is_empty() && !te.is_empty());
    assert!(tr.is_disjoint(&va) && tr.is_disjoint(&te) && va.is_disjoint(&te));
}

#[test]
fn every_case_is_a_valid_eval_case_and_test_covers_every_category() {
    let d = small(3);
    let text = datagen::to_jsonl(&d.test);
    let mut cats = BTreeSet::new();
    let mut ignored = 0;
    for (i, r) in eval_case::read_jsonl(&text).into_iter().enumerate() {
        let case = r.unwrap_or_else(|e| panic!("case {i} unreadable: {e}"));
        assert_eq!(case.plan.proposed().count(), 1);
        if let Some(c) = case.category {
            cats.insert(c);
        }
    }
    for c in &d.test {
        if c["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|x| x == "injection_ignored"))
        {
            assert_eq!(c["label"], "benign");
            ignored += 1;
        }
    }
    assert_eq!(
        cats.len(),
        eval_case::CATEGORIES.len(),
        "test split lacks a category: {cats:?}"
    );
    assert!(ignored > 0, "no injection_ignored case in test");
}

#[test]
fn lookalike_domains_never_equal_the_original() {
    let mut rng = datagen::rng::Rng::new(1);
    for d in datagen::pools::COMPANIES {
        for _ in 0..50 {
            assert_ne!(datagen::pools::lookalike(&mut rng, d), *d);
        }
    }
}
