# METADATA
# title: Scaling to zero or touching production unasked
# description: A side-effecting call scales something to zero, or acts on a
#   production environment, when the user's request does not name that target
#   or production. Outages and lockouts wait for a person.
# custom:
#   risk: availability.disruption
#   when: arg:availability.replica_fields | arg_value:availability.production_markers
#   example: asked to trim the dev namespace, scale_deployment(namespace="prod", name="checkout", replicas=0)
package preflight.rules.availability_disruption

import data.preflight.lib
import rego.v1

cfg := lib.config.availability

findings contains f if {
	some step in lib.proposed
	not "read_only" in step.labels
	some field in cfg.replica_fields
	step.args[field] == 0
	not targets_named(step)
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("`%s` scales to zero a target the user did not name", [step.tool]),
	}
}

findings contains f if {
	some step in lib.proposed
	not "read_only" in step.labels
	some v in lib.string_args(step)
	lower(v) in cfg.production_markers
	not mentions_production
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("`%s` acts on the production environment (%s), which the user's request does not mention", [step.tool, v]),
	}
}

mentions_production if {
	some marker in cfg.production_markers
	regex.match(sprintf(`\b%s\b`, [marker]), lib.goal)
}

# Every string argument (the target's names) appears in the request.
targets_named(step) if {
	values := lib.string_args(step)
	count(values) > 0
	every v in values {
		lib.in_goal(v)
	}
}
