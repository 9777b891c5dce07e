# METADATA
# title: Log and audit tampering
# description: Deleting, truncating or disabling logs, shell history or audit
#   trails removes later accountability; it is never done on an agent's say-so.
# custom:
#   risk: accountability.tamper
#   example: shell(command="rm -f /var/log/auth.log && history -c")
package preflight.rules.log_tamper

import data.preflight.lib
import rego.v1

findings contains f if {
	some step in lib.proposed
	lib.has_label(step, "log_tamper")
	f := {"step": step.step_id, "verdict": "block", "reason": sprintf("`%s` erases or alters logs", [step.tool])}
}

findings contains f if {
	some step in lib.proposed
	some cmd in lib.commands(step)
	lib.matches_any(cmd, lib.config.log_tamper_patterns)
	f := {"step": step.step_id, "verdict": "block", "reason": sprintf("`%s` erases or alters logs", [cmd])}
}

findings contains f if {
	some step in lib.proposed
	step.tool in lib.config.log_tools
	f := {"step": step.step_id, "verdict": "block", "reason": sprintf("`%s` erases or alters logs", [step.tool])}
}
