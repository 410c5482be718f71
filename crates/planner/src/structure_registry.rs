//! Hands out structure ids while a statement is compiled: an identical
//! structure already in the catalog (or requested earlier by the same
//! statement) is shared; new ones get fresh ids, committed to the catalog
//! only if the statement registers.

use crate::catalog::Catalog;
use crate::structure::{StructureId, StructureSpec};

pub(crate) struct StructureRegistry<'a> {
    catalog: &'a Catalog,
    next_id: StructureId,
    pub(crate) added: Vec<(StructureId, StructureSpec)>,
    pub(crate) used: Vec<StructureId>,
}

impl<'a> StructureRegistry<'a> {
    pub(crate) fn new(catalog: &'a Catalog) -> StructureRegistry<'a> {
        StructureRegistry { catalog, next_id: catalog.next_structure_id(), added: Vec::new(), used: Vec::new() }
    }

    /// The id of a structure equal to `spec`, creating it if needed.
    pub(crate) fn get(&mut self, spec: StructureSpec) -> StructureId {
        let existing = self
            .catalog
            .structures()
            .find(|(_, e)| *e.spec == spec)
            .map(|(id, _)| id)
            .or_else(|| self.added.iter().find(|(_, s)| *s == spec).map(|(id, _)| *id));
        let id = existing.unwrap_or_else(|| {
            let id = self.next_id;
            self.next_id += 1;
            self.added.push((id, spec));
            id
        });
        if !self.used.contains(&id) {
            self.used.push(id);
        }
        id
    }
}

impl<'a> StructureRegistry<'a> {
    /// Takes back a structure this statement asked for and turned out not
    /// to need, unless a structure it still asks for refers to it.
    pub(crate) fn release_if_unreferenced(&mut self, id: StructureId) {
        let referenced =
            self.used.iter().filter(|&&u| u != id).any(|&u| match self.added.iter().find(|(a, _)| *a == u) {
                Some((_, spec)) => refers_to(spec, id),
                None => self.catalog.structures().any(|(c, e)| c == u && refers_to(&e.spec, id)),
            });
        if !referenced {
            self.used.retain(|&u| u != id);
            self.added.retain(|(a, _)| *a != id);
        }
    }
}

/// Whether a structure's view probes or walks back through index `id`.
fn refers_to(spec: &StructureSpec, id: StructureId) -> bool {
    use crate::structure::IndexRef;
    spec.view().is_some_and(|v| {
        v.steps.iter().any(|s| {
            s.lookup_index == Some(IndexRef::Derived(id)) || s.back.is_some_and(|b| b.index == IndexRef::Derived(id))
        })
    })
}

impl<'a> StructureRegistry<'a> {
    /// A registry that sees what `other` has added but whose own additions
    /// are thrown away (for trying alternatives).
    pub(crate) fn new_scratch(other: &StructureRegistry<'a>) -> StructureRegistry<'a> {
        StructureRegistry {
            catalog: other.catalog,
            next_id: other.next_id,
            added: other.added.clone(),
            used: other.used.clone(),
        }
    }
}
