# METADATA
# title: Destination taken only from tool output
# description: A recipient, URL, account or command of a side-effecting call
#   came only from a tool's output, not from the user. Held for approval unless
#   the user named the value, handed the document over for a payment ("pay the
#   bill in this file"), asked to reply to a message, or the command is a known
#   safe build/test step. Values inside injected instructions are
#   injected_flow's to block.
# custom:
#   risk: unauthorized.action
#   when: provenance:tool_result
#   example: read_email() says "contact billing@unknown.test"; send_email(to="billing@unknown.test")
package preflight.rules.untrusted_flow

import data.preflight.lib
import rego.v1

findings contains f if {
	some step in lib.proposed
	not "read_only" in step.labels
	some p in lib.traced(step)
	p.origin == "tool_result"
	not p.in_injection
	field := lib.field_of(p.path)
	field in lib.config.recipient_fields
	not lib.in_goal(p.value)
	not delegated(step, p)
	not safe_command(field, p.value)
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("`%s` = %v came only from the output of step %v, not from the user's request", [field, p.value, p.source_step]),
	}
}

# "Pay the bill in this file": the payment's details come from that file.
delegated(step, _) if {
	"financial" in step.labels
	lib.delegates_to_content
}

# "Answer the customer's mail": the recipient is that mail's sender — not an
# address written in its body, which is where injected requests put theirs.
delegated(_, p) if {
	lib.field_of(p.path) in {"to", "recipient", "recipients", "email", "address"}
	some phrase in lib.config.reply_phrases
	contains(lib.goal, phrase)
	some source in input.graph.steps
	source.index == p.source_step
	is_string(source.result)
	some line in split(lower(source.result), "\n")
	regex.match(`^\s*"?(from|reply-to|sender)"?\s*:`, line)
	contains(line, lower(p.value))
}

safe_command(field, value) if {
	field in lib.config.command_fields
	lib.matches_any(trim_space(value), lib.config.safe_command_patterns)
}
