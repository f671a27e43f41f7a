//! Writing the output ResourceList while the pipeline still works: each item the pipeline hands
//! over ([`pipeline::process`]) is turned into its YAML text on a second thread, and its tree
//! freed there. The output then never exists as trees all at once (at 10,000 workloads those
//! were 700 MB against 60 MB of text), and serializing and freeing overlap the pipeline on a
//! second core.
//!
//! Nothing reaches stdout before the whole list is ready: the texts are kept in order and
//! joined only when written, so a failure still leaves stdout empty.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use serde_json::Value;

use crate::krm::yaml::{self, YamlError};

/// Where a finished output item goes. Input items keep their place (a regenerated resource
/// replaces the earlier run's copy in place); new resources follow them, the workloads' own
/// (HPA, PDB) first, then the NetworkPolicies, each group in the order it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Item(usize),
    Generated(usize),
    Policy(usize),
}

/// Output items (or their texts) by place, read back in output order.
#[derive(Debug)]
pub struct InOrder<T> {
    items: Vec<Option<T>>,
    generated: Vec<Option<T>>,
    policies: Vec<Option<T>>,
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder {
            items: Vec::new(),
            generated: Vec::new(),
            policies: Vec::new(),
        }
    }
}

impl<T> InOrder<T> {
    /// Puts `value` at `place`, replacing what was put there before.
    pub fn put(&mut self, place: Place, value: T) {
        let (slots, i) = match place {
            Place::Item(i) => (&mut self.items, i),
            Place::Generated(i) => (&mut self.generated, i),
            Place::Policy(i) => (&mut self.policies, i),
        };
        if slots.len() <= i {
            slots.resize_with(i + 1, || None);
        }
        slots[i] = Some(value);
    }

    pub fn into_ordered(self) -> impl Iterator<Item = T> {
        [self.items, self.generated, self.policies]
            .into_iter()
            .flatten()
            .flatten()
    }
}

/// Items go to the writer thread in batches: one hand-over per item costs more in thread
/// wake-ups than serializing a small item does.
const BATCH: usize = 64;

/// Batches in flight; a small bound keeps the trees waiting there from adding up.
const IN_FLIGHT: usize = 4;

type Batch = Vec<(Place, Value)>;

/// The YAML texts of the output items, by place; `into_ordered` gives them in output order,
/// each one `- ` list entry.
pub type ItemTexts = InOrder<String>;

/// Serializes items on a thread of its own as the pipeline hands them over.
pub struct ItemWriter {
    batch: Batch,
    to_worker: SyncSender<Batch>,
    worker: JoinHandle<Result<ItemTexts, YamlError>>,
}

impl ItemWriter {
    pub fn spawn() -> ItemWriter {
        let (to_worker, from_pipeline) = sync_channel::<Batch>(IN_FLIGHT);
        // The numbers as the input spelt them were read on this thread.
        let spellings = yaml::spelling::snapshot();
        let worker = std::thread::spawn(move || {
            yaml::spelling::install(spellings);
            let mut texts = ItemTexts::default();
            for batch in from_pipeline {
                for (place, item) in batch {
                    texts.put(place, yaml::list_entry_to_string(&item)?);
                }
            }
            Ok(texts)
        });
        ItemWriter {
            batch: Vec::with_capacity(BATCH),
            to_worker,
            worker,
        }
    }

    pub fn put(&mut self, place: Place, item: Value) {
        self.batch.push((place, item));
        if self.batch.len() == BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        // A send fails only when the worker stopped on an error; `finish` reports that error.
        let _ = self.to_worker.send(batch);
    }

    /// Waits for the last item and returns the texts, or the first serialization error.
    pub fn finish(mut self) -> Result<ItemTexts, YamlError> {
        if !self.batch.is_empty() {
            self.send();
        }
        drop(self.to_worker);
        self.worker
            .join()
            .unwrap_or_else(|_| Err(YamlError::Write("the item writer thread failed".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn texts_come_back_in_output_order_whatever_order_they_were_put_in() {
        let mut w = ItemWriter::spawn();
        w.put(Place::Policy(0), json!({"name": "p0"}));
        w.put(Place::Item(1), json!({"name": "i1"}));
        w.put(Place::Generated(0), json!({"name": "g0"}));
        w.put(Place::Item(0), json!({"name": "i0"}));
        w.put(Place::Generated(0), json!({"name": "g0-again"}));
        let text: String = w.finish().unwrap().into_ordered().collect();
        assert_eq!(
            text,
            "- name: i0\n- name: i1\n- name: g0-again\n- name: p0\n"
        );
    }
}
