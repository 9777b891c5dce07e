# Helpers shared by every rule: the proposed steps, labels, the user's goal,
# argument fields, destinations, and organisation data (data.config).
# Not a rule itself (no findings); rules import it as `data.preflight.lib`.
package preflight.lib

import rego.v1

config := data.config

# Steps waiting to be judged.
proposed contains step if {
	some step in input.graph.steps
	step.status == "proposed"
}

has_label(step, label) if label in step.labels

side_effecting(step) if not "read_only" in step.labels

# The user's latest request, lower-cased ("" when there is none).
default goal := ""

goal := lower(input.graph.goal) if is_string(input.graph.goal)

# The user's request names this value (case-insensitive; short values are
# too ambiguous to count as named).
in_goal(value) if {
	is_string(value)
	count(value) >= 3
	contains(goal, lower(value))
}

in_goal(value) if {
	is_number(value)
	contains(goal, format_int(value, 10))
}

# The request hands the content of a document over to the agent ("pay the
# bill in this file"): values read from that content are the user's intent.
delegates_to_content if {
	some phrase in config.delegation_phrases
	contains(goal, phrase)
}

# The top-level argument name of a provenance path: "/to" and "/to/0" -> "to".
field_of(path) := split(trim_prefix(path, "/"), "/")[0]

# String values of a step's arguments, at the top level and one level down
# (`{"to": "a", "cc": ["b"], "opts": {"path": "c"}}` -> a, b, c). Executed
# steps have no provenance, so rules read their arguments through this.
# (Not `walk`: the compiled RVM path does not support it.)
# Malformed arguments (null) have no strings: `[]`, never a runtime error
# that would fail the whole decision.
string_args(step) := out if {
	collection(step.args)
	out := array.concat(
		[v | some v in step.args; is_string(v)],
		array.concat(
			[v | some x in step.args; is_array(x); some v in x; is_string(v)],
			[v | some x in step.args; is_object(x); some v in x; is_string(v)],
		),
	)
} else := []

collection(x) if is_object(x)

collection(x) if is_array(x)

# Shell commands and SQL statements among the arguments.
commands(step) := {c | some f in config.command_fields; c := step.args[f]; is_string(c)}

sql_statements(step) := {s | some f in config.sql_fields; s := step.args[f]; is_string(s)}

matches_any(text, patterns) if {
	some pattern in patterns
	regex.match(pattern, text)
}

# Paths and names that hold secrets: ~/.ssh, .env, cloud credentials,
# salary sheets... (one regex: a loop over markers costs a call each).
sensitive_text(text) if regex.match(config.sensitive_pattern, text)

# Destinations named in the arguments: e-mail domains and URL hosts.
destinations(step) := {lower(d) | some v in string_args(step); d := destination(v)}

# String operations, not regexes: each regorus regex call builds a fresh
# matcher cache, which costs more than the whole rule around it.
destination(v) := d if {
	not contains(v, "://")
	not contains(v, " ")
	parts := split(v, "@")
	count(parts) == 2
	parts[0] != ""
	contains(parts[1], ".")
	d := parts[1]
}

destination(v) := d if {
	not contains(v, " ")
	rest := split(v, "://")
	count(rest) == 2
	d := split(split(split(split(rest[1], "/")[0], "?")[0], "#")[0], ":")[0]
	d != ""
}

internal(domain) if {
	some d in config.internal_domains
	domain == d
}

internal(domain) if {
	some d in config.internal_domains
	endswith(domain, concat("", [".", d]))
}

# Every destination the step names is inside the organisation.
all_internal(step) if {
	dests := destinations(step)
	count(dests) > 0
	every d in dests {
		internal(d)
	}
}

# Nodes the data flow reaches from `start` (graph.reachable skips nodes that
# are not keys of the adjacency, so the last hop is added by hand).
reached(start) := {n |
	some r in graph.reachable(input.graph.flow, {start})
	some n in array.concat([r], object.get(input.graph.flow, r, []))
}

# A value of an earlier step's result flows into `step`'s arguments.
flows_into(source, step) if {
	sprintf("step:%d", [step.index]) in reached(sprintf("result:%d", [source.index]))
}

flows_into(source, step) if {
	some p in step.provenance
	p.origin == "tool_result"
	p.source_step == source.index
}

# Provenance entries long enough to trace (the graph marks the rest `short`).
traced(step) := [p | some p in step.provenance; not object.get(p, "short", false)]

# Every traced argument value was typed by the user (or the system prompt).
all_args_from_user(step) if {
	count(traced(step)) > 0
	every p in traced(step) {
		p.origin in {"user", "system"}
	}
}

# The user's request calls for this tool: a word of its name or one of its
# configured intents appears in the goal.
goal_calls_for(step) if {
	some word in split(replace(replace(lower(step.tool), "-", "_"), ".", "_"), "_")
	count(word) >= 4
	contains(goal, word)
}

goal_calls_for(step) if {
	some word in config.tool_intents[step.tool]
	contains(goal, word)
}

# Strictness for guard thresholds: the request's, else the organisation's.
levels := {"lenient", "standard", "strict"}

strictness := s if {
	s := input.meta.strictness
	s in levels
} else := s if {
	s := config.strictness
	s in levels
} else := "standard"

# The guard threshold for a category at the strictness in force: the
# organisation's per-category override, else the threshold the model was
# calibrated with for this level (input.meta.guard_thresholds, chosen on
# held-out data for a target benign false-positive rate), else the
# organisation's default for the level.
threshold(category) := t if {
	t := config.guard.thresholds[strictness][category]
	category != "default"
} else := t if {
	t := input.meta.guard_thresholds[strictness]
	is_number(t)
} else := config.guard.thresholds[strictness]["default"]
