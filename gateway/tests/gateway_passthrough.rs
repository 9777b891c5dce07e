//! Tool-free provider endpoints (`GET /v1/models`, embeddings, Anthropic's
//! token count) pass through untouched; any other unknown endpoint is a 404
//! that never reaches the upstream, since it could carry unjudged tool calls.

mod common;

use std::sync::atomic::Ordering;

use common::*;
use serde_json::json;

#[tokio::test]
async fn the_model_list_passes_through_byte_for_byte() {
    let models = json!({"object": "list", "data": [{"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"}]});
    let up = upstream(vec![Script::json(&models)]).await;
    let gw = gateway(CHAT_UPSTREAM, Some(up.addr)).await;
    let (status, _, body) = send("GET", &gw.url("/v1/models"), &[], "").await;
    assert_eq!(status, 200);
    assert_eq!(body, models.to_string().as_bytes());
    assert_eq!(up.hits.load(Ordering::SeqCst), 1);
    gw.shutdown().await;
}

#[tokio::test]
async fn embeddings_and_anthropic_token_counts_are_forwarded_with_their_bodies() {
    let answer = json!({"input_tokens": 12});
    let up = upstream(vec![Script::json(&answer)]).await;
    let gw = gateway(CHAT_UPSTREAM, Some(up.addr)).await;
    let count =
        json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hello"}]});
    let (status, _, body) = post_json(&gw.url("/v1/messages/count_tokens"), &count).await;
    assert_eq!(status, 200);
    assert_eq!(body, answer);
    let embed = json!({"model": "text-embedding-3-small", "input": "hello"});
    let (status, _, _) = post_json(&gw.url("/v1/embeddings"), &embed).await;
    assert_eq!(status, 200);
    let seen = up.bodies.lock().expect("lock").clone();
    assert_eq!(seen, vec![count, embed]);
    gw.shutdown().await;
}

#[tokio::test]
async fn an_unknown_endpoint_is_refused_without_reaching_the_upstream() {
    let up = upstream(vec![Script::json(&json!({"id": "run_1"}))]).await;
    let gw = gateway(CHAT_UPSTREAM, Some(up.addr)).await;
    let (status, _, body) = post_json(
        &gw.url("/v1/threads/thread_1/runs"),
        &json!({"assistant_id": "asst_1"}),
    )
    .await;
    assert_eq!(status, 404);
    let message = body.pointer("/error/message").and_then(|m| m.as_str());
    assert!(
        message.is_some_and(|m| m.contains("/v1/threads/thread_1/runs") && m.contains("unjudged")),
        "{body}"
    );
    assert_eq!(up.hits.load(Ordering::SeqCst), 0);
    gw.shutdown().await;
}
