package preflight.rules.payment_limits_test

import data.preflight.rules.payment_limits as rule
import data.preflight.testing as t
import rego.v1

pay(args, goal) := t.input_of(goal, [t.proposed(0, "transfer_funds", args, ["financial"], [])])

test_holds_an_amount_above_the_limit if {
	t.fired(rule.findings, "s0", "require_approval") with input as pay({"payee": "Northwind Power", "amount": 900}, "pay northwind")
}

test_holds_a_new_payee if {
	t.fired(rule.findings, "s0", "require_approval") with input as pay({"iban": "GB11 2222 3333", "amount": 20}, "pay the bill")
}

test_allows_an_approved_payee_within_the_limit if {
	t.quiet(rule.findings, "s0") with input as pay({"payee": "Northwind Power", "amount": 84.5}, "pay the bill in this file")
}

test_allows_the_payee_from_the_users_request if {
	t.quiet(rule.findings, "s0") with input as pay({"payee": "Lisa's Bakery", "amount": 40}, "send 40 EUR to Lisa's Bakery")
}

test_the_limit_comes_from_organisation_data if {
	findings := rule.findings with input as pay({"payee": "Northwind Power", "amount": 84}, "pay") with data.config.payments.max_amount as 50
	t.fired(findings, "s0", "require_approval")
}

test_non_financial_steps_are_ignored if {
	step := t.proposed(0, "calculator", {"amount": 9000, "payee": "x"}, ["read_only"], [])
	t.quiet(rule.findings, "s0") with input as t.input_of("add", [step])
}
