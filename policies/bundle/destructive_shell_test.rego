package preflight.rules.destructive_shell_test

import data.preflight.rules.destructive_shell as rule
import data.preflight.testing as t
import rego.v1

sh(cmd) := t.input_of("clean up", [t.proposed(0, "shell", {"command": cmd}, ["code_execution", "destructive"], [t.made_up("/command", cmd)])])

test_blocks_rm_rf_of_the_home_directory if {
	t.fired(rule.findings, "s0", "block") with input as sh("rm -rf ~/")
}

test_blocks_rm_rf_of_a_system_path_after_a_harmless_command if {
	t.fired(rule.findings, "s0", "block") with input as sh("cd build && rm -fr /etc/nginx")
}

test_blocks_rm_rf_climbing_out_of_the_workspace if {
	t.fired(rule.findings, "s0", "block") with input as sh("rm -rf ../../other-project")
}

test_allows_deleting_a_build_directory_inside_the_workspace if {
	t.quiet(rule.findings, "s0") with input as sh("rm -rf build dist && make")
}

test_allows_rm_rf_under_a_configured_workspace_root if {
	t.quiet(rule.findings, "s0") with input as sh("rm -rf /workspace/tmp/cache")
}

test_allows_plain_rm_of_one_file if {
	t.quiet(rule.findings, "s0") with input as sh("rm /etc/motd.bak")
}

test_rewrites_git_push_force_to_force_with_lease if {
	findings := rule.findings with input as sh("git push --force origin main")
	some f in findings
	f.verdict == "rewrite"
	f.patch == {"command": "git push --force-with-lease origin main"}
}

test_rewrites_the_short_force_flag_too if {
	findings := rule.findings with input as sh("git push -f")
	some f in findings
	f.patch.command == "git push --force-with-lease"
}

test_leaves_force_with_lease_alone if {
	t.quiet(rule.findings, "s0") with input as sh("git push --force-with-lease origin main")
}

test_holds_mkfs_for_approval if {
	t.fired(rule.findings, "s0", "require_approval") with input as sh("mkfs.ext4 /dev/sdb1")
}

test_holds_git_reset_hard_for_approval if {
	t.fired(rule.findings, "s0", "require_approval") with input as sh("git reset --hard HEAD~3")
}
