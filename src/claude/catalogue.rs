//! Which tools Claude Code has, in which version: the catalogue iw writes permission rules from.
//!
//! Measured, not guessed: `scripts/claude_tools.py` runs each released CLI with one deny rule per
//! candidate name and keeps the names it does not warn about ("Permission deny rule X matches no
//! known tool"). A deny rule naming a tool the running client lacks prints that warning at every
//! start, so iw writes deny rules only for tools that every supported version has; the hook
//! fences the rest. To support a newer client: install it, run the script over the measured
//! versions plus the new one, and update [`MEASURED`] and [`TOOLS`].

use std::fmt;

/// A Claude Code version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// Parses `2.1.331` or `2.1.331 (Claude Code)` (what `claude --version` prints).
    pub fn parse(s: &str) -> Option<Version> {
        let word = s.split_whitespace().next()?;
        let mut parts = word.split('.').map(|p| p.parse::<u32>().ok());
        let v = Version(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(v)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

const fn v(major: u32, minor: u32, patch: u32) -> Version {
    Version(major, minor, patch)
}

/// What a tool is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// It gives the agent a capability: denied to agents that are not given it.
    Capability,
    /// It talks with the user or loads other tools: never denied.
    Interaction,
}

/// One tool name and the measured versions that have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    /// The name used in permission rules and hook input.
    pub name: &'static str,
    /// Capability or interaction.
    pub kind: Kind,
    /// The first measured version that has it (`None`: the oldest measured one already does).
    pub since: Option<Version>,
    /// The first measured version that no longer has it (`None`: the newest still does).
    pub until: Option<Version>,
}

const fn tool(
    name: &'static str,
    kind: Kind,
    since: Option<Version>,
    until: Option<Version>,
) -> Tool {
    Tool {
        name,
        kind,
        since,
        until,
    }
}

use Kind::{Capability, Interaction};

impl Tool {
    /// True if version `ver` has this tool (between two measured versions, as the nearer older
    /// measured one).
    pub fn in_version(&self, ver: Version) -> bool {
        self.since.is_none_or(|s| ver >= s) && self.until.is_none_or(|u| ver < u)
    }

    /// True if every supported version has it: only such tools may be named in deny rules.
    pub fn in_every_supported(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// True if no supported version has it (a tool Claude Code retired).
    pub fn in_no_supported(&self) -> bool {
        self.until.is_some_and(|u| u <= oldest())
    }
}

/// The oldest supported (measured) version.
pub fn oldest() -> Version {
    MEASURED[0]
}

/// The newest supported (measured) version.
pub fn newest() -> Version {
    MEASURED[MEASURED.len() - 1]
}

/// The catalogue entry of `name`.
pub fn lookup(name: &str) -> Option<&'static Tool> {
    TOOLS
        .binary_search_by(|t| t.name.cmp(name))
        .ok()
        .map(|i| &TOOLS[i])
}

/// The tools every supported version has that give a capability: what an agent that is not given
/// one of them gets in `permissions.deny`.
pub fn deniable() -> impl Iterator<Item = &'static str> {
    TOOLS
        .iter()
        .filter(|t| t.kind == Capability && t.in_every_supported())
        .map(|t| t.name)
}

/// The versions measured with `scripts/claude_tools.py`, oldest first; iw supports the range
/// from the first to the last.
pub const MEASURED: &[Version] = &[
    v(2, 1, 197),
    v(2, 1, 250),
    v(2, 1, 289),
    v(2, 1, 300),
    v(2, 1, 310),
    v(2, 1, 315),
    v(2, 1, 325),
    v(2, 1, 330),
    v(2, 1, 331),
    v(2, 1, 332),
];

/// Every tool name the measured versions know, and the names iw knew before that are gone.
pub const TOOLS: &[Tool] = &[
    tool("Agent", Capability, None, None),
    tool("AgentOutput", Capability, None, None),
    tool("AgentOutputTool", Capability, None, None),
    tool("AppifactRepl", Capability, Some(v(2, 1, 289)), None),
    tool("Artifact", Capability, None, None),
    tool("ArtifactCheck", Capability, Some(v(2, 1, 289)), None),
    tool("ArtifactComments", Capability, Some(v(2, 1, 289)), None),
    tool("ArtifactData", Capability, Some(v(2, 1, 289)), None),
    tool("AskUserQuestion", Interaction, None, None),
    tool("AutofixPr", Capability, Some(v(2, 1, 289)), None),
    tool("Bash", Capability, None, None),
    tool("BashOutput", Capability, None, None),
    tool("BashOutputTool", Capability, None, None),
    tool("Brief", Capability, None, None),
    tool("CronCreate", Capability, None, None),
    tool("CronDelete", Capability, None, None),
    tool("CronList", Capability, None, None),
    tool("DesignSync", Capability, None, None),
    tool("Edit", Capability, None, None),
    tool("EndConversation", Capability, Some(v(2, 1, 250)), None),
    tool("EnterPlanMode", Interaction, None, None),
    tool("EnterWorktree", Capability, None, None),
    tool("ExitPlanMode", Interaction, None, None),
    tool("ExitWorktree", Capability, None, None),
    tool("FetchInboxMessage", Capability, Some(v(2, 1, 289)), None),
    tool("Frame", Capability, Some(v(2, 1, 289)), None),
    tool("FrameRead", Capability, Some(v(2, 1, 289)), None),
    tool("GetGoal", Capability, Some(v(2, 1, 330)), None),
    tool("GetTask", Capability, Some(v(2, 1, 289)), None),
    tool("Glob", Capability, None, None),
    tool("Grep", Capability, None, None),
    tool("KillBash", Capability, None, None),
    tool("KillShell", Capability, None, None),
    tool("LS", Capability, None, Some(v(2, 1, 197))),
    tool("LSP", Capability, None, None),
    tool("ListAgents", Capability, None, None),
    tool("ListConnectors", Capability, Some(v(2, 1, 250)), None),
    tool("ListMcpResources", Capability, None, None),
    tool("ListMcpResourcesTool", Capability, None, None),
    tool("ListPeers", Capability, None, None),
    tool("ListPlugins", Capability, Some(v(2, 1, 250)), None),
    tool("ListSkills", Capability, Some(v(2, 1, 250)), None),
    tool("McpTaskCheck", Capability, Some(v(2, 1, 331)), None),
    tool("McpTaskResumePolling", Capability, Some(v(2, 1, 330)), None),
    tool("McpTaskShowQuestion", Capability, Some(v(2, 1, 331)), None),
    tool("Monitor", Capability, None, None),
    tool("MultiEdit", Capability, None, Some(v(2, 1, 197))),
    tool("NotebookEdit", Capability, None, None),
    tool("NotebookRead", Capability, None, Some(v(2, 1, 197))),
    tool("OfferChromeSetup", Capability, Some(v(2, 1, 300)), None),
    tool("PauseGoal", Capability, Some(v(2, 1, 330)), None),
    tool("Poll", Capability, Some(v(2, 1, 250)), None),
    tool("PowerShell", Capability, None, None),
    tool("Projects", Capability, None, None),
    tool("ProposeGoal", Capability, Some(v(2, 1, 250)), None),
    tool("PublishPlugin", Capability, Some(v(2, 1, 300)), None),
    tool("PushNotification", Capability, None, None),
    tool("REPL", Capability, None, Some(v(2, 1, 289))),
    tool("Read", Capability, None, None),
    tool("ReadMcpResource", Capability, None, None),
    tool("ReadMcpResourceDir", Capability, None, None),
    tool("ReadMcpResourceDirTool", Capability, None, None),
    tool("ReadMcpResourceTool", Capability, None, None),
    tool("ReadNotifications", Capability, Some(v(2, 1, 250)), None),
    tool("ReadWidgetContext", Capability, Some(v(2, 1, 325)), None),
    tool("RemoteTrigger", Capability, None, None),
    tool("ReportFindings", Capability, None, None),
    tool("ScheduleWakeup", Capability, None, None),
    tool("SearchMcpRegistry", Capability, Some(v(2, 1, 250)), None),
    tool("SearchPlugins", Capability, Some(v(2, 1, 250)), None),
    tool("SearchSkills", Capability, Some(v(2, 1, 250)), None),
    tool("SendFeedback", Capability, Some(v(2, 1, 250)), None),
    tool("SendFile", Capability, Some(v(2, 1, 250)), None),
    tool("SendMessage", Capability, None, None),
    tool("SendToProject", Capability, Some(v(2, 1, 315)), None),
    tool("SendToProjectContext", Capability, Some(v(2, 1, 315)), None),
    tool("SendUserFile", Capability, None, None),
    tool("SendUserMessage", Capability, None, None),
    tool("SetGoal", Capability, Some(v(2, 1, 330)), None),
    tool("ShareOnboardingGuide", Capability, None, None),
    tool("ShowOnboardingRolePicker", Capability, None, None),
    tool("Skill", Capability, None, None),
    tool("SlashCommand", Capability, None, Some(v(2, 1, 197))),
    tool("SuggestBackgroundPR", Capability, Some(v(2, 1, 289)), None),
    tool("SuggestConnectors", Capability, Some(v(2, 1, 250)), None),
    tool("SuggestPluginInstall", Capability, Some(v(2, 1, 250)), None),
    tool("SuggestSkills", Capability, Some(v(2, 1, 250)), None),
    tool("Task", Capability, None, None),
    tool("TaskCreate", Capability, None, None),
    tool("TaskGet", Capability, None, None),
    tool("TaskList", Capability, None, None),
    tool("TaskOutput", Capability, None, None),
    tool("TaskStop", Capability, None, None),
    tool("TaskUpdate", Capability, None, None),
    tool("TeamCreate", Capability, Some(v(2, 1, 289)), None),
    tool("TeamDelete", Capability, Some(v(2, 1, 289)), None),
    tool("TodoWrite", Capability, None, None),
    tool("ToolSearch", Interaction, Some(v(2, 1, 310)), None),
    tool("WaitForMcpServers", Capability, None, None),
    tool("WebFetch", Capability, None, None),
    tool("WebSearch", Capability, None, None),
    tool("Workflow", Capability, None, None),
    tool("WrapUp", Capability, Some(v(2, 1, 325)), None),
    tool("Write", Capability, None, None),
    tool("Yield", Capability, Some(v(2, 1, 325)), None),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_measured_versions_ascend() {
        assert!(TOOLS.windows(2).all(|w| w[0].name < w[1].name));
        assert!(MEASURED.windows(2).all(|w| w[0] < w[1]));
        for t in TOOLS {
            for b in t.since.iter().chain(t.until.iter()) {
                assert!(MEASURED.contains(b), "{}: {b} was not measured", t.name);
            }
        }
    }

    #[test]
    fn retired_tools_are_never_denied() {
        // Each printed "Deny rule X matches no tool" at every start of 2.1.330.
        for name in ["LS", "MultiEdit", "NotebookRead", "SlashCommand"] {
            let t = lookup(name).unwrap();
            assert!(t.in_no_supported(), "{name}");
            assert!(!deniable().any(|d| d == name), "{name}");
        }
        // Missing from 2.1.197 and 2.1.250: not in deny rules either.
        assert!(!deniable().any(|d| d == "TeamCreate"));
        assert!(deniable().any(|d| d == "Bash"));
        assert!(
            !deniable().any(|d| d == "AskUserQuestion"),
            "interaction tool"
        );
    }

    #[test]
    fn versions() {
        assert_eq!(
            Version::parse("2.1.331 (Claude Code)"),
            Some(Version(2, 1, 331))
        );
        assert_eq!(Version::parse("2.1"), None);
        assert_eq!(Version::parse("2.1.3.4"), None);
        assert_eq!(Version::parse("x"), None);
        let t = lookup("GetGoal").unwrap();
        assert!(!t.in_version(Version(2, 1, 329)) && t.in_version(Version(2, 1, 330)));
        assert!(lookup("REPL").unwrap().in_version(Version(2, 1, 250)));
        assert!(!lookup("REPL").unwrap().in_version(Version(2, 1, 289)));
        assert_eq!(Version(2, 1, 9).to_string(), "2.1.9");
    }
}
