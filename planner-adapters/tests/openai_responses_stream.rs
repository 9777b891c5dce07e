//! Tests of the Responses API stream assembler and writer: golden plan,
//! byte-split invariance (including inside UTF-8 characters), a gateway
//! loop whose output the assembler reads again, and fail-closed errors.

use preflight_adapters::adapters::openai_responses_stream::{
    self, ReadyItem, ResponsesStreamAssembler, ResponsesStreamItem, render_responses_stream_call,
};
use preflight_adapters::decision::{Outcomes, StepOutcome, Verdict};
use preflight_adapters::{AdapterError, Format, Plan};
use serde_json::{Value, json};

const PARALLEL: &str = include_str!("fixtures/openai-responses/stream/parallel-calls.sse");

fn items_of(chunks: &[&[u8]]) -> Vec<ResponsesStreamItem> {
    let mut asm = ResponsesStreamAssembler::new();
    let mut items = Vec::new();
    for chunk in chunks {
        items.extend(asm.push(chunk).expect("push"));
    }
    items.extend(asm.finish().expect("finish"));
    items
}

fn calls(items: &[ResponsesStreamItem]) -> Vec<ReadyItem> {
    items
        .iter()
        .filter_map(|i| match i {
            ResponsesStreamItem::ToolCallReady(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn summary(items: &[ResponsesStreamItem]) -> Vec<(usize, Option<String>, String, String)> {
    calls(items)
        .into_iter()
        .map(|c| (c.output_index, c.call_id, c.name, c.arguments))
        .collect()
}

#[test]
fn golden_parallel_calls_stream() {
    let plan = openai_responses_stream::read(PARALLEL.as_bytes()).expect("reads");
    insta::assert_json_snapshot!("stream-parallel-calls", plan);
}

#[test]
fn the_same_calls_come_out_whatever_byte_the_stream_is_split_at() {
    assert!(
        PARALLEL.chars().any(|c| c.len_utf8() == 4),
        "the fixture has 4-byte characters"
    );
    let bytes = PARALLEL.as_bytes();
    let whole = summary(&items_of(&[bytes]));
    assert_eq!(whole.len(), 2);
    for split in 0..=bytes.len() {
        let got = summary(&items_of(&[&bytes[..split], &bytes[split..]]));
        assert_eq!(got, whole, "split at byte {split}");
    }
    let one_by_one: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(summary(&items_of(&one_by_one)), whole);
}

#[test]
fn re_emitting_every_item_unchanged_reproduces_the_stream_byte_for_byte() {
    let mut out = Vec::new();
    for item in items_of(&[PARALLEL.as_bytes()]) {
        match item {
            ResponsesStreamItem::Forward(bytes) => out.extend(bytes),
            ResponsesStreamItem::ToolCallReady(call) => out.extend(call.held),
            ResponsesStreamItem::Completed(done) => out.extend(done.raw),
        }
    }
    assert_eq!(String::from_utf8_lossy(&out), PARALLEL);
}

#[test]
fn message_text_is_forwarded_before_any_call_is_ready() {
    let items = items_of(&[PARALLEL.as_bytes()]);
    let first_call = items
        .iter()
        .position(|i| matches!(i, ResponsesStreamItem::ToolCallReady(_)))
        .expect("a call");
    let forwarded: Vec<u8> = items[..first_call]
        .iter()
        .filter_map(|i| match i {
            ResponsesStreamItem::Forward(b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(String::from_utf8_lossy(&forwarded).contains("response.output_text.done"));
    assert!(matches!(
        items.last(),
        Some(ResponsesStreamItem::Completed(_))
    ));
}

fn outcome(verdict: Verdict, rewrite: Option<Value>) -> StepOutcome {
    StepOutcome {
        verdict,
        reason: "test policy".into(),
        rewrite,
    }
}

/// A gateway loop: forwards, judges each call by tool name, writes the
/// decision, renders the terminal event with the same decisions.
fn gateway(stream: &[u8], judge: impl Fn(&str) -> Option<StepOutcome>) -> Vec<u8> {
    let mut asm = ResponsesStreamAssembler::new();
    let mut items = asm.push(stream).expect("push");
    items.extend(asm.finish().expect("finish"));
    let mut plan = Plan::new(Format::OpenaiResponsesStream);
    let mut outcomes = Outcomes::new();
    let mut out = Vec::new();
    for item in items {
        match item {
            ResponsesStreamItem::Forward(bytes) => out.extend(bytes),
            ResponsesStreamItem::ToolCallReady(call) => {
                let step = openai_responses_stream::push_ready_item(&mut plan, &call);
                let id = plan.steps[step].id.clone();
                let decision = judge(&call.name);
                let mut seq = call.first_seq.unwrap_or(0);
                out.extend(render_responses_stream_call(
                    &call,
                    &id,
                    decision.as_ref(),
                    &mut seq,
                ));
                if let Some(d) = decision {
                    outcomes.insert(id, d);
                }
            }
            ResponsesStreamItem::Completed(done) => {
                out.extend(
                    done.render(&plan, &outcomes)
                        .expect("renders the terminal event"),
                );
            }
        }
    }
    out
}

fn completed_output(stream: &[u8]) -> Value {
    let items = items_of(&[stream]);
    let Some(ResponsesStreamItem::Completed(done)) = items.last() else {
        panic!("ends with the terminal event");
    };
    done.event["response"]["output"].clone()
}

#[test]
fn blocking_one_call_replaces_it_with_a_message_at_the_same_index() {
    let out = gateway(PARALLEL.as_bytes(), |name| {
        (name == "grant_role").then(|| outcome(Verdict::Block, None))
    });
    let got = summary(&items_of(&[&out]));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].2, "reset_password");
    let plan = openai_responses_stream::read(&out).expect("the written stream reads");
    let explanation = plan
        .segments
        .iter()
        .find(|s| s.text.contains("[preflight]"))
        .expect("explained");
    assert!(
        explanation
            .text
            .contains("`grant_role` (call_i9J0k1L2) was blocked")
    );
    let output = completed_output(&out);
    assert_eq!(output[2]["type"], "message");
    assert_eq!(output[1]["type"], "function_call");
}

#[test]
fn a_rewrite_streams_the_new_arguments_and_the_terminal_event_agrees() {
    let new_args = json!({"employee_id": "E-4471", "send_to": "jonas.weiss@nordlicht.example", "expires_minutes": 30});
    let out = gateway(PARALLEL.as_bytes(), |name| {
        (name == "reset_password").then(|| outcome(Verdict::Rewrite, Some(new_args.clone())))
    });
    let got = summary(&items_of(&[&out]));
    let args: Value = serde_json::from_str(&got[0].3).expect("JSON");
    assert_eq!(args, new_args);
    let output = completed_output(&out);
    let final_args: Value =
        serde_json::from_str(output[1]["arguments"].as_str().expect("string")).expect("JSON");
    assert_eq!(final_args, new_args);
}

#[test]
fn allowing_everything_passes_the_stream_through_unchanged() {
    let out = gateway(PARALLEL.as_bytes(), |_| Some(outcome(Verdict::Allow, None)));
    assert_eq!(String::from_utf8_lossy(&out), PARALLEL);
}

fn line_error(stream: &str) -> String {
    match openai_responses_stream::read(stream.as_bytes()) {
        Err(AdapterError::Line { reason, .. }) => reason,
        other => panic!("expected a line error, got {other:?}"),
    }
}

#[test]
fn a_stream_cut_inside_a_call_is_an_error_not_a_partial_call() {
    let cut = &PARALLEL[..PARALLEL
        .find("response.function_call_arguments.done")
        .expect("done")];
    let cut = &cut[..cut.rfind("\n\n").expect("event end") + 2];
    assert!(line_error(cut).contains("ended inside the call item at output_index 1"));
}

#[test]
fn streamed_arguments_that_differ_from_the_final_item_are_refused() {
    let tampered = PARALLEL.replacen(
        "\"arguments\":\"{\\\"employee_id\\\": \\\"E-4471\\\", \\\"send_to\\\": \\\"jonas.weiss@nordlicht.example\\\"}\",\"call_id\"",
        "\"arguments\":\"{\\\"employee_id\\\": \\\"E-1\\\"}\",\"call_id\"",
        2,
    );
    assert_ne!(
        tampered, PARALLEL,
        "the fixture has the item to tamper with"
    );
    assert!(line_error(&tampered).contains("differ"));
}

#[test]
fn malformed_streams_are_errors_with_a_line() {
    assert!(line_error("event: response.created\ndata: {oops\n\n").contains("not JSON"));
    assert!(line_error("").contains("no Responses API event"));
    assert!(line_error("data: [1]\n\n").contains("not a JSON object"));
    let late = concat!(
        "data: {\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"\"}}\n\n",
        "data: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"}}\n\n",
        "data: {\"type\":\"response.function_call_arguments.delta\",\"output_index\":0,\"delta\":\"x\"}\n\n",
    );
    assert!(line_error(late).contains("after it was complete"));
}

#[test]
fn an_item_interleaved_after_a_held_call_waits_for_it() {
    let s = concat!(
        "data: {\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"\"}}\n\n",
        "data: {\"type\":\"response.output_item.added\",\"output_index\":1,\"item\":{\"type\":\"message\",\"role\":\"assistant\",\"content\":[]}}\n\n",
        "data: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"}}\n\n",
    );
    let items = items_of(&[s.as_bytes()]);
    assert!(
        matches!(items[0], ResponsesStreamItem::ToolCallReady(_)),
        "{items:?}"
    );
    let ResponsesStreamItem::Forward(after) = &items[1] else {
        panic!("the message follows the call");
    };
    assert!(String::from_utf8_lossy(after).contains("\"output_index\":1"));
}

#[test]
fn holding_more_than_the_limit_is_an_error_not_unbounded_memory() {
    let mut asm = ResponsesStreamAssembler::with_limit(500);
    let result = asm.push(PARALLEL.as_bytes());
    assert!(
        matches!(result, Err(AdapterError::TooLarge { limit: 500, .. })),
        "{result:?}"
    );
}

#[test]
fn request_history_plus_streamed_items_is_the_exchange_plan() {
    let request: Value = serde_json::from_str(include_str!(
        "fixtures/openai-responses/request-history.json"
    ))
    .expect("JSON");
    let mut plan =
        preflight_adapters::adapters::openai_responses::read_history(&request).expect("reads");
    for call in calls(&items_of(&[PARALLEL.as_bytes()])) {
        openai_responses_stream::push_ready_item(&mut plan, &call);
    }
    let proposed: Vec<_> = plan
        .proposed()
        .map(|s| s.locator.pointer.as_str())
        .collect();
    assert_eq!(proposed, ["/output/1", "/output/2"]);
    assert_eq!(
        plan.steps[0].id, "call_a1B2c3D4",
        "the history call is first"
    );
}
