//! One module per wire format. Each JSON format exposes
//! `read(&Value) -> Result<Plan>` and `render(&mut Value, &Plan, &Outcomes)`;
//! LLM protocols add `read_exchange(request, response)`; stream formats
//! expose `read(&[u8])` and an incremental assembler; text formats `read(&str)`.

pub mod anthropic;
pub mod anthropic_stream;
pub mod eval_case;
pub mod generic;
pub mod langchain;
pub mod mcp;
pub mod openai_chat;
pub mod openai_chat_stream;
pub mod openai_responses;
pub mod openai_responses_stream;
pub mod react;
pub mod sse;
