# METADATA
# title: Log and audit tampering
# description: Deleting, truncating or disabling logs, shell history or audit
#   trails removes later accountability; it is never done on an agent's say-so.
# custom:
#   risk: accountability.tamper
#   when: label:log_tamper | arg:command_fields | tool:log_tools | arg:sql_fields
#   example: shell(command="rm -f /var/log/auth.log && history -c")
package preflight.rules.log_tamper

import data.preflight.lib
import rego.v1

findings contains f if {
	some step in lib.proposed
	"log_tamper" in step.labels
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

findings contains f if {
	some step in lib.proposed
	some sql in lib.sql_statements(step)
	lib.matches_any(sql, lib.config.log_tamper_sql_patterns)
	f := {"step": step.step_id, "verdict": "block", "reason": sprintf("`%s` erases or alters audit records", [sql])}
}
