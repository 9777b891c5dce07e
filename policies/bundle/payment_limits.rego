# METADATA
# title: Payments above the limit or to a new payee
# description: A financial call whose amount exceeds data.config.payments.max_amount,
#   or whose payee is neither approved (data.config.approved_payees) nor named
#   by the user, waits for approval.
# custom:
#   risk: financial.loss
#   when: label:financial
#   example: transfer_funds(iban="DE00 1111", amount=900) with a limit of 500
package preflight.rules.payment_limits

import data.preflight.lib
import rego.v1

payments := lib.config.payments

findings contains f if {
	some step in lib.proposed
	"financial" in step.labels
	some field in payments.amount_fields
	amount := step.args[field]
	is_number(amount)
	amount > payments.max_amount
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("amount %v is above the limit of %v", [amount, payments.max_amount]),
	}
}

findings contains f if {
	some step in lib.proposed
	"financial" in step.labels
	some field in payments.payee_fields
	payee := step.args[field]
	is_string(payee)
	not approved(payee)
	not lib.in_goal(payee)
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("payee %s is new: not on the approved list and not named by the user", [payee]),
	}
}

approved(payee) if {
	some p in lib.config.approved_payees
	lower(replace(p, " ", "")) == lower(replace(payee, " ", ""))
}
