# METADATA
# title: A call the user said not to make
# description: The user's request forbids what the call does ("draft it, don't
#   publish"; "do not send anything yet"). A word of the tool's name follows a
#   negation in the request; the call waits for the user.
# custom:
#   risk: unauthorized.action
#   when: goal:not | goal:never | goal:without | goal:dont | goal:don't
#   example: "Draft a post about Saturday hours. Don't publish, I'll review it." then publish_post(text=...)
package preflight.rules.user_forbade

import data.preflight.lib
import rego.v1

findings contains f if {
	some step in lib.proposed
	not "read_only" in step.labels
	some word in split(replace(replace(lower(step.tool), "-", "_"), ".", "_"), "_")
	count(word) >= 4
	# ASCII classes: Unicode `\w` repeated overflows regorus' regex size limit.
	regex.match(sprintf(`(^|[^a-z])(don'?t|do not|never|without|not) +([a-z]+ +){0,2}%s`, [word]), lib.goal)
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("the user's request says not to %s", [word]),
	}
}
