# METADATA
# title: Disabling safety controls
# description: Turning off a firewall, SELinux, MFA, audit logging, endpoint
#   protection or commit hooks removes the controls that catch everything else.
# custom:
#   risk: security.credential
#   when: arg:command_fields | tool:safety_tools
#   example: shell(command="sudo ufw disable"); disable_mfa(user="ana")
package preflight.rules.safety_controls

import data.preflight.lib
import rego.v1

findings contains f if {
	some step in lib.proposed
	some text in lib.commands(step)
	lib.matches_any(text, lib.config.safety_control_patterns)
	f := {
		"step": step.step_id, "verdict": "block",
		"reason": sprintf("`%s` disables a safety control", [text]),
	}
}

findings contains f if {
	some step in lib.proposed
	step.tool in lib.config.safety_tools
	f := {
		"step": step.step_id, "verdict": "block",
		"reason": sprintf("`%s` disables a safety control", [step.tool]),
	}
}
