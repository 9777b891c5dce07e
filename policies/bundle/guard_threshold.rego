# METADATA
# title: Guard model risk above the threshold
# description: The guard model scored the step's risk at or above the
#   threshold of the configured strictness (lenient, standard, strict) for the
#   category it named. The threshold is the one the model was calibrated
#   with for the level (input.meta.guard_thresholds) unless
#   data.config.guard.thresholds overrides the category; the request may
#   choose a level (input.meta.strictness). No scores, no finding.
# custom:
#   risk: unauthorized.action
#   when: risk_at_least:guard.thresholds
#   example: scores.call_1 = {risk 0.93, category privacy.exfiltration} under standard (0.8)
package preflight.rules.guard_threshold

import data.preflight.lib
import rego.v1

codes := {"privacy.exfiltration", "financial.loss", "integrity.destructive", "availability.disruption",
	"security.credential", "injection.hijack", "accountability.tamper", "unauthorized.action", "content.harmful"}

# Per-category scores, when the guard gave them.
findings contains f if {
	some step in lib.proposed
	some category, score in input.scores[step.step_id].categories
	category in codes
	score >= lib.threshold(category)
	f := finding(step, category, score)
}

# The overall risk with its main category, unless that category's own
# score already fired (one finding, one reason per category).
findings contains f if {
	some step in lib.proposed
	s := input.scores[step.step_id]
	category := main_category(s)
	s.risk >= lib.threshold(category)
	not category_fired(s, category)
	f := finding(step, category, s.risk)
}

category_fired(s, category) if {
	s.categories[category] >= lib.threshold(category)
}

main_category(s) := s.category if {
	s.category in codes
} else := "unauthorized.action"

finding(step, category, score) := {
	"step": step.step_id, "verdict": "block", "category": category,
	"reason": sprintf("guard risk %v for %s is at or above the %s threshold %v", [score, category, lib.strictness, lib.threshold(category)]),
}
