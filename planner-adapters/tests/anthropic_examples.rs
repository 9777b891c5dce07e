//! The Anthropic and MCP files under `examples/` read as documented, and the
//! call an injected tool result asked for carries the flow labels the
//! policies act on.

use preflight_adapters::graph::ActionGraph;
use preflight_adapters::{Format, parse};

fn proposed_labels(bytes: &[u8], format: Format) -> Vec<(String, Vec<&'static str>)> {
    let plan = parse(bytes, None).expect("example parses");
    assert_eq!(plan.format, format);
    let graph = ActionGraph::build(&plan);
    plan.proposed()
        .map(|s| (s.tool.clone(), graph.steps[s.index].labels.names()))
        .collect()
}

#[test]
fn anthropic_invoice_example_proposes_a_transfer_to_the_injected_iban() {
    let bytes = include_bytes!("../../examples/anthropic-invoice-injection.json");
    let proposed = proposed_labels(bytes, Format::Anthropic);
    assert_eq!(proposed.len(), 1);
    let (tool, labels) = &proposed[0];
    assert_eq!(tool, "transfer_money");
    for want in ["untrusted_flow", "injected_flow"] {
        assert!(labels.contains(&want), "{want} missing from {labels:?}");
    }
}

#[test]
fn mcp_ticket_example_proposes_an_email_to_the_injected_address() {
    let bytes = include_bytes!("../../examples/mcp-support-ticket-exfiltration.json");
    let proposed = proposed_labels(bytes, Format::Mcp);
    assert_eq!(proposed.len(), 1);
    let (tool, labels) = &proposed[0];
    assert_eq!(tool, "send_email");
    for want in [
        "untrusted_flow",
        "external_sink",
        "injected_instruction_seen",
    ] {
        assert!(labels.contains(&want), "{want} missing from {labels:?}");
    }
}
