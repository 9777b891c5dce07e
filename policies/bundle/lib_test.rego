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
	lib.threshold("financial.loss") == 0.6 with input as {"meta": {"strictness": "strict"}}
}

test_threshold_prefers_override_then_model_then_default if {
	model := {"meta": {"guard_thresholds": {"standard": 0.36, "strict": 0.18}}}
	lib.threshold("financial.loss") == 0.36 with input as model
	lib.threshold("financial.loss") == 0.5 with input as model
		with data.config.guard.thresholds.standard as {"default": 0.85, "financial.loss": 0.5}
	lib.threshold("financial.loss") == 0.85 with input as {"meta": {"guard_thresholds": {"standard": "high"}}}
}

test_string_args_of_malformed_arguments_is_empty_not_an_error if {
	lib.string_args({"args": null}) == []
	lib.string_args({"args": ["a", 1, ["b"]]}) == ["a", "b"]
	lib.string_args({"args": {"to": "x", "cc": ["y"], "opts": {"p": "z"}, "n": 3}}) == ["x", "y", "z"]
}
