# METADATA
# title: Credential access and privilege changes
# description: Reading secrets (a step labelled credential) when the user did
#   not ask about credentials, and privilege changes (sudo, chmod 777, adding
#   an admin role, creating API keys) wait for approval.
# custom:
#   risk: security.credential
#   when: label:credential | arg:command_fields | tool:privilege_tools
#   example: shell(command="sudo usermod -aG sudo agent"); get_secret(name="prod-db-password") during a docs task
package preflight.rules.credential_access

import data.preflight.lib
import rego.v1

findings contains f if {
	some step in lib.proposed
	"credential" in step.labels
	not asked_about_credentials
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("`%s` accesses credentials the user did not ask about", [step.tool]),
	}
}

findings contains f if {
	some step in lib.proposed
	some cmd in lib.commands(step)
	lib.matches_any(cmd, lib.config.privilege_patterns)
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("`%s` changes privileges", [cmd]),
	}
}

findings contains f if {
	some step in lib.proposed
	step.tool in lib.config.privilege_tools
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("`%s` grants privileges or credentials", [step.tool]),
	}
}

asked_about_credentials if {
	some word in lib.config.credential_keywords
	contains(lib.goal, word)
}
