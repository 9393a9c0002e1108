//! The subtitle service's bookkeeping, as a state machine without locks or
//! I/O: which lookups run (`want` starts one, `ended` frees its place),
//! which videos are done (`finished`), what a removed torrent leaves behind
//! (`forget`), each torrent's subtitle files read once, and how each
//! provider last answered and until when it rests (`note`, `resting`).
//! Time is given, never read, so every rule is a unit test. `Subtitles`
//! keeps one behind a single lock and does what the answers say.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::provider::ProviderError;
use crate::torrent::InfoHash;

/// A video: its torrent and file index.
pub type Video = (InfoHash, usize);

/// A provider as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProviderState {
    pub name: &'static str,
    /// `unused` (not asked yet), `ok`, `unauthorized`, `quota`,
    /// `rate-limited` or `error`.
    pub state: &'static str,
    /// What went wrong, in words.
    pub detail: Option<String>,
    /// Seconds since the Unix epoch of the last answer.
    pub at: Option<i64>,
    #[serde(skip)]
    rest_until: Option<Instant>,
}

/// A torrent's subtitle files (index, path, length) and how many videos
/// it holds (samples not counted).
#[derive(Debug, PartialEq, Eq)]
pub struct TorrentSubs {
    pub files: Vec<(usize, String, u64)>,
    pub videos: usize,
}

/// A lookup the ledger let start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookup {
    pub video: Video,
    /// Beyond the torrent's own files, the providers are asked.
    pub ask_providers: bool,
    /// How often its torrent had been removed when it started.
    generation: u64,
}

impl Lookup {
    fn busy_key(&self) -> (InfoHash, usize, bool) {
        (self.video.0, self.video.1, self.ask_providers)
    }
}

/// The bookkeeping (see the module doc).
#[derive(Debug, Default)]
pub struct Ledger {
    providers: BTreeMap<&'static str, ProviderState>,
    /// Lookups running now: (video, with the providers).
    busy: HashSet<(InfoHash, usize, bool)>,
    /// Videos whose lookup is complete, the providers included (this run).
    done: HashSet<Video>,
    /// Videos whose own torrent's subtitles are all read or refused.
    done_in_torrent: HashSet<Video>,
    /// How often each torrent was removed (this run): a lookup that began
    /// before a removal records nothing as done.
    generations: HashMap<InfoHash, u64>,
    /// Each torrent's subtitle files, read once.
    subs: HashMap<InfoHash, Arc<TorrentSubs>>,
}

impl Ledger {
    /// A ledger for these providers, none asked yet.
    pub fn new(providers: &[&'static str]) -> Ledger {
        let providers = providers
            .iter()
            .map(|&name| {
                let state = ProviderState {
                    name,
                    state: "unused",
                    detail: None,
                    at: None,
                    rest_until: None,
                };
                (name, state)
            })
            .collect();
        Ledger {
            providers,
            ..Ledger::default()
        }
    }

    /// Every provider and what it last did.
    pub fn provider_states(&self) -> Vec<ProviderState> {
        self.providers.values().cloned().collect()
    }

    /// `video` is wanted, with the providers (when there are any) or from
    /// its torrent's own files only: the lookup to start, or `None` when
    /// the same lookup runs or is done.
    pub fn want(&mut self, video: Video, ask_providers: bool) -> Option<Lookup> {
        let ask_providers = ask_providers && !self.providers.is_empty();
        let done = if ask_providers {
            &self.done
        } else {
            &self.done_in_torrent
        };
        if done.contains(&video) {
            return None;
        }
        let lookup = Lookup {
            video,
            ask_providers,
            generation: self.generation(video.0),
        };
        self.busy.insert(lookup.busy_key()).then_some(lookup)
    }

    /// A lookup ended, however it did (a panic or a shutdown included).
    pub fn ended(&mut self, lookup: &Lookup) {
        self.busy.remove(&lookup.busy_key());
    }

    /// What a lookup did: every file of the torrent read or refused
    /// (`in_torrent_complete`), and nothing left unread at all
    /// (`complete`). Nothing is recorded when its torrent was removed
    /// meanwhile.
    pub fn finished(&mut self, lookup: &Lookup, in_torrent_complete: bool, complete: bool) {
        if self.generation(lookup.video.0) != lookup.generation {
            return;
        }
        if in_torrent_complete {
            self.done_in_torrent.insert(lookup.video);
        }
        if complete && (lookup.ask_providers || self.providers.is_empty()) {
            self.done.insert(lookup.video);
        }
    }

    /// A torrent was removed: what was known of its lookups goes, so the
    /// same torrent added again is looked up again.
    pub fn forget(&mut self, info_hash: InfoHash) {
        *self.generations.entry(info_hash).or_default() += 1;
        self.done.retain(|(ih, _)| *ih != info_hash);
        self.done_in_torrent.retain(|(ih, _)| *ih != info_hash);
        self.subs.remove(&info_hash);
    }

    fn generation(&self, info_hash: InfoHash) -> u64 {
        self.generations.get(&info_hash).copied().unwrap_or(0)
    }

    /// A torrent's subtitle files, when read before.
    pub fn subtitle_files(&self, info_hash: &InfoHash) -> Option<Arc<TorrentSubs>> {
        self.subs.get(info_hash).cloned()
    }

    /// Keep a torrent's subtitle files, read from the catalog.
    pub fn keep_subtitle_files(&mut self, info_hash: InfoHash, subs: Arc<TorrentSubs>) {
        self.subs.insert(info_hash, subs);
    }

    /// Is this provider resting after an error, at `now`?
    pub fn resting(&self, name: &str, now: Instant) -> bool {
        self.providers
            .get(name)
            .and_then(|s| s.rest_until)
            .is_some_and(|until| now < until)
    }

    /// Record what a provider answered at `now` (`at`: the same in seconds
    /// since the epoch). An error makes it rest a while: as long as a rate
    /// limit says, an hour for a refused key or a spent quota, else five
    /// minutes. `true` when the error is news (not the one it last had),
    /// for the caller to log.
    pub fn note(
        &mut self,
        name: &str,
        outcome: Result<(), &ProviderError>,
        now: Instant,
        at: i64,
    ) -> bool {
        let Some(s) = self.providers.get_mut(name) else {
            return false;
        };
        s.at = Some(at);
        let Err(e) = outcome else {
            s.state = "ok";
            s.detail = None;
            s.rest_until = None;
            return false;
        };
        let (state, rest) = match e {
            ProviderError::Unauthorized(_) => ("unauthorized", Duration::from_secs(3600)),
            ProviderError::Quota { .. } => ("quota", Duration::from_secs(3600)),
            ProviderError::RateLimited { retry_after } => ("rate-limited", *retry_after),
            _ => ("error", Duration::from_secs(300)),
        };
        let detail = e.to_string();
        let news = s.state != state || s.detail.as_deref() != Some(&detail);
        s.state = state;
        s.detail = Some(detail);
        s.rest_until = Some(now + rest);
        news
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: Video = (InfoHash([1; 20]), 3);

    #[test]
    fn one_lookup_of_a_video_runs_at_a_time_and_its_place_is_freed_however_it_ends() {
        let mut l = Ledger::new(&["p"]);
        let a = l.want(V, true).expect("starts");
        assert_eq!(l.want(V, true), None, "runs already");
        let b = l
            .want(V, false)
            .expect("its own files only is another lookup");
        l.ended(&a);
        l.ended(&b);
        assert!(l.want(V, true).is_some(), "ended without finishing: again");
    }

    #[test]
    fn a_complete_lookup_is_not_run_again_and_an_incomplete_one_is() {
        let mut l = Ledger::new(&["p"]);
        let a = l.want(V, true).unwrap();
        l.finished(&a, true, false);
        l.ended(&a);
        assert_eq!(l.want(V, false), None, "the torrent's files are done");
        let b = l.want(V, true).expect("a provider was not asked: again");
        l.finished(&b, true, true);
        l.ended(&b);
        assert_eq!(l.want(V, true), None);
        assert_eq!(l.want(V, false), None);
    }

    #[test]
    fn without_providers_a_complete_lookup_of_the_files_is_the_whole_lookup() {
        let mut l = Ledger::new(&[]);
        let a = l.want(V, true).unwrap();
        assert!(!a.ask_providers, "no provider to ask");
        l.finished(&a, true, true);
        l.ended(&a);
        assert_eq!(l.want(V, true), None);
    }

    #[test]
    fn a_removed_torrent_is_looked_up_again_and_an_older_lookup_records_nothing() {
        let mut l = Ledger::new(&["p"]);
        let done = l.want(V, true).unwrap();
        l.finished(&done, true, true);
        l.ended(&done);
        l.keep_subtitle_files(
            V.0,
            Arc::new(TorrentSubs {
                files: Vec::new(),
                videos: 1,
            }),
        );
        let before = l.want((V.0, 4), true).unwrap();
        l.forget(V.0);
        assert_eq!(l.subtitle_files(&V.0), None);
        l.finished(&before, true, true);
        l.ended(&before);
        assert!(l.want((V.0, 4), true).is_some(), "began before the removal");
        assert!(l.want(V, true).is_some(), "added again: looked up again");
    }

    #[test]
    fn a_provider_rests_after_an_error_as_long_as_it_says_and_not_after_an_answer() {
        let mut l = Ledger::new(&["p"]);
        let t0 = Instant::now();
        assert_eq!(l.provider_states()[0].state, "unused");
        let limited = ProviderError::RateLimited {
            retry_after: Duration::from_secs(10),
        };
        assert!(l.note("p", Err(&limited), t0, 100), "news: logged");
        assert!(!l.note("p", Err(&limited), t0, 101), "the same again: not");
        assert!(l.resting("p", t0 + Duration::from_secs(9)));
        assert!(!l.resting("p", t0 + Duration::from_secs(10)));
        let s = &l.provider_states()[0];
        assert_eq!((s.state, s.at), ("rate-limited", Some(101)));
        let refused = ProviderError::Unauthorized("bad key".into());
        assert!(l.note("p", Err(&refused), t0, 102));
        assert!(l.resting("p", t0 + Duration::from_secs(3599)));
        l.note("p", Ok(()), t0, 103);
        assert!(!l.resting("p", t0));
        let s = &l.provider_states()[0];
        assert_eq!((s.state, s.detail.as_deref()), ("ok", None));
        assert!(!l.note("nobody", Err(&refused), t0, 104));
        assert!(!l.resting("nobody", t0));
    }
}
