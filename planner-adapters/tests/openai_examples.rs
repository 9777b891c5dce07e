//! The OpenAI examples under `examples/` are detected as their format and
//! read into the plans `preflight check` will judge: the user's own call
//! and the injected one are both proposed, the injected text is a tool result.

use preflight_adapters::{Format, Origin, format, parse};

fn check_example(bytes: &[u8], want: Format, benign: &str, injected: &str) {
    assert_eq!(format::detect(bytes).expect("detects"), want);
    let plan = parse(bytes, None).expect("reads");
    let proposed: Vec<_> = plan.proposed().map(|s| s.tool.as_str()).collect();
    assert_eq!(proposed, [benign, injected]);
    assert!(plan.goal.is_some());
    assert!(
        plan.segments
            .iter()
            .any(|s| matches!(s.origin, Origin::ToolResult { step: Some(0) })),
        "the injected text is the first call's result"
    );
}

#[test]
fn chat_example_proposes_the_payment_and_the_injected_email() {
    check_example(
        include_bytes!("../../examples/openai-chat-invoice-exfiltration.json"),
        Format::OpenaiChat,
        "pay_invoice",
        "send_email",
    );
}

#[test]
fn responses_example_proposes_the_reset_and_the_injected_role_grant() {
    check_example(
        include_bytes!("../../examples/openai-responses-helpdesk-escalation.json"),
        Format::OpenaiResponses,
        "reset_password",
        "grant_role",
    );
}
