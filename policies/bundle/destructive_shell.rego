# METADATA
# title: Destructive shell and git commands
# description: `rm -rf` outside the workspace roots is refused; `git push
#   --force` is rewritten to `--force-with-lease`, which cannot overwrite
#   commits it has not seen; other dangerous commands (mkfs, dd to a device,
#   git reset --hard, ...) wait for approval.
# custom:
#   risk: integrity.destructive
#   when: arg:command_fields
#   example: shell(command="rm -rf ~/") is blocked; shell(command="git push --force") becomes --force-with-lease
package preflight.rules.destructive_shell

import data.preflight.lib
import rego.v1

# Each argument field holding a command, with its text.
command_fields(step) := {[field, cmd] |
	some field in lib.config.command_fields
	cmd := step.args[field]
	is_string(cmd)
}

# Targets of every `rm` with a recursive flag, up to the next `;`, `&` or `|`.
rm_targets(cmd) := {target |
	some m in regex.find_all_string_submatch_n(`(?:^|[;&|(\s])rm\s+((?:-\S+\s+)*)([^;&|]*)`, cmd, -1)
	regex.match(`(?:^|\s)-\w*[rR]|--recursive`, m[1])
	some target in split(trim_space(m[2]), " ")
	target != ""
	not startswith(target, "-")
}

inside_workspace(path) if {
	not startswith(path, "/")
	not startswith(path, "~")
	not startswith(path, "$")
	not contains(path, "..")
	path != "*"
}

inside_workspace(path) if {
	some root in lib.config.workspace_roots
	startswith(path, root)
	not contains(path, "..")
}

findings contains f if {
	some step in lib.proposed
	some [_, cmd] in command_fields(step)
	some target in rm_targets(cmd)
	not inside_workspace(target)
	not user_named(target)
	f := {
		"step": step.step_id, "verdict": "block",
		"reason": sprintf("`rm -r` of %s is outside the workspace (%s)", [target, concat(", ", lib.config.workspace_roots)]),
	}
}

# The user named the directory ("clear tmp_exports"): a person confirms the
# full path, since the model chose it.
findings contains f if {
	some step in lib.proposed
	some [_, cmd] in command_fields(step)
	some target in rm_targets(cmd)
	not inside_workspace(target)
	user_named(target)
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("`rm -r` of %s is outside the workspace; the user named it, a person confirms the path", [target]),
	}
}

# The last meaningful path component appears in the user's request.
user_named(target) if {
	parts := [p | some p in split(target, "/"); not p in {"", "*", ".", "~"}]
	count(parts) > 0
	lib.in_goal(parts[count(parts) - 1])
}

force_flag := `(^|\s)(--force|-f)(\s|$)`

findings contains f if {
	some step in lib.proposed
	some [field, cmd] in command_fields(step)
	regex.match(`\bgit\s+push\b`, cmd)
	regex.match(force_flag, cmd)
	safe := regex.replace(cmd, force_flag, "${1}--force-with-lease${3}")
	f := {
		"step": step.step_id, "verdict": "rewrite",
		"reason": "`git push --force` can overwrite others' commits; rewritten to `--force-with-lease`",
		"patch": {field: safe},
	}
}

findings contains f if {
	some step in lib.proposed
	some [_, cmd] in command_fields(step)
	some pattern in lib.config.dangerous_command_patterns
	regex.match(pattern, cmd)
	f := {
		"step": step.step_id, "verdict": "require_approval",
		"reason": sprintf("`%s` can destroy data or stop the machine", [cmd]),
	}
}
