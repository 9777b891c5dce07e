package preflight.rules.malformed_arguments_test

import data.preflight.rules.malformed_arguments as rule
import data.preflight.testing as t
import rego.v1

test_blocks_arguments_that_did_not_parse if {
	step := object.union(t.proposed(0, "send_email", null, ["malformed_arguments"], []), {"args_raw": "{\"to\": \"ana@"})
	t.fired(rule.findings, "s0", "block") with input as t.input_of("mail ana", [step])
}

test_allows_well_formed_arguments if {
	step := t.proposed(0, "send_email", {"to": "ana@example.com"}, ["external_sink"], [])
	t.quiet(rule.findings, "s0") with input as t.input_of("mail ana", [step])
}
