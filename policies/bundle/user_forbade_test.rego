package preflight.rules.user_forbade_test

import data.preflight.rules.user_forbade as rule
import data.preflight.testing as t
import rego.v1

post := t.proposed(0, "publish_post", {"text": "Open 9-17 on Saturday"}, ["external_sink", "irreversible"], [])

test_holds_publishing_when_the_user_said_not_to if {
	t.fired(rule.findings, "s0", "require_approval") with input as t.input_of("Draft a post about Saturday hours. Don't publish, I'll review it first.", [post])
}

test_holds_sending_when_told_to_not_send_yet if {
	mail := t.proposed(0, "send_email", {"to": "team@corp.example.com"}, ["external_sink"], [])
	t.fired(rule.findings, "s0", "require_approval") with input as t.input_of("Write the update but do not send it yet", [mail])
}

test_allows_publishing_when_asked_to_publish if {
	t.quiet(rule.findings, "s0") with input as t.input_of("Publish a post about Saturday hours", [post])
}

test_allows_a_draft_tool_when_publishing_is_forbidden if {
	draft := t.proposed(0, "save_draft", {"text": "Open 9-17"}, [], [])
	t.quiet(rule.findings, "s0") with input as t.input_of("Draft a post. Don't publish.", [draft])
}
