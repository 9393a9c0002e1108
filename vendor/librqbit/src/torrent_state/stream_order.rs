//! The order a peer is offered the pieces streams want: every player's
//! stream's queue interleaved (one piece of each in turn), then the
//! background streams' (prefetches, which are not played yet) the same
//! way, so a background fetch never takes a request a player could use.
//! Pure and generic over the pieces.

use std::collections::VecDeque;

/// One item of each iterator in turn, until all are exhausted.
pub(crate) struct Interleave<I> {
    all: VecDeque<I>,
}

impl<I> Interleave<I> {
    pub(crate) fn new(all: Vec<I>) -> Self {
        Interleave { all: all.into() }
    }
}

impl<I: Iterator> Iterator for Interleave<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<Self::Item> {
        while let Some(mut it) = self.all.pop_front() {
            if let Some(item) = it.next() {
                self.all.push_back(it);
                return Some(item);
            }
        }
        None
    }
}

/// The players' queues interleaved, then the background ones:
/// `queues` are (background, queue).
pub(crate) fn players_first<I: Iterator>(queues: Vec<(bool, I)>) -> impl Iterator<Item = I::Item> {
    let (background, players): (Vec<_>, Vec<_>) = queues.into_iter().partition(|(b, _)| *b);
    let strip = |v: Vec<(bool, I)>| v.into_iter().map(|(_, q)| q).collect();
    Interleave::new(strip(players)).chain(Interleave::new(strip(background)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn players_queues_interleave_and_background_ones_come_after() {
        let order: Vec<u32> = players_first(vec![
            (true, vec![100, 101].into_iter()),
            (false, vec![1, 2, 3].into_iter()),
            (false, vec![10].into_iter()),
            (true, vec![200].into_iter()),
        ])
        .collect();
        assert_eq!(order, [1, 10, 2, 3, 100, 200, 101]);
        let none: Vec<u32> = players_first(Vec::<(bool, std::vec::IntoIter<u32>)>::new()).collect();
        assert!(none.is_empty());
    }
}
