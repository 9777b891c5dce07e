//! The fixed set of step labels. Policies, the guard model and the audit log
//! rely on these exact names, so they are an enum with a stable string form.

use serde::{Deserialize, Serialize};

/// A fact about a step that analyses establish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// The tool only reads: no side effect on the world.
    ReadOnly,
    /// It reads secrets or personal data (keys, `.env`, credentials, ...).
    ReadsSensitive,
    /// It sends data to a party outside the user's control (mail, web, chat).
    ExternalSink,
    /// It deletes or overwrites.
    Destructive,
    /// Its effect cannot be undone (a sent message, a payment, a purge).
    Irreversible,
    /// It moves money.
    Financial,
    /// It touches credentials, permissions or safety controls.
    Credential,
    /// It runs code or shell commands.
    CodeExecution,
    /// It erases or disables logs and audit trails.
    LogTamper,
    /// Its arguments are not valid JSON.
    MalformedArguments,
    /// A value that exists only in tool output reaches a side-effecting call.
    UntrustedFlow,
    /// Instruction-like text addressed to the assistant appeared in a tool
    /// result earlier in the history.
    InjectedInstructionSeen,
    /// An argument value lies inside such instruction-like text.
    InjectedFlow,
}

impl Label {
    /// Every label, in the order of their names.
    pub const ALL: [Label; 13] = [
        Label::ReadOnly,
        Label::ReadsSensitive,
        Label::ExternalSink,
        Label::Destructive,
        Label::Irreversible,
        Label::Financial,
        Label::Credential,
        Label::CodeExecution,
        Label::LogTamper,
        Label::MalformedArguments,
        Label::UntrustedFlow,
        Label::InjectedInstructionSeen,
        Label::InjectedFlow,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::ReadOnly => "read_only",
            Label::ReadsSensitive => "reads_sensitive",
            Label::ExternalSink => "external_sink",
            Label::Destructive => "destructive",
            Label::Irreversible => "irreversible",
            Label::Financial => "financial",
            Label::Credential => "credential",
            Label::CodeExecution => "code_execution",
            Label::LogTamper => "log_tamper",
            Label::MalformedArguments => "malformed_arguments",
            Label::UntrustedFlow => "untrusted_flow",
            Label::InjectedInstructionSeen => "injected_instruction_seen",
            Label::InjectedFlow => "injected_flow",
        }
    }

    /// True for labels that mean the step changes the world or lets data out.
    pub fn is_side_effect(self) -> bool {
        matches!(
            self,
            Label::ExternalSink
                | Label::Destructive
                | Label::Irreversible
                | Label::Financial
                | Label::Credential
                | Label::CodeExecution
                | Label::LogTamper
        )
    }
}

/// A small sorted set of labels (at most 13 members: a bit set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct LabelSet(u16);

impl LabelSet {
    /// The empty set.
    pub const EMPTY: LabelSet = LabelSet(0);

    /// Adds a label.
    pub fn insert(&mut self, label: Label) {
        self.0 |= 1 << label as u16;
    }

    /// Removes a label.
    pub fn remove(&mut self, label: Label) {
        self.0 &= !(1 << label as u16);
    }

    /// Membership.
    pub fn contains(self, label: Label) -> bool {
        self.0 & (1 << label as u16) != 0
    }

    /// Union.
    pub fn union(self, other: LabelSet) -> LabelSet {
        LabelSet(self.0 | other.0)
    }

    /// True when any member is a side-effect label.
    pub fn has_side_effect(self) -> bool {
        self.iter().any(Label::is_side_effect)
    }

    /// Members in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Label> {
        Label::ALL.into_iter().filter(move |l| self.contains(*l))
    }

    /// Names sorted alphabetically (the order used in JSON).
    pub fn names(self) -> Vec<&'static str> {
        let mut v: Vec<_> = self.iter().map(Label::as_str).collect();
        v.sort_unstable();
        v
    }
}

impl FromIterator<Label> for LabelSet {
    fn from_iter<I: IntoIterator<Item = Label>>(iter: I) -> Self {
        let mut s = LabelSet::EMPTY;
        for l in iter {
            s.insert(l);
        }
        s
    }
}
