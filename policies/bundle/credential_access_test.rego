package preflight.rules.credential_access_test

import data.preflight.rules.credential_access as rule
import data.preflight.testing as t
import rego.v1

test_holds_reading_a_secret_during_an_unrelated_task if {
	step := t.proposed(0, "get_secret", {"name": "prod-db-password"}, ["credential", "read_only"], [t.made_up("/name", "prod-db-password")])
	t.fired(rule.findings, "s0", "require_approval") with input as t.input_of("update the README", [step])
}

test_allows_reading_a_secret_the_user_asked_for if {
	step := t.proposed(0, "get_secret", {"name": "staging-token"}, ["credential", "read_only"], [t.from_user("/name", "staging-token")])
	t.quiet(rule.findings, "s0") with input as t.input_of("show me the staging token", [step])
}

test_holds_sudo_and_group_changes if {
	step := t.proposed(0, "shell", {"command": "sudo usermod -aG sudo agent"}, ["code_execution"], [])
	t.fired(rule.findings, "s0", "require_approval") with input as t.input_of("install deps", [step])
}

test_holds_admin_role_grants if {
	step := t.proposed(0, "add_role", {"user": "bot", "role": "admin"}, [], [])
	t.fired(rule.findings, "s0", "require_approval") with input as t.input_of("set up the bot", [step])
}

test_allows_ordinary_commands if {
	step := t.proposed(0, "shell", {"command": "chmod 644 README.md && cargo test"}, ["code_execution"], [])
	t.quiet(rule.findings, "s0") with input as t.input_of("run the tests", [step])
}
