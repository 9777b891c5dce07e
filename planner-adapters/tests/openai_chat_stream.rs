//! Tests of the Chat Completions stream assembler and writer: golden plans
//! from recorded-shape streams, byte-split invariance (including splits
//! inside UTF-8 characters), ordering guarantees, and a gateway loop that
//! writes decisions back into a stream the assembler reads again.

use preflight_adapters::adapters::openai_chat_stream::{
    self, ChatStreamAssembler, ReadyCall, StreamItem, render_chat_stream_call,
};
use preflight_adapters::decision::{StepOutcome, Verdict};
use preflight_adapters::{AdapterError, Plan};
use serde_json::{Value, json};

const PARALLEL: &str = include_str!("fixtures/openai/stream/parallel-tools.sse");
const LEGACY: &str = include_str!("fixtures/openai/stream/legacy-function-call.sse");
const COMPAT: &str = include_str!("fixtures/openai/stream/compat-server.sse");

fn items_of(chunks: &[&[u8]]) -> Vec<StreamItem> {
    let mut asm = ChatStreamAssembler::new();
    let mut items = Vec::new();
    for chunk in chunks {
        items.extend(asm.push(chunk).expect("push"));
    }
    items.extend(asm.finish().expect("finish"));
    items
}

fn calls(items: &[StreamItem]) -> Vec<ReadyCall> {
    items
        .iter()
        .filter_map(|i| match i {
            StreamItem::ToolCallReady(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

/// What a client would end up with: (id, name, arguments) per call.
fn summary(items: &[StreamItem]) -> Vec<(Option<String>, String, String)> {
    calls(items)
        .into_iter()
        .map(|c| (c.id, c.name, c.arguments))
        .collect()
}

#[test]
fn golden_parallel_tools_stream() {
    let plan = openai_chat_stream::read(PARALLEL.as_bytes()).expect("reads");
    insta::assert_json_snapshot!("stream-parallel-tools", plan);
}

#[test]
fn golden_legacy_function_call_stream() {
    let plan = openai_chat_stream::read(LEGACY.as_bytes()).expect("reads");
    insta::assert_json_snapshot!("stream-legacy-function-call", plan);
}

#[test]
fn golden_compat_server_stream() {
    let plan = openai_chat_stream::read(COMPAT.as_bytes()).expect("reads");
    insta::assert_json_snapshot!("stream-compat-server", plan);
}

#[test]
fn parallel_calls_are_assembled_whole_from_many_deltas() {
    let got = summary(&items_of(&[PARALLEL.as_bytes()]));
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1, "pay_invoice");
    let args: Value = serde_json::from_str(&got[1].2).expect("valid JSON");
    assert_eq!(args["body"], "Anbei — 日本語 ✓ 🧾");
    assert_eq!(got[1].0.as_deref(), Some("call_U2qEr5yAn4"));
}

#[test]
fn the_same_calls_come_out_whatever_byte_the_stream_is_split_at() {
    for stream in [PARALLEL, LEGACY, COMPAT] {
        let bytes = stream.as_bytes();
        let whole = summary(&items_of(&[bytes]));
        assert!(!whole.is_empty());
        for split in 0..=bytes.len() {
            let got = summary(&items_of(&[&bytes[..split], &bytes[split..]]));
            assert_eq!(got, whole, "split at byte {split}");
        }
        let one_by_one: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(summary(&items_of(&one_by_one)), whole, "one byte at a time");
    }
}

#[test]
fn the_stream_splits_inside_multibyte_characters_in_the_fixture() {
    // Guard the test above: the fixture must contain multi-byte characters.
    assert!(PARALLEL.chars().any(|c| c.len_utf8() == 4));
    assert!(PARALLEL.chars().any(|c| c.len_utf8() == 3));
}

#[test]
fn re_emitting_every_item_unchanged_reproduces_the_stream_byte_for_byte() {
    {
        let stream = PARALLEL;
        let items = items_of(&[stream.as_bytes()]);
        let mut out = Vec::new();
        for item in &items {
            match item {
                StreamItem::Forward(bytes) => out.extend_from_slice(bytes),
                StreamItem::ToolCallReady(call) => {
                    assert!(call.exact, "{} is held exactly", call.name);
                    out.extend_from_slice(&call.held);
                }
                StreamItem::Finish(finish) => out.extend_from_slice(&finish.render(&[])),
            }
        }
        assert_eq!(String::from_utf8_lossy(&out), stream);
    }
}

#[test]
fn the_role_and_keep_alives_pass_at_once_while_a_call_is_held() {
    let items = items_of(&[LEGACY.as_bytes()]);
    let StreamItem::Forward(first) = &items[0] else {
        panic!("the role goes out first: {items:?}");
    };
    let first = String::from_utf8_lossy(first);
    assert!(first.contains("\"role\":\"assistant\"") && !first.contains("create_ticket"));
    assert_eq!(
        items[1],
        StreamItem::Forward(b": keep-alive\r\n\r\n".to_vec())
    );
    assert!(matches!(items[2], StreamItem::ToolCallReady(_)));
}

#[test]
fn a_fully_blocked_stream_still_tells_the_client_the_role_once() {
    let out = gateway(LEGACY.as_bytes(), |_| Some(outcome(Verdict::Block, None)));
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.matches("\"role\"").count(), 1, "{text}");
    assert_eq!(finish_reasons(&out), ["stop"]);
}

#[test]
fn text_goes_out_before_calls_and_calls_before_the_finish_reason() {
    let items = items_of(&[PARALLEL.as_bytes()]);
    let kinds: Vec<&str> = items
        .iter()
        .map(|i| match i {
            StreamItem::Forward(_) => "forward",
            StreamItem::ToolCallReady(_) => "call",
            StreamItem::Finish(_) => "finish",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "forward", "forward", "forward", "call", "call", "finish", "forward", "forward"
        ]
    );
}

#[test]
fn the_first_call_is_released_as_soon_as_the_second_starts() {
    let bytes = PARALLEL.as_bytes();
    let second = PARALLEL.find("call_U2qEr5yAn4").expect("second call");
    let end_of_event = second + PARALLEL[second..].find("\n\n").expect("event end") + 2;
    let mut asm = ChatStreamAssembler::new();
    let items = asm.push(&bytes[..end_of_event]).expect("push");
    assert_eq!(
        summary(&items).len(),
        1,
        "pay_invoice is ready, send_email is held"
    );
}

#[test]
fn text_mixed_with_a_call_delta_is_forwarded_at_once_without_the_call() {
    let mut asm = ChatStreamAssembler::new();
    let first_event = &COMPAT[..COMPAT.find("\n\n").expect("event") + 2];
    let items = asm.push(first_event.as_bytes()).expect("push");
    let [StreamItem::Forward(bytes)] = items.as_slice() else {
        panic!("one forwarded event, got {items:?}");
    };
    let text = String::from_utf8_lossy(bytes);
    assert!(text.contains("Let me look that up."));
    assert!(
        !text.contains("tool_calls"),
        "the call part is held: {text}"
    );
    let calls = calls(&items_of(&[COMPAT.as_bytes()]));
    assert!(
        calls.iter().all(|c| !c.exact),
        "mixed events are not replayed raw"
    );
}

fn outcome(verdict: Verdict, rewrite: Option<Value>) -> StepOutcome {
    StepOutcome {
        verdict,
        reason: "test policy".into(),
        rewrite,
    }
}

/// A gateway loop: forwards text, judges each call by tool name, numbers
/// the calls it lets through densely, and stops the finish reason when all
/// calls of the choice were withheld.
fn gateway(stream: &[u8], judge: impl Fn(&str) -> Option<StepOutcome>) -> Vec<u8> {
    let mut asm = ChatStreamAssembler::new();
    let mut items = asm.push(stream).expect("push");
    items.extend(asm.finish().expect("finish"));
    let template = asm.template().cloned().expect("template");
    let mut plan = Plan::new(preflight_adapters::Format::OpenaiChatStream);
    let mut out = Vec::new();
    let mut let_through = 0;
    for item in items {
        match item {
            StreamItem::Forward(bytes) => out.extend(bytes),
            StreamItem::ToolCallReady(call) => {
                let step = openai_chat_stream::push_ready_call(&mut plan, &call);
                let decision = judge(&call.name);
                out.extend(render_chat_stream_call(
                    &template,
                    &call,
                    let_through,
                    &plan.steps[step].id,
                    decision.as_ref(),
                ));
                if !decision.is_some_and(|d| d.verdict.withholds()) {
                    let_through += 1;
                }
            }
            StreamItem::Finish(finish) => {
                let stopped: &[usize] = if let_through == 0 { &[0] } else { &[] };
                out.extend(finish.render(stopped));
            }
        }
    }
    out
}

fn finish_reasons(stream: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stream)
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v.pointer("/choices/0/finish_reason")?
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

#[test]
fn blocking_the_first_of_two_calls_renumbers_the_second_and_explains() {
    let out = gateway(PARALLEL.as_bytes(), |name| {
        (name == "pay_invoice").then(|| outcome(Verdict::Block, None))
    });
    let items = items_of(&[&out]);
    let got = summary(&items);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, "send_email");
    let only = &calls(&items)[0];
    assert_eq!(only.index, 0, "the call a client sees is numbered densely");
    let plan = openai_chat_stream::read(&out).expect("the written stream reads");
    let text = &plan.segments[0].text;
    assert!(
        text.starts_with("Paying the invoice für Zürich 🧾 and sending the export.\n\n[preflight]")
    );
    assert!(text.contains("`pay_invoice` (call_T1pDq4xZm3) was blocked"));
    assert_eq!(finish_reasons(&out), ["tool_calls"]);
}

#[test]
fn blocking_every_call_ends_the_stream_with_stop() {
    let out = gateway(PARALLEL.as_bytes(), |_| {
        Some(outcome(Verdict::RequireApproval, None))
    });
    let items = items_of(&[&out]);
    assert!(calls(&items).is_empty());
    assert_eq!(finish_reasons(&out), ["stop"]);
    assert!(String::from_utf8_lossy(&out).ends_with("data: [DONE]\n\n"));
}

#[test]
fn a_rewrite_is_written_whole_with_the_new_arguments() {
    let new_args = json!({"to": "dana@acme.example", "subject": "Export", "body": "Anbei."});
    let out = gateway(PARALLEL.as_bytes(), |name| {
        (name == "send_email").then(|| outcome(Verdict::Rewrite, Some(new_args.clone())))
    });
    let got = summary(&items_of(&[&out]));
    assert_eq!(got.len(), 2);
    let args: Value = serde_json::from_str(&got[1].2).expect("JSON");
    assert_eq!(args, new_args);
    assert_eq!(
        got[0],
        summary(&items_of(&[PARALLEL.as_bytes()]))[0],
        "the allowed call is unchanged"
    );
}

#[test]
fn a_rewrite_without_new_arguments_is_withheld_not_passed() {
    let out = gateway(LEGACY.as_bytes(), |_| Some(outcome(Verdict::Rewrite, None)));
    let plan = openai_chat_stream::read(&out).expect("reads");
    assert!(plan.steps.is_empty());
    assert!(plan.segments[0].text.contains("withheld"));
}

fn line_error(stream: &str) -> String {
    match openai_chat_stream::read(stream.as_bytes()) {
        Err(AdapterError::Line { reason, .. }) => reason,
        other => panic!("expected a line error, got {other:?}"),
    }
}

#[test]
fn a_delta_for_a_call_already_released_is_an_error() {
    let s = concat!(
        "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}]}}]}\n\n",
        "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}}]}\n\n",
        "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"}\"}}]}}]}\n\n",
    );
    assert!(line_error(s).contains("after the call was complete"));
}

#[test]
fn malformed_streams_are_errors_with_a_line() {
    assert!(line_error("data: {not json\n\n").contains("not JSON"));
    assert!(line_error("").contains("no chat.completion.chunk"));
    let nameless = "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n";
    assert!(line_error(nameless).contains("without a tool name"));
    let bad_index = "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":-1,\"function\":{\"name\":\"f\"}}]}}]}\n\n";
    assert!(line_error(bad_index).contains("/choices/0/delta/tool_calls/0/index"));
}

#[test]
fn a_stream_cut_before_its_finish_still_yields_its_calls_at_finish() {
    let cut = &PARALLEL[..PARALLEL
        .find("\"finish_reason\":\"tool_calls\"")
        .expect("finish")];
    let cut = &cut[..cut.rfind("\n\n").expect("event end") + 2];
    let got = summary(&items_of(&[cut.as_bytes()]));
    assert_eq!(got.len(), 2);
}

#[test]
fn a_stream_recorded_as_a_json_array_of_chunks_reads_the_same() {
    let chunks: Vec<Value> = PARALLEL
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    let array = serde_json::to_vec(&chunks).expect("serializes");
    let from_array = openai_chat_stream::read(&array).expect("reads");
    let from_sse = openai_chat_stream::read(PARALLEL.as_bytes()).expect("reads");
    assert_eq!(from_array, from_sse);
    assert!(matches!(
        openai_chat_stream::read(b"[1]"),
        Err(AdapterError::Shape { path, .. }) if path == "/0"
    ));
}

#[test]
fn holding_more_than_the_limit_is_an_error_not_unbounded_memory() {
    let mut asm = ChatStreamAssembler::with_limit(1_000);
    let result = asm.push(PARALLEL.as_bytes());
    assert!(
        matches!(result, Err(AdapterError::TooLarge { limit: 1_000, .. })),
        "{result:?}"
    );
    let mut asm = ChatStreamAssembler::with_limit(100_000);
    assert!(asm.push(PARALLEL.as_bytes()).is_ok());
}

#[test]
fn custom_tool_calls_stream_their_input_as_text() {
    let s = concat!(
        "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_p\",\"type\":\"custom\",\"custom\":{\"name\":\"apply_patch\",\"input\":\"*** Begin \"}}]}}]}\n\n",
        "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"custom\":{\"input\":\"Patch\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: [DONE]\n\n",
    );
    let plan = openai_chat_stream::read(s.as_bytes()).expect("reads");
    assert_eq!(plan.steps[0].tool, "apply_patch");
    assert_eq!(plan.steps[0].args.value(), Some(&json!("*** Begin Patch")));
    let out = gateway(s.as_bytes(), |_| {
        Some(outcome(
            Verdict::Rewrite,
            Some(json!("*** Begin Patch\n*** End Patch")),
        ))
    });
    let again = openai_chat_stream::read(&out).expect("reads");
    assert_eq!(
        again.steps[0].args.value(),
        Some(&json!("*** Begin Patch\n*** End Patch"))
    );
}

#[test]
fn request_history_plus_streamed_calls_is_the_exchange_plan() {
    let request: Value =
        serde_json::from_str(include_str!("fixtures/openai/request-history.json")).expect("JSON");
    let mut plan =
        preflight_adapters::adapters::openai_chat::read_history(&request).expect("reads");
    assert!(plan.steps.iter().all(|s| !s.is_proposed()));
    for call in calls(&items_of(&[PARALLEL.as_bytes()])) {
        openai_chat_stream::push_ready_call(&mut plan, &call);
    }
    let proposed: Vec<_> = plan.proposed().map(|s| s.id.as_str()).collect();
    assert_eq!(proposed, ["call_T1pDq4xZm3", "call_U2qEr5yAn4"]);
    assert_eq!(
        plan.goal.as_deref(),
        Some("Yes, pay it now — and file the receipt. Merci!")
    );
}
