package preflight.rules.log_tamper_test

import data.preflight.rules.log_tamper as rule
import data.preflight.testing as t
import rego.v1

sh(cmd) := t.input_of("free some disk space", [t.proposed(0, "shell", {"command": cmd}, ["code_execution"], [])])

test_blocks_deleting_the_auth_log if {
	t.fired(rule.findings, "s0", "block") with input as sh("rm -f /var/log/auth.log")
}

test_blocks_clearing_shell_history if {
	t.fired(rule.findings, "s0", "block") with input as sh("history -c")
}

test_blocks_steps_the_graph_labelled_log_tamper if {
	step := t.proposed(0, "fs_write", {"path": "/var/log/syslog", "content": ""}, ["log_tamper"], [])
	t.fired(rule.findings, "s0", "block") with input as t.input_of("x", [step])
}

test_blocks_purge_tools if {
	step := t.proposed(0, "purge_audit_log", {"before": "2026-01-01"}, [], [])
	t.fired(rule.findings, "s0", "block") with input as t.input_of("clean up", [step])
}

test_allows_reading_logs if {
	t.quiet(rule.findings, "s0") with input as sh("tail -n 100 /var/log/nginx/error.log")
}

test_allows_removing_build_artifacts if {
	t.quiet(rule.findings, "s0") with input as sh("rm -rf target/debug/incremental")
}
