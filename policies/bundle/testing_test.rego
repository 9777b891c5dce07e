# Builders for hand-written policy inputs, shared by every rule's tests.
package preflight.testing

import rego.v1

meta := {"tenant": "default", "agent": null, "route": "check", "model": null}

graph(goal, steps, flow) := {
	"format": "generic", "goal": goal, "tools": [], "steps": steps, "injections": [],
	"nodes": [], "edges": [], "flow": flow,
}

# An input with a goal and steps, no data-flow edges, no guard scores.
input_of(goal, steps) := {"graph": graph(goal, steps, {}), "scores": {}, "meta": meta}

# The same with data-flow adjacency (`{"result:0": ["step:1"]}`).
input_with_flow(goal, steps, flow) := {"graph": graph(goal, steps, flow), "scores": {}, "meta": meta}

proposed(i, tool, args, labels, provenance) := {
	"step_id": sprintf("s%d", [i]), "index": i, "tool": tool, "status": "proposed",
	"args": args, "labels": labels, "provenance": provenance,
}

executed(i, tool, args, labels, result) := {
	"step_id": sprintf("s%d", [i]), "index": i, "tool": tool, "status": "executed",
	"args": args, "labels": labels, "provenance": [], "result": result,
}

from_user(path, value) := {"path": path, "value": value, "origin": "user", "source_step": null, "in_injection": false}

from_tool(path, value, step) := {"path": path, "value": value, "origin": "tool_result", "source_step": step, "in_injection": false}

injected(path, value, step) := {"path": path, "value": value, "origin": "tool_result", "source_step": step, "in_injection": true}

made_up(path, value) := {"path": path, "value": value, "origin": "none", "source_step": null, "in_injection": false}

# The findings hold a `verdict` finding for step `id`.
fired(findings, id, verdict) if {
	some f in findings
	f.step == id
	f.verdict == verdict
}

# No finding at all for step `id`.
quiet(findings, id) if {
	not any_for(findings, id)
}

any_for(findings, id) if {
	some f in findings
	f.step == id
}
