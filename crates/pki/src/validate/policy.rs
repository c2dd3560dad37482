//! The valid_policy_tree of RFC 5280 §6.1.2(a), §6.1.3(d)-(f), §6.1.4(a)-(b), §6.1.5(g).
//!
//! Nodes live in a flat arena with parent links; a node budget bounds the
//! tree so that crafted policy/mapping combinations cannot blow up memory.

use super::cert::OID_ANY_POLICY;

/// Most nodes ever created in one tree. Honest paths need a handful per
/// level; x509-limbo's pathological policy cases need far fewer than this.
pub const MAX_POLICY_NODES: usize = 4096;

#[derive(Debug, Clone)]
struct Node {
    policy: Vec<u8>,
    expected: Vec<Vec<u8>>,
    parent: Option<usize>,
    depth: usize,
    alive: bool,
}

/// The tree; `None` state is represented by `null = true`.
#[derive(Debug, Clone)]
pub(crate) struct PolicyTree {
    nodes: Vec<Node>,
    null: bool,
}

/// The tree exceeded its node budget.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TooLarge;

impl PolicyTree {
    pub fn new() -> Self {
        PolicyTree {
            nodes: vec![Node {
                policy: OID_ANY_POLICY.to_vec(),
                expected: vec![OID_ANY_POLICY.to_vec()],
                parent: None,
                depth: 0,
                alive: true,
            }],
            null: false,
        }
    }

    pub fn is_null(&self) -> bool {
        self.null
    }

    pub fn set_null(&mut self) {
        self.null = true;
        self.nodes.clear();
    }

    fn push(&mut self, n: Node) -> Result<(), TooLarge> {
        if self.nodes.len() >= MAX_POLICY_NODES {
            return Err(TooLarge);
        }
        self.nodes.push(n);
        Ok(())
    }

    fn at_depth(&self, d: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].alive && self.nodes[i].depth == d)
            .collect()
    }

    fn children_of(&self, p: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len())
            .filter(move |&i| self.nodes[i].alive && self.nodes[i].parent == Some(p))
    }

    /// §6.1.3(d): process the certificatePolicies of the certificate at depth `i`.
    pub fn process_cert(
        &mut self,
        i: usize,
        policies: &[Vec<u8>],
        any_allowed: bool,
    ) -> Result<(), TooLarge> {
        if self.null {
            return Ok(());
        }
        let parents = self.at_depth(i - 1);
        for p in policies.iter().filter(|p| p.as_slice() != OID_ANY_POLICY) {
            let matching: Vec<usize> = parents
                .iter()
                .copied()
                .filter(|&n| self.nodes[n].expected.contains(p))
                .collect();
            let targets = if matching.is_empty() {
                parents
                    .iter()
                    .copied()
                    .filter(|&n| self.nodes[n].policy == OID_ANY_POLICY)
                    .collect()
            } else {
                matching
            };
            for t in targets {
                self.push(Node {
                    policy: p.clone(),
                    expected: vec![p.clone()],
                    parent: Some(t),
                    depth: i,
                    alive: true,
                })?;
            }
        }
        if any_allowed && policies.iter().any(|p| p.as_slice() == OID_ANY_POLICY) {
            for &n in &parents {
                let existing: Vec<Vec<u8>> = self
                    .children_of(n)
                    .map(|c| self.nodes[c].policy.clone())
                    .collect();
                for e in self.nodes[n].expected.clone() {
                    if !existing.contains(&e) {
                        self.push(Node {
                            policy: e.clone(),
                            expected: vec![e],
                            parent: Some(n),
                            depth: i,
                            alive: true,
                        })?;
                    }
                }
            }
        }
        self.prune(i);
        Ok(())
    }

    /// Deletes childless nodes above depth `i`, bottom-up; the tree becomes
    /// null when the root goes.
    pub fn prune(&mut self, i: usize) {
        for d in (0..i).rev() {
            for n in self.at_depth(d) {
                if self.children_of(n).next().is_none() {
                    self.nodes[n].alive = false;
                }
            }
        }
        if !self.nodes.first().is_some_and(|r| r.alive) {
            self.set_null();
        }
    }

    /// §6.1.4(b): apply policyMappings of the certificate at depth `i`.
    pub fn apply_mappings(
        &mut self,
        i: usize,
        mappings: &[(Vec<u8>, Vec<u8>)],
        mapping_allowed: bool,
    ) -> Result<(), TooLarge> {
        if self.null {
            return Ok(());
        }
        let mut issuer_policies: Vec<&Vec<u8>> = Vec::new();
        for (a, _) in mappings {
            if !issuer_policies.contains(&a) {
                issuer_policies.push(a);
            }
        }
        for idp in issuer_policies {
            let mapped: Vec<Vec<u8>> = mappings
                .iter()
                .filter(|(a, _)| a == idp)
                .map(|(_, b)| b.clone())
                .collect();
            let level = self.at_depth(i);
            let hits: Vec<usize> = level
                .iter()
                .copied()
                .filter(|&n| &self.nodes[n].policy == idp)
                .collect();
            if mapping_allowed {
                if !hits.is_empty() {
                    for n in hits {
                        self.nodes[n].expected = mapped.clone();
                    }
                } else if let Some(&any) = level
                    .iter()
                    .find(|&&n| self.nodes[n].policy == OID_ANY_POLICY)
                {
                    let parent = self.nodes[any].parent;
                    self.push(Node {
                        policy: idp.clone(),
                        expected: mapped.clone(),
                        parent,
                        depth: i,
                        alive: true,
                    })?;
                }
            } else {
                for n in hits {
                    self.nodes[n].alive = false;
                }
            }
        }
        if !mapping_allowed {
            self.prune(i);
        }
        Ok(())
    }

    /// §6.1.5(g): intersect with the user-initial-policy-set (`None` = anyPolicy)
    /// and return the policies of the leaves at depth `n`.
    pub fn intersect(
        &mut self,
        n: usize,
        user: Option<&[Vec<u8>]>,
    ) -> Result<Vec<Vec<u8>>, TooLarge> {
        if self.null {
            return Ok(Vec::new());
        }
        if let Some(user) = user {
            // (ii) nodes whose parent is anyPolicy, not anyPolicy themselves, not in the user set.
            let set: Vec<usize> = (0..self.nodes.len())
                .filter(|&c| {
                    self.nodes[c].alive
                        && self.nodes[c].parent.is_some_and(|p| {
                            self.nodes[p].alive && self.nodes[p].policy == OID_ANY_POLICY
                        })
                })
                .collect();
            for &c in &set {
                let pol = &self.nodes[c].policy;
                if pol != OID_ANY_POLICY && !user.contains(pol) {
                    self.kill_subtree(c);
                }
            }
            // (iii) an anyPolicy leaf at depth n stands for every user policy not yet present.
            let any_leaf = self
                .at_depth(n)
                .into_iter()
                .find(|&x| self.nodes[x].policy == OID_ANY_POLICY);
            if let Some(al) = any_leaf {
                let parent = self.nodes[al].parent;
                for p in user {
                    let present = set
                        .iter()
                        .any(|&c| self.nodes[c].alive && &self.nodes[c].policy == p);
                    if !present {
                        self.push(Node {
                            policy: p.clone(),
                            expected: vec![p.clone()],
                            parent,
                            depth: n,
                            alive: true,
                        })?;
                    }
                }
                self.nodes[al].alive = false;
            }
            self.prune(n);
        }
        if self.null {
            return Ok(Vec::new());
        }
        let mut out: Vec<Vec<u8>> = Vec::new();
        for x in self.at_depth(n) {
            let p = self.nodes[x].policy.clone();
            if !out.contains(&p) {
                out.push(p);
            }
        }
        if out.is_empty() {
            self.set_null();
        }
        Ok(out)
    }

    fn kill_subtree(&mut self, root: usize) {
        let mut stack = vec![root];
        while let Some(x) = stack.pop() {
            if self.nodes[x].alive {
                self.nodes[x].alive = false;
                stack.extend(self.children_of(x).collect::<Vec<_>>());
            }
        }
    }
}
