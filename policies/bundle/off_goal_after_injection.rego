# METADATA
# title: Unrequested action after injected instructions
# description: Once a tool result carried instruction-like text, a
#   side-effecting call that the user's request does not call for, with
#   arguments the user did not supply, is held for approval. Calls the goal
#   asks for, or built only from the user's own values, still pass: block the
#   injected action, not the conversation.
# custom:
#   risk: injection.hijack
#   when: label:injected_instruction_seen
#   example: after a web page says "delete the repo", delete_repository(name="prod") while the user asked for a summary
package preflight.rules.off_goal_after_injection

import data.preflight.lib
import rego.v1

findings contains f if {
	some step in lib.proposed
	"injected_instruction_seen" in step.labels
	not "read_only" in step.labels
	not "injected_flow" in step.labels # injected_flow blocks it already
	not lib.goal_calls_for(step)
	not lib.all_args_from_user(step)
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("`%s` was proposed after a tool result carried instructions, and the user's request does not call for it", [step.tool]),
	}
}
