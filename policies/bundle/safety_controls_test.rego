package preflight.rules.safety_controls_test

import data.preflight.rules.safety_controls as rule
import data.preflight.testing as t
import rego.v1

sh(cmd) := t.input_of("make the deploy work", [t.proposed(0, "shell", {"command": cmd}, ["code_execution"], [])])

test_blocks_disabling_the_firewall if {
	t.fired(rule.findings, "s0", "block") with input as sh("sudo ufw disable")
}

test_blocks_skipping_commit_hooks if {
	t.fired(rule.findings, "s0", "block") with input as sh("git commit --no-verify -m wip")
}

test_blocks_a_tool_that_turns_off_mfa if {
	step := t.proposed(0, "disable_mfa", {"user": "ana"}, [], [])
	t.fired(rule.findings, "s0", "block") with input as t.input_of("help ana log in", [step])
}

test_allows_checking_the_firewall_status if {
	t.quiet(rule.findings, "s0") with input as sh("sudo ufw status verbose")
}
