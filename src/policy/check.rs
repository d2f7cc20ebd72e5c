//! Checking one path a tool call reads or writes against a compiled [`Policy`]: resolved like
//! the kernel would ([`super::paths`]), matched against the rules, and, when denied, a message
//! that says why and who may do it instead.

use super::decide::{Env, Policy, Verdict, checked_rules};
use super::doc::{PathRule, RuleKind};
use super::paths::{Resolved, below, expand_home, resolve};
use crate::model::pattern::PatternSet;

impl Policy {
    /// Checks one read. `cd` are the directories changed into first (Bash); `searches` means
    /// everything below the path is read too (Grep, Glob, LS, `grep -r`, `find`, …).
    pub(super) fn check_read(
        &self,
        path: &str,
        cd: &[String],
        searches: bool,
        tool: &str,
        env: &Env,
    ) -> Verdict {
        if self.doc.no_read.is_empty() {
            return Verdict::Allow;
        }
        let mut cwd = env.cwd.clone();
        for d in cd {
            cwd = cwd.join(expand_home(d, env.home.as_deref()));
        }
        let rel = match resolve(&env.root, &cwd, path, env.home.as_deref()) {
            Ok(Resolved::Inside(rel)) => rel,
            Ok(Resolved::Outside(_)) => return Verdict::Allow,
            Err(e) => return Verdict::Deny(format!("iw: {tool} of {path} refused: {e}")),
        };
        let hit = self.no_read.first_match(&rel).map(|m| m.1).or_else(|| {
            searches
                .then(|| below(&self.doc.no_read, &rel, &env.root))
                .flatten()
        });
        match hit {
            None => Verdict::Allow,
            Some(i) => {
                let r = &self.doc.no_read[i];
                let shown = if rel.is_empty() { "." } else { &rel };
                Verdict::Deny(format!(
                    "iw: {tool} of `{shown}` blocked: `{}` is in {}'s cannot_read \
                     (agents/registry.yaml).{}",
                    r.pattern,
                    self.doc.agent,
                    if searches {
                        " Search a directory that does not contain it."
                    } else {
                        ""
                    }
                ))
            }
        }
    }

    /// Checks one write. `cd` are the directories changed into first (Bash); `recursive` means
    /// the operation can affect everything below the path (rm -r, mv of a directory, …);
    /// `names_only` that it only adds or removes a name (rm, mv, a hard link's source) and so
    /// cannot change another name of the same file.
    pub(super) fn check_write(
        &self,
        path: &str,
        cd: &[String],
        what: &str,
        recursive: bool,
        names_only: bool,
        env: &Env,
    ) -> Verdict {
        let mut cwd = env.cwd.clone();
        for d in cd {
            cwd = cwd.join(expand_home(d, env.home.as_deref()));
        }
        let rel = match resolve(&env.root, &cwd, path, env.home.as_deref()) {
            Ok(Resolved::Inside(rel)) => rel,
            Ok(Resolved::Outside(abs)) => {
                if self.outside.iter().any(|g| g.is_match(&abs)) {
                    return match std::fs::metadata(&abs) {
                        Ok(m) if !names_only => self.check_links(&m, &abs.to_string_lossy(), what),
                        _ => Verdict::Allow,
                    };
                }
                return Verdict::Deny(format!(
                    "iw: {what} to {} blocked: it is outside the project ({}), and {} may only \
                     write inside it{}. Write inside the project instead.",
                    abs.display(),
                    env.root.display(),
                    self.doc.agent,
                    if self.doc.write_outside_root.is_empty() {
                        String::new()
                    } else {
                        format!(" or to {}", self.doc.write_outside_root.join(", "))
                    }
                ));
            }
            Err(e) => return Verdict::Deny(format!("iw: {what} to {path} refused: {e}")),
        };
        let meta = std::fs::metadata(env.root.join(&rel)).ok();
        let recursive = recursive || meta.as_ref().is_some_and(|m| m.is_dir());
        let links = |v: Verdict| match &meta {
            Some(m) if v == Verdict::Allow && !names_only => self.check_links(m, &rel, what),
            _ => v,
        };
        if !recursive && env.run_result.as_deref() == Some(rel.as_str()) {
            return links(Verdict::Allow);
        }
        let hit = self.no_write.first_match(&rel).map(|m| m.1).or_else(|| {
            recursive
                .then(|| below(&self.doc.no_write, &rel, &env.root))
                .flatten()
        });
        match hit {
            None => links(Verdict::Allow),
            Some(i) => {
                let mut msg = self.write_message(&self.doc.no_write[i], &rel, what);
                if what.contains(super::shell::HARD_LINK) {
                    msg.push_str(
                        " (A hard link is another name for the same file: writing through it \
                         would change this one.)",
                    );
                }
                Verdict::Deny(msg)
            }
        }
    }

    /// Denies changing the content of an existing file that has more than one name (hard
    /// links): the other name may be a file this agent may not write, and nothing tells which.
    fn check_links(&self, meta: &std::fs::Metadata, shown: &str, what: &str) -> Verdict {
        use std::os::unix::fs::MetadataExt as _;
        if !meta.is_file() || meta.nlink() < 2 {
            return Verdict::Allow;
        }
        Verdict::Deny(format!(
            "iw: {what} to `{shown}` blocked: the file has {} hard links (names), so it may be \
             another name of a file {} may not write, and writing it would change that file \
             too. Write a new file instead (e.g. remove this name first, then create it), or \
             ask a human to check it (`find . -samefile {shown}`).",
            meta.nlink(),
            self.doc.agent
        ))
    }

    /// Why writing `rel` is denied by rule `r`, and who may change it instead.
    fn write_message(&self, r: &PathRule, rel: &str, what: &str) -> String {
        let agent = &self.doc.agent;
        let shown = if rel.is_empty() { "." } else { rel };
        let mut msg = match r.rule {
            RuleKind::Protected => format!(
                "iw: {what} to `{shown}` blocked: `{}` is {}, which no agent may change. A human \
                 edits it and runs `iw apply`.",
                r.pattern,
                r.what.as_deref().unwrap_or("protected")
            ),
            RuleKind::ExclusiveAccess => format!(
                "iw: {what} to `{shown}` blocked: `{}` is {}'s exclusive_access.",
                r.pattern,
                r.owner.as_deref().unwrap_or("another agent")
            ),
            _ => format!(
                "iw: {what} to `{shown}` blocked: `{}` is in {agent}'s cannot_access \
                 (agents/registry.yaml).",
                r.pattern
            ),
        };
        if r.rule != RuleKind::Protected {
            self.push_who_may_write(&mut msg, r, rel);
        }
        msg
    }

    /// Appends to a denial who may change `rel` instead: the agent owning it exclusively (by
    /// delegation, or by asking), else the delegates that may write it.
    fn push_who_may_write(&self, msg: &mut String, r: &PathRule, rel: &str) {
        let owner = r.owner.clone().or_else(|| {
            self.owners
                .set()
                .first_match(rel)
                .and_then(|m| self.doc.owners[m.1].owner.clone())
        });
        match owner {
            Some(o) if o == self.doc.agent => {}
            Some(o) if self.doc.delegates_to.contains(&o) => msg.push_str(&format!(
                " It belongs to {o}: delegate the change with the Task tool, subagent_type \"{o}\"."
            )),
            Some(o) => {
                let via = self.doc.delegators.get(&o).cloned().unwrap_or_default();
                if via.is_empty() {
                    msg.push_str(&format!(
                        " It belongs to {o}; report back and ask for {o} to do it."
                    ));
                } else {
                    msg.push_str(&format!(
                        " It belongs to {o}, which {} can delegate to; report back and ask for it.",
                        via.join(", ")
                    ));
                }
            }
            None => match self.delegates_who_may_write(rel).as_slice() {
                [] => msg.push_str(" Leave this path alone; report back if the task needs it."),
                [d] => msg.push_str(&format!(
                    " {d} may write it: delegate the change to {d} (`iw run {d} --task \
                     FILE`, or the Task tool with subagent_type \"{d}\")."
                )),
                several => msg.push_str(&format!(
                    " {} may write it: delegate the change to one of them (`iw run AGENT \
                     --task FILE`, or the Task tool with subagent_type set to the agent).",
                    several.join(", ")
                )),
            },
        }
    }

    /// The agents this one delegates to that may write `rel` (which is in no agent's exclusive
    /// area and not protected): they have a tool that writes, and it is not in their
    /// `cannot_access`. Only computed for a denial.
    fn delegates_who_may_write(&self, rel: &str) -> Vec<&str> {
        self.doc
            .delegate_no_write
            .iter()
            .filter(|(_, rules)| {
                // Rules that do not parse (the policy is verified, so: never) name no one:
                // never suggest an agent that may not write the path.
                checked_rules(rules)
                    .is_ok_and(|patterns| PatternSet::new(patterns).first_match(rel).is_none())
            })
            .map(|(d, _)| d.as_str())
            .collect()
    }
}
