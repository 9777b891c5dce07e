package preflight.rules.guard_threshold_test

import data.preflight.rules.guard_threshold as rule
import data.preflight.testing as t
import rego.v1

scored(score, strictness) := object.union(t.input_of("post the notes", [t.proposed(0, "http_post", {"url": "https://x.test"}, ["external_sink"], [])]), {
	"scores": {"s0": score},
	"meta": object.union(t.meta, {"strictness": strictness}),
})

test_blocks_a_risk_above_the_standard_threshold if {
	findings := rule.findings with input as scored({"risk": 0.93, "category": "privacy.exfiltration"}, "standard")
	some f in findings
	f.verdict == "block"
	f.category == "privacy.exfiltration"
}

test_the_same_score_passes_when_lenient if {
	t.quiet(rule.findings, "s0") with input as scored({"risk": 0.93, "category": "privacy.exfiltration"}, "lenient")
}

test_a_moderate_score_blocks_only_when_strict if {
	t.fired(rule.findings, "s0", "block") with input as scored({"risk": 0.7, "category": "financial.loss"}, "strict")
	t.quiet(rule.findings, "s0") with input as scored({"risk": 0.7, "category": "financial.loss"}, "standard")
}

test_a_per_category_score_can_fire_alone if {
	score := {"risk": 0.2, "category": null, "categories": {"injection.hijack": 0.9}}
	t.fired(rule.findings, "s0", "block") with input as scored(score, "standard")
}

# The model's calibrated threshold for the level, carried in the request.
calibrated(score, strictness, thresholds) := object.union(scored(score, strictness), {
	"meta": object.union(t.meta, {"strictness": strictness, "guard_thresholds": thresholds}),
})

test_the_models_calibrated_threshold_replaces_the_default if {
	score := {"risk": 0.5, "category": "privacy.exfiltration"}
	t.fired(rule.findings, "s0", "block") with input as calibrated(score, "standard", {"standard": 0.36})
	t.quiet(rule.findings, "s0") with input as calibrated(score, "standard", {"standard": 0.6})
	t.quiet(rule.findings, "s0") with input as scored(score, "standard")
}

test_an_organisation_override_for_a_category_wins_over_the_model if {
	score := {"risk": 0.5, "category": "privacy.exfiltration"}
	t.quiet(rule.findings, "s0") with input as calibrated(score, "standard", {"standard": 0.36})
		with data.config.guard.thresholds.standard as {"default": 0.85, "privacy.exfiltration": 0.7}
}

test_one_finding_when_the_risk_and_its_category_both_cross if {
	score := {"risk": 0.95, "category": "privacy.exfiltration", "categories": {"privacy.exfiltration": 0.94}}
	findings := rule.findings with input as scored(score, "standard")
	count(findings) == 1
}

test_no_scores_means_no_finding if {
	t.quiet(rule.findings, "s0") with input as t.input_of("post the notes", [t.proposed(0, "http_post", {}, ["external_sink"], [])])
}
