package preflight.rules.destructive_sql_test

import data.preflight.rules.destructive_sql as rule
import data.preflight.testing as t
import rego.v1

sql(q) := t.input_of("tidy the db", [t.proposed(0, "run_sql", {"query": q}, ["destructive"], [t.made_up("/query", q)])])

test_holds_drop_table if {
	t.fired(rule.findings, "s0", "require_approval") with input as sql("DROP TABLE customers;")
}

test_holds_truncate_in_a_psql_shell_command if {
	step := t.proposed(0, "shell", {"command": "psql -c 'truncate table orders'"}, ["code_execution"], [])
	t.fired(rule.findings, "s0", "require_approval") with input as t.input_of("x", [step])
}

test_holds_delete_without_where if {
	t.fired(rule.findings, "s0", "require_approval") with input as sql("delete from sessions")
}

test_allows_a_scoped_delete if {
	t.quiet(rule.findings, "s0") with input as sql("DELETE FROM sessions WHERE expires_at < now()")
}

test_allows_selects_that_mention_drop_in_a_string if {
	t.quiet(rule.findings, "s0") with input as sql("SELECT name FROM products WHERE name = 'drop shipping'")
}
