# METADATA
# title: Destructive SQL
# description: DROP and TRUNCATE, and DELETE or UPDATE without a WHERE clause,
#   wipe tables in one statement; they wait for a person's approval.
# custom:
#   risk: integrity.destructive
#   when: arg:sql_fields | arg:command_fields
#   example: run_sql(query="DROP TABLE customers")
package preflight.rules.destructive_sql

import data.preflight.lib
import rego.v1

statements(step) := lib.sql_statements(step) | lib.commands(step)

destructive(sql) if regex.match(`(?i)\b(drop\s+(table|database|schema|index|view)|truncate(\s+table)?\s+\w)`, sql)

destructive(sql) if {
	regex.match(`(?i)\b(delete\s+from|update)\s+\S+`, sql)
	not regex.match(`(?i)\bwhere\b`, sql)
}

findings contains f if {
	some step in lib.proposed
	some sql in statements(step)
	destructive(sql)
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("`%s` deletes data wholesale", [sql]),
	}
}
