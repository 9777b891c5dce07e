# METADATA
# title: Destructive call on a target the user did not name
# description: A tool labelled destructive or irreversible (delete, overwrite,
#   close account) acts on a target that did not come from the user. Deleting
#   what the user asked to delete passes. Shell and SQL text is judged by
#   destructive_shell and destructive_sql instead.
# custom:
#   risk: integrity.destructive
#   when: label:destructive | label:irreversible & not_label:external_sink & not_label:financial
#   example: delete_file(path="reports/2025.xlsx") when the user asked to "archive old reports"
package preflight.rules.destructive_action

import data.preflight.lib
import rego.v1

destructive(step) if "destructive" in step.labels

# Irreversible sends and payments have their own rules (sensitive_exfiltration,
# untrusted_flow, payment_limits); here: irreversible changes of state.
destructive(step) if {
	"irreversible" in step.labels
	not "external_sink" in step.labels
	not "financial" in step.labels
}

text_judged_elsewhere(step) if count(lib.commands(step)) > 0

text_judged_elsewhere(step) if count(lib.sql_statements(step)) > 0

findings contains f if {
	some step in lib.proposed
	destructive(step)
	not text_judged_elsewhere(step)
	not lib.all_args_from_user(step)
	not named_by_user(step)
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("`%s` destroys or irreversibly changes something the user did not name", [step.tool]),
	}
}

# Every string argument the call acts on appears in the user's request.
named_by_user(step) if {
	values := lib.string_args(step)
	count(values) > 0
	every v in values {
		lib.in_goal(v)
	}
}
