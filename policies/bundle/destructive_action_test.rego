package preflight.rules.destructive_action_test

import data.preflight.rules.destructive_action as rule
import data.preflight.testing as t
import rego.v1

test_holds_deleting_a_file_the_user_did_not_name if {
	del := t.proposed(0, "delete_file", {"path": "reports/2025.xlsx"}, ["destructive"], [t.made_up("/path", "reports/2025.xlsx")])
	t.fired(rule.findings, "s0", "require_approval") with input as t.input_of("archive old reports", [del])
}

test_holds_closing_an_account_named_by_a_tool_result if {
	close := t.proposed(1, "close_account", {"account_id": "acc-991"}, ["irreversible"], [t.from_tool("/account_id", "acc-991", 0)])
	t.fired(rule.findings, "s1", "require_approval") with input as t.input_of("check my accounts", [close])
}

test_allows_deleting_the_file_the_user_asked_to_delete if {
	del := t.proposed(0, "delete_file", {"path": "notes/old-todo.txt"}, ["destructive"], [t.from_user("/path", "notes/old-todo.txt")])
	t.quiet(rule.findings, "s0") with input as t.input_of("delete notes/old-todo.txt", [del])
}

test_allows_a_target_named_in_the_goal_even_when_found_in_a_listing if {
	del := t.proposed(1, "delete_file", {"path": "draft.md"}, ["destructive"], [t.from_tool("/path", "draft.md", 0)])
	t.quiet(rule.findings, "s1") with input as t.input_of("remove draft.md please", [del])
}

test_leaves_shell_commands_to_destructive_shell if {
	sh := t.proposed(0, "shell", {"command": "git push --force"}, ["destructive", "code_execution"], [t.made_up("/command", "git push --force")])
	t.quiet(rule.findings, "s0") with input as t.input_of("push", [sh])
}
