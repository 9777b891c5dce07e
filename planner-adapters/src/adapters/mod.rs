//! One module per wire format. Each JSON format exposes
//! `read(&Value) -> Result<Plan>` and `render(&mut Value, &Plan, &Outcomes)`;
//! LLM protocols add `read_exchange(request, response)`; stream formats
//! expose `read(&[u8])` and an incremental assembler; text formats `read(&str)`.
//! The gateway's hot path, an OpenAI chat exchange, has a typed reader over
//! the bytes ([`openai_chat::typed`]) that gives the same plan without a
//! `Value` tree, or declines and leaves the document to the `Value` reader.

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
