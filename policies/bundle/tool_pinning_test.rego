package preflight.rules.tool_pinning_test

import data.preflight.rules.tool_pinning as rule
import data.preflight.testing as t
import rego.v1

call := t.proposed(0, "add", {"a": 1, "b": 2}, ["read_only"], [])

test_blocks_a_tool_flagged_in_the_graph if {
	base := t.input_of("add 1 and 2", [call])
	changed := object.union(base, {"graph": object.union(base.graph, {"tools": [{"name": "add", "pin_changed": true}]})})
	t.fired(rule.findings, "s0", "block") with input as changed
}

test_blocks_a_tool_listed_in_the_request_meta if {
	base := t.input_of("add 1 and 2", [call])
	changed := object.union(base, {"meta": object.union(t.meta, {"tool_pins_changed": ["add"]})})
	t.fired(rule.findings, "s0", "block") with input as changed
}

test_allows_an_unchanged_tool if {
	base := t.input_of("add 1 and 2", [call])
	same := object.union(base, {"graph": object.union(base.graph, {"tools": [{"name": "add", "pin_changed": false}, {"name": "sub", "pin_changed": true}]})})
	t.quiet(rule.findings, "s0") with input as same
}
