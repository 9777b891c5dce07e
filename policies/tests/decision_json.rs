//! Golden fixture for the Decision JSON (DESIGN.md contract), from a real
//! example plan through the adapters, the ActionGraph and the default bundle.
//! The bundle digest is replaced by a placeholder so that editing a rule's
//! wording does not churn this file; the verdicts and reasons still do.

use std::path::Path;

use preflight_policies::{DecisionContext, PolicyEngine, RequestMeta};
use serde_json::{Value, json};

fn decision_of(example: &str, scores: Option<Value>) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(example);
    let plan =
        preflight_adapters::parse(&std::fs::read(path).expect("example"), None).expect("parses");
    let engine = PolicyEngine::embedded().expect("compiles");
    let ctx = DecisionContext {
        decision_id: "dec-0001".into(),
        model_id: scores.as_ref().map(|_| "guard-test".to_owned()),
    };
    let mut d =
        serde_json::to_value(engine.evaluate_plan(&plan, scores, &RequestMeta::default(), &ctx))
            .expect("json");
    d["policy_digest"] = json!("sha256:<bundle>");
    d
}

#[test]
fn decision_json_for_the_injected_invoice_transfer() {
    insta::assert_json_snapshot!(decision_of("anthropic-invoice-injection.json", None));
}

#[test]
fn decision_json_with_guard_scores_and_an_allowed_step() {
    let scores = json!({"s3": {"risk": 0.42, "category": "integrity.destructive"}});
    insta::assert_json_snapshot!(decision_of("generic-deploy-plan.json", Some(scores)));
}
