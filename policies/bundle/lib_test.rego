package preflight.lib_test

import data.preflight.lib
import data.preflight.testing as t
import rego.v1

test_internal_destinations_include_subdomains if {
	step := t.proposed(0, "send_email", {"to": "ana@corp.example.com"}, ["external_sink"], [])
	lib.all_internal(step)
}

test_an_outside_destination_is_not_internal if {
	step := t.proposed(0, "send_email", {"to": "ana@corp.example.com", "cc": "x@evil.test"}, ["external_sink"], [])
	not lib.all_internal(step)
}

test_reached_includes_the_last_hop_graph_reachable_skips if {
	"step:2" in lib.reached("result:0") with input as t.input_with_flow("", [], {"result:0": ["step:1"], "step:1": ["step:2"]})
}

test_strictness_comes_from_the_request_then_the_organisation if {
	lib.strictness == "strict" with input as {"meta": {"strictness": "strict"}}
	lib.strictness == "standard" with input as {"meta": {}}
	lib.strictness == "lenient" with input as {"meta": {}} with data.config.strictness as "lenient"
}

test_threshold_falls_back_to_the_level_default if {
	lib.threshold("financial.loss") == 0.85 with input as {"meta": {}}
	lib.threshold("privacy.exfiltration") == 0.8 with input as {"meta": {}}
}
