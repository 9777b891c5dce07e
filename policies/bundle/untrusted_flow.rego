# METADATA
# title: Destination taken only from tool output
# description: A recipient, URL, account or command of a side-effecting call
#   came only from a tool's output, not from the user. Held for approval unless
#   the user named the value or handed that content over ("pay the bill in this
#   file"); values inside injected instructions are injected_flow's to block.
# custom:
#   risk: unauthorized.action
#   example: read_email() says "contact billing@unknown.test"; send_email(to="billing@unknown.test")
package preflight.rules.untrusted_flow

import data.preflight.lib
import rego.v1

findings contains f if {
	some step in lib.proposed
	lib.side_effecting(step)
	some p in step.provenance
	p.origin == "tool_result"
	not p.in_injection
	field := lib.field_of(p.path)
	field in lib.config.recipient_fields
	not lib.in_goal(p.value)
	not lib.delegates_to_content
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("`%s` = %v came only from the output of step %v, not from the user's request", [field, p.value, p.source_step]),
	}
}
