# METADATA
# title: Malformed tool-call arguments
# description: The model's arguments are not valid JSON, so no rule can read
#   them; the call is blocked (fail closed) and the model is asked to retry.
# custom:
#   risk: unauthorized.action
#   when: label:malformed_arguments | args_null
#   example: send_email with arguments `{"to": "ana@example.com", "body": "hi` (cut off)
package preflight.rules.malformed_arguments

import data.preflight.lib
import rego.v1

findings contains f if {
	some step in lib.proposed
	malformed(step)
	f := {
		"step": step.step_id, "verdict": "block",
		"reason": "the call's arguments are not valid JSON; send them again as a JSON object",
	}
}

malformed(step) if "malformed_arguments" in step.labels

malformed(step) if step.args == null
