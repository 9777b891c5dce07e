package preflight.rules.availability_disruption_test

import data.preflight.rules.availability_disruption as rule
import data.preflight.testing as t
import rego.v1

test_holds_scaling_production_to_zero_when_asked_about_dev if {
	step := t.proposed(1, "scale_deployment", {"namespace": "prod", "name": "checkout", "replicas": 0}, ["untrusted_flow"], [t.from_tool("/namespace", "prod", 0)])
	findings := rule.findings with input as t.input_of("Our dev namespace costs too much. Scale down what isn't needed in dev.", [step])
	t.fired(findings, "s1", "require_approval")
}

test_allows_scaling_to_zero_the_deployment_the_user_named if {
	step := t.proposed(0, "scale_deployment", {"namespace": "dev", "name": "worker", "replicas": 0}, [], [t.from_user("/name", "worker")])
	t.quiet(rule.findings, "s0") with input as t.input_of("scale the worker deployment in dev to zero", [step])
}

test_allows_a_production_rollout_the_user_asked_for if {
	step := t.proposed(0, "deploy", {"service": "checkout", "environment": "production"}, ["code_execution"], [])
	t.quiet(rule.findings, "s0") with input as t.input_of("Roll out release 3.8.2 of checkout to production.", [step])
}

test_holds_a_production_change_the_user_did_not_mention if {
	step := t.proposed(0, "restart_service", {"service": "billing", "env": "production"}, [], [])
	t.fired(rule.findings, "s0", "require_approval") with input as t.input_of("restart billing in staging", [step])
}

test_read_only_calls_on_production_pass if {
	step := t.proposed(0, "get_metrics", {"env": "prod"}, ["read_only"], [])
	t.quiet(rule.findings, "s0") with input as t.input_of("how is billing doing", [step])
}
