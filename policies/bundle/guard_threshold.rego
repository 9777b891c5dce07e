# METADATA
# title: Guard model risk above the threshold
# description: The guard model scored the step's risk at or above the
#   threshold of the configured strictness (lenient, standard, strict) for the
#   category it named. Thresholds live in data.config.guard.thresholds; the
#   request may choose a level (input.meta.strictness). No scores, no finding.
# custom:
#   risk: unauthorized.action
#   when: scored
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

# The overall risk with its main category.
findings contains f if {
	some step in lib.proposed
	s := input.scores[step.step_id]
	category := main_category(s)
	s.risk >= lib.threshold(category)
	f := finding(step, category, s.risk)
}

main_category(s) := s.category if {
	s.category in codes
} else := "unauthorized.action"

finding(step, category, score) := {
	"step": step.step_id, "verdict": "block", "category": category,
	"reason": sprintf("guard risk %v for %s is at or above the %s threshold %v", [score, category, lib.strictness, lib.threshold(category)]),
}
